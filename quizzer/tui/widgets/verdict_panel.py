"""The verdict: what the learner said beside what the run did, then the explanation and its source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...deck import Card

if TYPE_CHECKING:
    from ...grading import Verdict
    from ...protocol import Outcome


class VerdictPanel(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="verdict")
        yield Static(id="why")
        yield Static(id="explain")

    def clear(self) -> None:
        self.display = False
        for part in self.query(Static):
            part.update("")

    def show_verdict(self, card: Card, verdict: Verdict, outcome: Outcome) -> None:
        if not verdict.graded:
            self._show(Text.assemble(("Could not grade this card\n", "bold"), verdict.truth, "\n",
                                     ("Enter or ctrl+k skips it · ctrl+s suspends it", "dim")), "-unrun")
            return
        mark = ("✓ Right", "bold green") if verdict.correct else ("✗ Wrong", "bold red")
        body = Text.assemble(mark, "\n", ("you said  ", "dim"), verdict.said, "\n",
                             ("the run   ", "dim"), verdict.truth.removeprefix("it "))
        if outcome.stdout.strip():
            body.append_text(Text.assemble("\n", ("printed   ", "dim"), outcome.stdout.strip()[:300]))
        if outcome.warnings:
            body.append_text(Text.assemble("\n", ("warned    ", "dim"), outcome.warnings[0]))
        body.append_text(Text(f"\nran on {outcome.device} in {outcome.seconds * 1000:.1f} ms", style="dim"))
        self._show(body, "-right" if verdict.correct else "-wrong")
        from ...why import build, render  # Rich tables: imported at the first verdict, not at launch

        why = build(outcome.trace)  # computed by the worker from the real tensors; drawn here
        panel = self.query_one("#why", Static)
        panel.display = why is not None
        if why is not None:
            panel.update(render(why))
        self._explain(card)

    def show_recall(self, card: Card) -> None:
        self._show(Text.assemble(("Answer\n", "bold"), card.answer or ""), "-recall")
        self._explain(card)

    def _show(self, text: Text, style_class: str) -> None:
        verdict = self.query_one("#verdict", Static)
        verdict.update(text)
        verdict.set_classes(style_class)
        self.query_one("#explain", Static).display = False
        self.query_one("#why", Static).display = False
        self.display = True

    def _explain(self, card: Card) -> None:
        if not (card.explain or card.source):
            return
        explain = self.query_one("#explain", Static)
        source = Text(f"\nfrom {card.source}", style="dim italic") if card.source else Text("")
        explain.update(Text.assemble(card.explain.strip(), source))
        explain.display = True
