"""The study screen: one card at a time, question -> answer -> verdict -> grade.

The screen submits the current and the next card to the worker as soon as a card is shown, so by
the time the learner presses Enter the outcome is usually waiting and grading is immediate.
"""

from __future__ import annotations

import asyncio
import sys
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..grading import HINTS, Verdict, grade
from ..protocol import Outcome
from ..scheduler import GRADE_NAMES, allowed_grades, suggested_grade
from ..session import QueueItem, StudySession
from ..store import StoreError
from .badge import DeviceBadge

PLACEHOLDERS = {
    "shape": "shape, e.g. (5, 3, 4, 1) — or 'error'",
    "value": "value, e.g. 9, [[1, 2], [3, 4]], True — or 'error'",
    "dtype": "dtype, e.g. float32, int64 — or 'error'",
    "raises": "'no', 'error', or the exception, e.g. RuntimeError",
}


class AnswerInput(Input):
    """The answer box. '?' opens help even while typing: no answer syntax uses it."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character != "?" and super().check_consume_key(key, character)


class StudyScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "accept", "Grade", show=True),
        *(Binding(str(g), f"grade({g})", GRADE_NAMES[g], show=False) for g in range(6)),
        Binding("y", "say('yes')", "Yes"),
        Binding("n", "say('no')", "No"),
        Binding("e", "say('error')", "Raises"),
        Binding("space", "reveal", "Show answer"),
        Binding("ctrl+z", "undo", "Undo", priority=True),
        Binding("u", "undo", "Undo", show=False),
        Binding("ctrl+k", "skip", "Skip", priority=True),
        Binding("ctrl+s", "suspend", "Suspend", priority=True),
        Binding("ctrl+t", "stats", "Stats", priority=True),
        Binding("question_mark,f1", "help", "Help", priority=True),
    ]

    def __init__(self, session: StudySession) -> None:
        super().__init__()
        self.session = session
        self.phase = "question"  # question | running | revealed | verdict | unrun
        self.item: QueueItem | None = None
        self.shown_at = time.monotonic()
        self.seconds = 0.0
        self.answer_text = ""
        self.verdict: Verdict | None = None
        self.outcome: Outcome | None = None
        self.default = 0  # the grade Enter gives on the verdict

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(id="deck-title")
            yield Static(id="progress")
            yield DeviceBadge(id="badge")
        with VerticalScroll(id="body"):
            yield Static(id="question")
            yield Static(id="code")
            yield Static(id="prompt")
            yield Static(id="hint")
            yield Static(id="verdict")
            yield Static(id="explain")
        yield Static(id="grades")
        yield Footer()

    def on_mount(self) -> None:
        self.show_card()

    # -- state --------------------------------------------------------------------------------
    @property
    def card(self):
        return self.item.state.card if self.item else None

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        kind = self.card.kind if self.card else None
        if action == "say":
            return self.phase == "question" and kind == "bool"
        if action == "reveal":
            return self.phase == "question" and kind == "recall"
        if action == "grade":
            return self.phase in ("verdict", "revealed") and parameters[0] in self.allowed()
        if action == "accept":
            return self.phase in ("verdict", "revealed", "unrun")
        if action == "undo":
            return bool(self.session.done) and self.phase != "running"
        if action in ("skip", "suspend"):
            return self.item is not None and self.phase != "running"
        return True

    def allowed(self) -> tuple[int, ...]:
        if self.phase == "revealed":
            return tuple(range(6))  # recall: the learner is the judge
        if self.phase == "verdict" and self.verdict is not None:
            return allowed_grades(self.verdict.correct)
        return ()

    # -- showing a card -----------------------------------------------------------------------
    def show_card(self) -> None:
        self.item = self.session.current
        if self.item is None:
            self.app.session_finished()
            return
        card = self.card
        self.verdict = self.outcome = None
        self.answer_text = ""
        self.call_after_refresh(self._precompute)

        counts = self.session.counts()
        self.query_one("#deck-title", Static).update(Text(self.item.state.deck_title, style="bold"))
        progress = Text.assemble(
            (f"{self.session.position}/{self.session.total}  ", "dim"),
            (f"new {counts['new']}", "cyan"), "  ",
            (f"again {counts['again']}", "red"), "  ", (f"review {counts['review']}", "green"))
        self.query_one("#progress", Static).update(progress)
        source = {"new": "new card", "again": "again", "review": "review"}[self.item.source]
        self.query_one("#question", Static).update(Text.assemble((f"{card.kind} · {source}\n", "dim"), card.question))
        code = self.query_one("#code", Static)
        code.display = bool(card.code.strip())
        if code.display:
            if "rich.syntax" in sys.modules:
                self._highlight(card)
            else:  # first card: paint plain code now, highlight right after (pygments costs ~100 ms)
                code.update(Text(card.code.rstrip("\n")))
                self.call_after_refresh(self._highlight, card)
        self._show_answer_control()
        for widget_id in ("#hint", "#verdict", "#explain"):
            self.query_one(widget_id, Static).update("")
            self.query_one(widget_id).display = False
        self.query_one("#grades", Static).display = False
        self.query_one("#body", VerticalScroll).scroll_home(animate=False)
        self.shown_at = time.monotonic()
        self.set_phase("question")

    def _precompute(self) -> None:
        """Run this card and the next while the learner reads, so Enter finds the outcome waiting."""
        for item in (self.session.current, self.session.upcoming):
            if item is not None and item.state.card.executable:
                self.app.runner.submit(item.state.card)

    def _highlight(self, card) -> None:
        from rich.syntax import Syntax

        if card is not self.card:
            return
        dark = getattr(self.app.current_theme, "dark", True)
        self.query_one("#code", Static).update(
            Syntax(card.code.rstrip("\n"), "python", line_numbers=True, word_wrap=True,
                   theme="monokai" if dark else "default", background_color="default"))

    def _control(self, kind: str) -> Input | OptionList | None:
        """The answer widget for `kind`, mounted the first time it is needed (a faster first paint)."""
        widget_id = "answer" if kind in PLACEHOLDERS else "choices" if kind == "choice" else None
        for widget in self.query("#answer, #choices"):
            widget.display = widget.id == widget_id
        if widget_id is None:
            return None
        found = self.query(f"#{widget_id}")
        if found:
            return found.first()
        widget = AnswerInput(id="answer") if widget_id == "answer" else OptionList(id="choices")
        self.query_one("#body").mount(widget, before=self.query_one("#prompt"))
        return widget

    def _show_answer_control(self) -> None:
        card = self.card
        control = self._control(card.kind)
        prompt = self.query_one("#prompt", Static)
        prompt.display = card.kind in ("bool", "recall")
        if isinstance(control, Input):
            control.value = ""
            control.placeholder = PLACEHOLDERS[card.kind]
            self.call_after_refresh(control.focus)
        elif isinstance(control, OptionList):
            control.clear_options()
            control.add_options([Option(f"{chr(97 + i)}) {c}", id=str(i)) for i, c in enumerate(card.choices)])
            control.highlighted = 0
            self.call_after_refresh(control.focus)
        elif card.kind == "bool":
            prompt.update(Text.from_markup("[b]y[/b] yes   ·   [b]n[/b] no   ·   [b]e[/b] it raises"))
            self.set_focus(None)
        else:
            prompt.update(Text.from_markup("Think of your answer, then press [b]space[/b] to see it."))
            self.set_focus(None)

    # -- answering ----------------------------------------------------------------------------
    @on(Input.Submitted, "#answer")
    def on_answer(self, event: Input.Submitted) -> None:
        if self.phase == "question":
            self.submit(event.value)

    @on(OptionList.OptionSelected, "#choices")
    def on_choice(self, event: OptionList.OptionSelected) -> None:
        if self.phase == "question":
            self.submit(str(int(event.option.id) + 1))

    def action_say(self, word: str) -> None:
        self.submit(word)

    def submit(self, text: str) -> None:
        if not text.strip():
            self.show_hint(HINTS.get(self.card.kind, "type an answer"))
            return
        self.answer_text = text.strip()
        self.seconds = time.monotonic() - self.shown_at
        self.set_phase("running")
        self.grade_answer()

    @work(exclusive=True, group="grading")
    async def grade_answer(self) -> None:
        card, runner = self.card, self.app.runner
        future = runner.submit(card)
        if not future.done():
            self.show_hint("running the snippet…" if runner.ready.is_set() else f"warming up {self.app.device_choice}…")
            outcome = await asyncio.to_thread(runner.run, card)
        else:
            outcome = future.result()
        if card is not self.card:
            return
        self.outcome = outcome
        verdict = grade(card, self.answer_text, outcome)
        if verdict.status == "unparsed":
            self.set_phase("question")
            self.show_hint(verdict.hint)
            self.query_one("#answer", Input).focus()
            return
        self.verdict = verdict
        self.show_verdict()

    def show_hint(self, message: str) -> None:
        hint = self.query_one("#hint", Static)
        hint.update(Text(message, style="italic"))
        hint.display = True

    def action_reveal(self) -> None:
        card = self.card
        self.seconds = time.monotonic() - self.shown_at
        self.query_one("#prompt", Static).display = False
        verdict = self.query_one("#verdict", Static)
        verdict.update(Text.assemble(("Answer\n", "bold"), card.answer or ""))
        verdict.set_classes("-recall")
        verdict.display = True
        self._show_explain()
        self.set_phase("revealed")
        self._show_grades(tuple(range(6)), default=suggested_grade(True, self.seconds))

    def show_verdict(self) -> None:
        verdict, outcome = self.verdict, self.outcome
        self.query_one("#hint").display = False
        for widget in self.query("#answer, #choices, #prompt"):
            widget.display = False
        panel = self.query_one("#verdict", Static)
        if not verdict.graded:
            panel.set_classes("-unrun")
            panel.update(Text.assemble(("Could not grade this card\n", "bold"), verdict.truth, "\n",
                                       ("Enter or ctrl+k skips it · ctrl+s suspends it", "dim")))
            panel.display = True
            self.set_phase("unrun")
            return
        mark = ("✓ Right", "bold green") if verdict.correct else ("✗ Wrong", "bold red")
        body = [mark, "\n", ("you said  ", "dim"), verdict.said, "\n", ("the run   ", "dim"), verdict.truth.removeprefix("it ")]
        if outcome.stdout.strip():
            body += ["\n", ("printed   ", "dim"), outcome.stdout.strip()[:300]]
        if outcome.warnings:
            body += ["\n", ("warned    ", "dim"), outcome.warnings[0]]
        body += ["\n", (f"ran on {outcome.device} in {outcome.seconds * 1000:.1f} ms", "dim")]
        panel.set_classes("-right" if verdict.correct else "-wrong")
        panel.update(Text.assemble(*body))
        panel.display = True
        self._show_explain()
        self.call_after_refresh(self.query_one("#body", VerticalScroll).scroll_to_widget, panel, top=True, animate=False)
        self.set_phase("verdict")
        self._show_grades(allowed_grades(verdict.correct), default=suggested_grade(verdict.correct, self.seconds))

    def _show_explain(self) -> None:
        card = self.card
        if card.explain or card.source:
            explain = self.query_one("#explain", Static)
            explain.update(Text.assemble(card.explain.strip(), ("\n" + f"source: {card.source}" if card.source else "", "dim italic")))
            explain.display = True

    def _show_grades(self, grades: tuple[int, ...], default: int) -> None:
        self.default = default
        parts: list = []
        for g in grades:
            style = "bold reverse" if g == default else "bold"
            parts += [(f" {g} ", style), f" {GRADE_NAMES[g]} · {self.session.interval_preview(g)}   "]
        parts.append(("Enter = " + str(default), "dim"))
        bar = self.query_one("#grades", Static)
        bar.update(Text.assemble(*parts))
        bar.display = True

    # -- grading ------------------------------------------------------------------------------
    def action_accept(self) -> None:
        if self.phase == "unrun":
            self.action_skip()
        elif self.phase in ("verdict", "revealed"):
            self.action_grade(self.default)

    def action_grade(self, grade_value: int) -> None:
        if grade_value not in self.allowed():
            return
        correct = self.verdict.correct if self.phase == "verdict" else grade_value >= 3
        info = self.app.runner.info
        self.session.answer(grade=grade_value, correct=correct, answer=self.answer_text, seconds=round(self.seconds, 3),
                            device=info.device or None, torch_version=info.torch_version or None)
        self.show_card()

    def action_undo(self) -> None:
        try:
            restored = self.session.undo()
        except StoreError as exc:  # another session graded since: undoing would take back its grade
            self.notify(str(exc), severity="warning", timeout=6)
            return
        if restored is not None:
            self.notify("Last grade undone", timeout=2)
            self.show_card()

    def action_skip(self) -> None:
        self.session.skip()
        self.show_card()

    def action_suspend(self) -> None:
        card = self.card
        self.session.suspend()
        self.notify(f"Suspended {card.deck_id}/{card.id}", timeout=3)
        self.show_card()

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_stats(self) -> None:
        self.app.action_stats()
