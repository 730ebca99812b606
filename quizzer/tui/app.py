"""The study app: opens the session, warms the worker in the background, moves between screens."""

from __future__ import annotations

import os
import sys

from textual import work
from textual.app import App
from textual.binding import Binding

from ..in_flight import InFlight
from ..runner import Runner, WorkerFailed
from ..session import StudySession
from ..store import Store
from .screens.study import StudyScreen
from .screens.summary import NothingDueScreen, SummaryScreen
from .widgets.badge import DeviceBadge


def guess_device(choice: str) -> str:
    """The device the worker will most likely pick, for the badge until it says (no torch here)."""
    if choice != "auto":
        return choice
    if os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl"):
        return "cuda"
    return "mps" if sys.platform == "darwin" else "cpu"


class QuizzerApp(App[None]):
    CSS_PATH = "quizzer.tcss"
    TITLE = "quizzer"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, store: Store, session: StudySession, runner: Runner | None = None, *,
                 device: str | None = None, own_runner: bool = True, start: str = "study") -> None:
        super().__init__()
        self.start = start
        self.store = store
        self.session = session
        self.runner = runner or Runner(device)
        self.own_runner = own_runner and runner is None
        self.device_choice = guess_device(self.runner.device_choice)
        self.badge = (f"warming up {self.device_choice}", "warming")

    def on_mount(self) -> None:
        if self.start == "stats":
            self.action_stats()
            return
        self.open_session()
        # Start torch in the worker once the first card is painted: on a 2-core machine the
        # import would otherwise compete with the first frame for the CPU.
        self.call_after_refresh(self.warm_up)

    def open_session(self) -> None:
        if self.session.current is None:
            today = self.session.today
            new_left = self.session.new_available()
            self.push_screen(NothingDueScreen(self.store.next_due_date(self.session.deck_ids), today, new_left,
                                              batch=self.session.new_batch), self._nothing_due_choice)
        else:
            self.push_screen(StudyScreen(self.session))

    def _nothing_due_choice(self, choice: str | None) -> None:
        if choice == "new":
            self.session.load(extra_new=self.session.new_batch)
        elif choice == "ahead":
            self.session.load(ahead_days=7)
        if self.session.current is None:
            self.notify("Still nothing to study: no cards left for that.", severity="warning")
        self.open_session()

    @property
    def running_device(self) -> str:
        """Where snippets run: what the worker said once it is up, the best guess before."""
        return self.runner.info.device if self.runner.ready.is_set() and self.runner.info.device else self.device_choice

    def on_study_screen_finished(self, _: StudyScreen.Finished) -> None:
        self.switch_screen(SummaryScreen(self.session.summary(), self.session.today))

    def on_study_screen_open_stats(self, _: StudyScreen.OpenStats) -> None:
        self.action_stats()

    @work(thread=True, exclusive=True, group="warm-up")
    def warm_up(self) -> None:
        """Start torch in the worker while the first card is already on screen."""
        try:
            info = self.runner.wait_ready()
        except WorkerFailed as exc:
            self.call_from_thread(self._badge, f"no {self.device_choice} worker", "failed")
            self.call_from_thread(self.notify, f"{exc}. Cards cannot be checked; try --device cpu.",
                                  title="Snippets cannot run", severity="error", timeout=15)
            return
        off = getattr(self.runner, "sandbox_off", "")  # said once, on the badge: "cpu · sandbox off: <reason>"
        self.call_from_thread(self._badge, f"{info.device_label} · {off}" if off else info.device_label, "ready")

    def _badge(self, label: str, state: str) -> None:
        self.badge = (label, state)
        for screen in self.screen_stack:
            for badge in screen.query(DeviceBadge):
                badge.label, badge.state = label, state

    def action_stats(self) -> None:
        from .screens.stats import StatsScreen

        self.push_screen(StatsScreen(self.store), self._after_stats)

    def _after_stats(self, tags: list[str] | None) -> None:
        """Back from the stats screen; with tags, study just those topics."""
        if not tags:
            if self.start == "stats":
                self.exit()
            return
        self.session.load_tags(tags)
        held = self.session.new_held_back
        self.notify(f"Studying {', '.join(tags)}" + (f" ({held} more new cards past today's limit)" if held else ""),
                    timeout=3)
        if self.session.current is None:  # nothing due or failed in these topics: offer new cards explicitly
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self.open_session()
            return
        if isinstance(self.screen, StudyScreen):
            self.screen.show_card()
        elif len(self.screen_stack) > 1:
            self.switch_screen(StudyScreen(self.session))
        else:
            self.push_screen(StudyScreen(self.session))

    def on_unmount(self) -> None:
        if self.own_runner:
            self.runner.close()
        InFlight.for_db(self.store.path).clear()  # a clean exit: whatever was running did not kill us
