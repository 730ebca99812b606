"""The study screen: one card at a time, question -> answer -> verdict -> grade.

The screen submits the current and the next card to the worker as soon as a card is shown, so by
the time the learner presses Enter the outcome is usually waiting and grading is immediate. What
the screen may do next is decided by its `Phase` alone (see `check_action`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen

from ...deck import Card
from ...in_flight import Flights, InFlight
from ...kinds import Control, spec
from ...pending import Grade as PendingGrade
from ...pending import WriteOutcome, write_grade
from ...scheduler import Grade
from ...session import GradeOption, QueueItem, StudySession
from ...store import Review, Store, StoreError
from ..widgets.answer_box import AnswerBox
from ..widgets.card_view import CardView
from ..widgets.grade_bar import GradeBar, GradeChoice
from ..widgets.top_bar import TopBar
from ..widgets.verdict_panel import VerdictPanel

if TYPE_CHECKING:
    from ...grading import Verdict
    from ...protocol import Outcome
    from ..app import QuizzerApp

SLOW_WRITE_S = 0.3  # a write slower than this is waiting for another writer: say so
BUSY_BUDGET_S = 10.0  # how long a busy database is retried before the grade is saved aside
SOURCES = {"new": "new card", "again": "again", "review": "review"}


class Phase(Enum):
    QUESTION = "question"  # the card is shown; the learner is answering
    RUNNING = "running"  # answered; waiting for the run's outcome
    VERDICT = "verdict"  # the run decided; the learner grades how hard it was
    REVEALED = "revealed"  # a recall card's back is shown; the learner judges themself
    UNRUN = "unrun"  # the run failed or the card is broken: skip or suspend
    SAVING = "saving"  # the grade is being written


class StudyScreen(Screen[None]):
    # No automatic focus: it would focus the answer box as the screen is composed, before the card
    # says whether it wants the box or the keys (a restyle of the screen for nothing); show_card does.
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("enter", "accept", "Grade", show=True),
        *(Binding(str(int(g)), f"grade({int(g)})", g.label, show=False) for g in Grade),
        Binding("y", "say('yes')", "Yes"),
        Binding("n", "say('no')", "No"),
        Binding("e", "say('error')", "Raises"),
        Binding("e", "try_it", "Try it"),
        Binding("space", "reveal", "Show answer"),
        Binding("pageup", "scroll(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll(1)", "Scroll down", show=False),
        Binding("ctrl+z", "undo", "Undo", priority=True),
        Binding("u", "undo", "Undo", show=False),
        Binding("ctrl+k", "skip", "Skip", priority=True),
        Binding("ctrl+s", "suspend", "Suspend", priority=True),
        Binding("ctrl+t", "stats", "Stats", priority=True),
        Binding("question_mark,f1", "help", "Help", priority=True),
    ]

    class Finished(Message):
        """The queue is empty: the app shows the session's summary."""

    class OpenStats(Message):
        """The learner asked for the stats screen."""

    def __init__(self, session: StudySession) -> None:
        super().__init__()
        self.session = session
        self.flights = Flights(InFlight.for_db(session.store.path))  # a card that kills the app is not rerun
        self.phase = Phase.QUESTION
        self.item: QueueItem | None = None
        self.shown_at = time.monotonic()
        self.options: tuple[GradeOption, ...] = ()  # the grades open now, each with what it would do
        self.verdict_correct: bool | None = None  # what the run decided; None: the learner judges (recall)
        self.answer_text = ""  # what the learner typed, stored with the review
        self.seconds = 0.0  # how long the learner took to answer

    @property
    def quizzer(self) -> QuizzerApp:
        return cast("QuizzerApp", self.app)

    @property
    def card(self) -> Card | None:
        return self.item.state.card if self.item else None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TopBar()
        with VerticalScroll(id="body"):
            yield CardView(id="card")
            current = self.session.current
            yield AnswerBox(spec(current.state.card.kind).control if current else None, id="answer-box")

    def on_mount(self) -> None:
        self.query_one(TopBar).badge = self.quizzer.badge
        self.show_card()
        # The footer costs about a quarter of the launch (it recomposes as it measures itself):
        # the card comes first, the key list right after.
        self.quizzer.after_first_paint(self._mount_footer)

    async def _mount_footer(self) -> None:
        from textual.widgets import Footer

        await self.mount(Footer())
        self.refresh_bindings()  # a footer lists the keys when the bindings are next published

    # -- state --------------------------------------------------------------------------------
    def set_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        control = spec(self.card.kind).control if self.card else None
        if action == "say":
            return self.phase is Phase.QUESTION and control is Control.KEYS
        if action == "try_it":
            return self.phase in (Phase.VERDICT, Phase.UNRUN) and control is not Control.REVEAL
        if action == "reveal":
            return self.phase is Phase.QUESTION and control is Control.REVEAL
        if action == "grade":
            return self.phase in (Phase.VERDICT, Phase.REVEALED) and parameters[0] in self.allowed
        if action == "accept":
            return self.phase in (Phase.VERDICT, Phase.REVEALED, Phase.UNRUN)
        if action == "undo":
            return bool(self.session.undoable) and self.phase not in (Phase.RUNNING, Phase.SAVING)
        if action in ("skip", "suspend"):
            return self.item is not None and self.phase is not Phase.SAVING
        return True

    @property
    def allowed(self) -> tuple[int, ...]:
        if self.phase in (Phase.VERDICT, Phase.REVEALED):
            return tuple(int(o.grade) for o in self.options)
        return ()

    # -- showing a card -----------------------------------------------------------------------
    def show_card(self) -> None:
        self.item = self.session.current
        if self.item is None:
            self.post_message(self.Finished())
            return
        card = self.item.state.card
        self.quizzer.after_first_paint(self._precompute)
        counts = self.session.counts()
        bar = self.query_one(TopBar)
        bar.deck = self.item.state.deck_title
        bar.progress = Text.assemble(
            (f"{self.session.position}/{self.session.total}  ", "dim"),
            (f"new {counts['new']}", "cyan"), "  ",
            (f"again {counts['again']}", "red"), "  ", (f"review {counts['review']}", "green"))
        device = self.quizzer.running_device if isinstance(card.expect, dict) and not card.device else None
        self.query_one(CardView).show(card, SOURCES[self.item.source], device)
        self.query_one(AnswerBox).show(card)
        for panel in self.query(VerdictPanel):
            panel.clear()
        for grades in self.query(GradeBar):
            grades.display = False
        body = self.query_one("#body", VerticalScroll)
        body.scroll_home(animate=False)
        if spec(card.kind).control in (Control.KEYS, Control.REVEAL):
            body.focus()
        self.shown_at = time.monotonic()
        self.set_phase(Phase.QUESTION)

    def _precompute(self) -> None:
        """Run this card and the next while the learner reads, so Enter finds the outcome waiting."""
        for item in (self.session.current, self.session.upcoming):
            if item is not None and item.state.card.executable:
                self.flights.track(item.key, self.quizzer.runner.submit(item.state.card, trace=True))

    # -- answering ----------------------------------------------------------------------------
    @on(AnswerBox.Submitted)
    def on_answer(self, event: AnswerBox.Submitted) -> None:
        if self.phase is Phase.QUESTION:
            self.submit(event.text)

    def action_say(self, word: str) -> None:
        self.submit(word)

    def submit(self, text: str) -> None:
        card = self.card
        if card is None:
            return
        if not text.strip():
            self.query_one(AnswerBox).show_hint(spec(card.kind).hint)
            return
        self.set_phase(Phase.RUNNING)
        self.grade_answer(card, text.strip(), time.monotonic() - self.shown_at)

    @work(exclusive=True, group="grading")
    async def grade_answer(self, card: Card, text: str, seconds: float) -> None:
        runner = self.quizzer.runner
        future = runner.submit(card, trace=True)
        self.flights.track(card.key, future)
        if not future.done():
            waiting = "running the snippet…" if runner.ready.is_set() else f"warming up {self.quizzer.device_choice}…"
            self.query_one(AnswerBox).show_hint(waiting)
            outcome = await asyncio.to_thread(runner.run, card, trace=True)
        else:
            outcome = future.result()
        if card is not self.card:
            return
        from ...grading import Status, grade  # at the first verdict, not before the first card

        verdict = grade(card, text, outcome)
        if verdict.status is Status.UNPARSED:
            self.set_phase(Phase.QUESTION)
            box = self.query_one(AnswerBox)
            box.show_hint(verdict.hint)
            box.focus_box()
            return
        await self.show_verdict(card, verdict, outcome, text, seconds)

    async def verdict_panel(self) -> VerdictPanel:
        """The verdict panel, mounted the first time a verdict is shown: the first card paints sooner."""
        found = self.query(VerdictPanel)
        if found:
            return found.first()
        panel = VerdictPanel(id="verdict-panel")
        await self.query_one("#body", VerticalScroll).mount(panel)
        return panel

    async def show_verdict(self, card: Card, verdict: Verdict, outcome: Outcome, text: str, seconds: float) -> None:
        self.query_one(AnswerBox).hide()
        (await self.verdict_panel()).show_verdict(card, verdict, outcome)
        body = self.query_one("#body", VerticalScroll)
        body.focus()  # arrows, PageUp/PageDown, Home/End now scroll the verdict
        self.call_after_refresh(body.scroll_to_widget, self.query_one("#verdict-panel"), top=True, animate=False)
        if not verdict.graded:
            self.set_phase(Phase.UNRUN)
            return
        self.verdict_correct = verdict.correct
        self.answer_text, self.seconds = text, seconds
        self.set_phase(Phase.VERDICT)
        await self._show_grades()

    async def action_reveal(self) -> None:
        card = self.card
        if card is None:
            return
        self.answer_text, self.seconds = "", time.monotonic() - self.shown_at
        self.verdict_correct = None  # the learner is the judge
        self.query_one(AnswerBox).hide()
        (await self.verdict_panel()).show_recall(card)
        self.set_phase(Phase.REVEALED)
        await self._show_grades()

    async def _show_grades(self) -> None:
        """The session offers the grades the verdict allows, each with what it would schedule."""
        self.options = self.session.options(self.verdict_correct, self.seconds)
        default = next(int(o.grade) for o in self.options if o.default)
        choices = tuple(GradeChoice(int(o.grade), o.label, o.interval) for o in self.options)
        (await self.grade_bar()).show(choices, default)

    async def grade_bar(self) -> GradeBar:
        """The grade row, mounted below the body the first time grades are offered."""
        found = self.query(GradeBar)
        if found:
            return found.first()
        bar = GradeBar(id="grades")
        await self.mount(bar, after=self.query_one("#body"))
        return bar

    def action_scroll(self, pages: int) -> None:
        body = self.query_one("#body", VerticalScroll)
        (body.scroll_page_down if pages > 0 else body.scroll_page_up)(animate=False)

    # -- grading ------------------------------------------------------------------------------
    def action_accept(self) -> None:
        if self.phase is Phase.UNRUN:
            self.action_skip()
        elif self.phase in (Phase.VERDICT, Phase.REVEALED):
            self.action_grade(next(int(o.grade) for o in self.options if o.default))

    def action_grade(self, grade_value: int) -> None:
        chosen = [o for o in self.options if o.grade == grade_value]
        if not chosen or self.phase not in (Phase.VERDICT, Phase.REVEALED):
            return
        self.set_phase(Phase.SAVING)
        self.save_grade(chosen[0], self.verdict_correct, self.answer_text, round(self.seconds, 3))

    @work(thread=True, exclusive=True, group="save")
    def save_grade(self, option: GradeOption, correct: bool | None, text: str, seconds: float) -> None:
        """Write the grade off the UI thread: a busy database must never freeze the screen.

        A busy database is retried (and the screen says so); one that cannot take the grade at all
        (read-only, full, still locked) gets it saved aside, applied at the next start."""
        info = self.quizzer.runner.info
        item = self.item
        assert item is not None
        grade = PendingGrade(item.key[0], item.key[1], int(option.grade),
                             option.grade.passed if correct is None else correct, text, datetime.now(timezone.utc),
                             seconds, info.device or None, info.torch_version or None)

        def through_session(store: Store, _: PendingGrade) -> Review:
            return self.session.answer(option, correct=correct, answer=text, seconds=seconds,
                                       device=grade.device, torch_version=grade.torch_version)

        slow = threading.Timer(SLOW_WRITE_S, self.app.call_from_thread, (self._waiting,))
        slow.start()
        try:
            written = write_grade(self.session.store, grade, budget_s=BUSY_BUDGET_S, write=through_session)
        except StoreError as exc:  # graded in another window since it was shown: shown again as it is now
            self.app.call_from_thread(self._not_saved, str(exc))
            return
        finally:
            slow.cancel()
        if written.outcome is not WriteOutcome.COMMITTED:
            self.session.skip()  # kept aside, applied at the next start: not asked again now
            self.app.call_from_thread(self.notify, written.message, severity="error", timeout=15)
        self.app.call_from_thread(self.show_card)

    def _waiting(self) -> None:
        if self.phase is Phase.SAVING:
            self.query_one(AnswerBox).show_hint("waiting for the database: another quizzer is writing…")

    def _not_saved(self, why: str) -> None:
        self.notify(why, severity="warning", timeout=8)
        self.show_card()

    def action_undo(self) -> None:
        try:
            restored = self.session.undo()
        except StoreError as exc:  # another session graded since: undoing would take back its grade
            self.notify(str(exc), severity="warning", timeout=6)
            return
        if restored is not None:
            self.notify("Undone", timeout=2)
            self.show_card()

    def action_skip(self) -> None:
        if self.card is not None:
            self.quizzer.runner.cancel(self.card)  # a slow run is stopped, so the next card is not held behind it
        self.session.skip()
        self.show_card()

    def action_suspend(self) -> None:
        card = self.card
        if card is None:
            return
        self.session.suspend()
        self.notify(f"Suspended {card.deck_id}/{card.id}", timeout=3)
        self.show_card()

    def action_try_it(self) -> None:
        """Edit this card's snippet and run it again; never graded, and the verdict waits unchanged."""
        from .try_it import TryItScreen

        if self.card is not None:
            self.app.push_screen(TryItScreen(self.card, self.quizzer.runner, self.quizzer.running_device))

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_stats(self) -> None:
        self.post_message(self.OpenStats())
