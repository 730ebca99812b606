"""The study app: opens the session, warms the worker in the background, moves between screens."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from ..errors import QuizzerError
from ..in_flight import InFlight
from ..session import StudySession
from ..settings import default_device
from ..store import Store
from .screens.study import StudyScreen
from .widgets.top_bar import Readiness, TopBar

if TYPE_CHECKING:
    from ..runner import Runner


def guess_device(choice: str) -> str:
    """The device the worker will most likely pick, for the badge until it says (no torch here)."""
    if choice != "auto":
        return choice
    if os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl"):
        return "cuda"
    return "mps" if sys.platform == "darwin" else "cpu"


class Start(Enum):
    """The screen the app opens on."""

    STUDY = "study"  # the first card (or what to do when nothing is due)
    STATS = "stats"  # the dashboard; leaving it quits


SETTLE_S = 0.15  # after the first frame is written, before the next work starts (see after_first_paint)


class QuizzerApp(App[None]):
    CSS_PATH = "quizzer.tcss"
    TITLE = "quizzer"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, store: Store, session: StudySession, runner: Runner | None = None, *,
                 device: str | None = None, own_runner: bool = True, start: Start = Start.STUDY) -> None:
        super().__init__()
        self.start = start
        self.store = store
        self.session = session
        self._runner = runner
        self._runner_lock = threading.Lock()
        self._device = device or default_device()
        self.own_runner = own_runner and runner is None
        self.device_choice = guess_device(runner.device_choice if runner else self._device)
        self.badge = (f"warming up {self.device_choice}", Readiness.WARMING)
        self._painted = False
        self._after_paint: list[Callable[[], object]] = []

    def get_default_screen(self) -> Screen:
        """The first card is the app's first screen, not a screen pushed over a blank one: Textual
        lays a pushed screen out inside its start-up batch, draws it for nothing and again a tick
        later, while the default screen is laid out and drawn once, right after start-up."""
        if self.start is Start.STUDY and self.session.current is not None:
            return StudyScreen(self.session)
        return super().get_default_screen()

    def on_mount(self) -> None:
        if self.start is Start.STATS:
            self.action_stats()
            return
        if not isinstance(self.screen, StudyScreen):
            self.open_session()
        # Start torch in the worker once the first card is painted: on a 2-core machine the
        # import would otherwise compete with the first frame for the CPU.
        self.after_first_paint(self.warm_up)

    def after_first_paint(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the first frame is on the terminal (after the next refresh, once it is).

        What the first card does not need (the footer, the worker's start, the first runs) waits
        for Textual's `Ready`, sent once the first frame is written, and then a moment more
        (SETTLE_S) so the terminal can draw that frame before a torch import takes a core.
        `call_after_refresh` alone is not enough: it can fire before the first frame is written."""
        if self._painted:
            self.call_after_refresh(callback)
        else:
            self._after_paint.append(callback)

    def on_ready(self) -> None:
        self._painted = True
        if not gc.isenabled():  # `quizzer study` starts without collecting (see cli.cmd_study)
            gc.freeze()  # what start-up made stays: later collections need not scan it again
            gc.enable()
        waiting, self._after_paint = self._after_paint, []
        for callback in waiting:
            self.set_timer(SETTLE_S, callback)

    def open_session(self) -> None:
        if self.session.current is None:
            from .screens.summary import NothingDueScreen

            today = self.session.today
            new_left = self.session.new_available()
            self.push_screen(NothingDueScreen(self.store.next_due_date(self.session.deck_ids), today, new_left,
                                              batch=self.session.new_batch), self._nothing_due_choice)
        elif isinstance(self.screen, StudyScreen):  # the first screen, back on top: it shows the card
            self.screen.show_card()
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
    def runner(self) -> Runner:
        """The worker's client, made on first use: importing it (and the protocol it speaks) is
        not on the way to the first card, and its first use comes after the first paint."""
        with self._runner_lock:
            if self._runner is None:
                from ..runner import Runner

                self._runner = Runner(self._device)
            return self._runner

    @property
    def running_device(self) -> str:
        """Where snippets run: what the worker said once it is up, the best guess before."""
        runner = self._runner
        return runner.info.device if runner and runner.ready.is_set() and runner.info.device else self.device_choice

    def on_study_screen_finished(self, _: StudyScreen.Finished) -> None:
        from .screens.summary import SummaryScreen

        # pushed, not switched to: the study screen is often the first screen, which stays
        self.push_screen(SummaryScreen(self.session.summary(), self.session.today))

    def on_study_screen_open_stats(self, _: StudyScreen.OpenStats) -> None:
        self.action_stats()

    @work(thread=True, exclusive=True, group="warm-up")
    def warm_up(self) -> None:
        """Start torch in the worker while the first card is already on screen."""
        try:
            info = self.runner.wait_ready()
        except QuizzerError as exc:  # the worker could not start
            self.call_from_thread(self._badge, f"no {self.device_choice} worker", Readiness.FAILED)
            self.call_from_thread(self.notify, f"{exc}. Cards cannot be checked; try --device cpu.",
                                  title="Snippets cannot run", severity="error", timeout=15)
            return
        off = getattr(self.runner, "sandbox_off", "")  # said once, on the badge: "cpu · sandbox off: <reason>"
        label = f"{info.device_label} · {off}" if off else info.device_label
        self.call_from_thread(self._badge, label, Readiness.READY)

    def _badge(self, label: str, readiness: Readiness) -> None:
        self.badge = (label, readiness)
        for screen in self.screen_stack:
            for bar in screen.query(TopBar):
                bar.badge = self.badge

    def action_stats(self) -> None:
        from .screens.stats import StatsScreen

        self.push_screen(StatsScreen(self.store), self._after_stats)

    def _after_stats(self, tags: list[str] | None) -> None:
        """Back from the stats screen; with tags, study just those topics."""
        if not tags:
            if self.start is Start.STATS:
                self.exit()
            return
        self.session.load_tags(tags)
        held = self.session.new_held_back
        self.notify(f"Studying {', '.join(tags)}" + (f" ({held} more new cards past today's limit)" if held else ""),
                    timeout=3)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, StudyScreen):
            self.pop_screen()  # back to the study screen, or to the start when there is none
        self.open_session()  # the next card; nothing due or failed in these topics: new cards are offered

    def on_unmount(self) -> None:
        if self.own_runner and self._runner is not None:
            self._runner.close()
        InFlight.for_db(self.store.path).clear()  # a clean exit: whatever was running did not kill us
