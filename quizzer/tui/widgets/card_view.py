"""The card as the learner first sees it: what kind it is, the question, the code and the asked expression."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...deck import Card
from ...terminal_text import visible

if TYPE_CHECKING:
    from ..app import QuizzerApp


def shown_ask(card: Card) -> str | None:
    """The expression asked, unless the code already ends with exactly that line."""
    if not card.ask:
        return None
    lines = [line for line in card.code.strip().splitlines() if line.strip()]
    return None if lines and lines[-1].strip() == card.ask.strip() else card.ask.strip()


def code_renderable(card: Card, *, dark: bool, highlight: bool) -> RenderableType:
    """Code with line numbers, then `>>> ask`: everything the truth depends on, before answering."""
    ask = shown_ask(card)
    ask = visible(ask) if ask else ask  # code runs as written but is shown with control characters escaped
    parts: list[RenderableType] = []
    code = visible(card.code.rstrip("\n"))
    if highlight:
        from rich.syntax import Syntax  # pygments costs ~100 ms: not before the first paint

        theme = "monokai" if dark else "default"
        if code.strip():
            parts.append(Syntax(code, "python", line_numbers=True, word_wrap=True, theme=theme,
                                background_color="default"))
        if ask:
            line = Syntax(ask, "python", theme=theme, background_color="default").highlight(ask)
            line.rstrip()
            parts.append(Text.assemble((">>> ", "bold"), line))
    else:
        if code.strip():
            parts.append(numbered(code))
        if ask:
            parts.append(Text.assemble((">>> ", "bold"), ask))
    return Group(*parts)


def numbered(code: str) -> Table:
    """Plain code laid out as `Syntax` lays it out (a right-aligned line-number gutter, wrapped lines
    indented past it), so the highlighted version that replaces it adds colour and moves nothing."""
    lines = code.split("\n")
    gutter = len(str(len(lines))) + 3
    grid = Table.grid()
    grid.add_column(width=gutter, no_wrap=True)
    grid.add_column(ratio=1)
    for number, line in enumerate(lines, 1):
        grid.add_row(Text(f"{number:>{gutter - 1}} ", style="dim"), Text(line))
    return grid


class CardView(Vertical):
    """Question and code. Values come in as arguments; nothing is kept but the card on show."""

    def compose(self) -> ComposeResult:
        yield Static(id="question")
        yield Static(id="code")

    card: Card | None = None

    def show(self, card: Card, source: str, device: str | None) -> None:
        """`device` is given for cards whose truth depends on where they run."""
        self.card = card
        header = Text.assemble((f"{card.kind} · {source}", "dim"))
        if device:
            header.append("  ·  ")
            header.append(f"runs on {device}", style="bold")
        self.query_one("#question", Static).update(Text.assemble(header, "\n", card.question))
        code = self.query_one("#code", Static)
        code.display = bool(card.code.strip() or (card.ask and card.kind != "recall"))
        if not code.display:
            return
        highlighted = "rich.syntax" in sys.modules  # the first card paints plain, then highlights
        code.update(code_renderable(card, dark=self.app.current_theme.dark, highlight=highlighted))
        if not highlighted:  # building the lexer takes ~100 ms: only once the first card is on screen
            cast("QuizzerApp", self.app).after_first_paint(lambda: self._highlight(card))

    def _highlight(self, card: Card) -> None:
        if card is not self.card:
            return
        self.query_one("#code", Static).update(code_renderable(card, dark=self.app.current_theme.dark, highlight=True))
