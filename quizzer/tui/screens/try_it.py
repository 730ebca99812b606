"""Try it: edit a card's snippet and run it again, to see why it does what it does.

Opened from the verdict. Runs go through the same worker (same device, same guards) with a trace,
and show the outcome and the why-panel. Nothing here is graded or stored: it is a scratch pad.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from ...deck import Card
from ...protocol import SLACK, Outcome
from ...why import build, render

# Pygments token type (its first matching ancestor) -> a TextArea theme highlight name.
TOKEN_STYLES = (("Comment", "comment"), ("Literal.String", "string"), ("Literal.Number.Float", "float"),
                ("Literal.Number", "number"), ("Keyword.Constant", "boolean"), ("Keyword", "keyword"),
                ("Operator.Word", "keyword.operator"), ("Operator", "operator"), ("Name.Builtin", "type.builtin"),
                ("Name.Function", "function"), ("Name.Class", "class"), ("Punctuation", "punctuation.bracket"))


class PythonArea(TextArea):
    """A TextArea highlighted by Pygments (installed with Rich), so Python needs no tree-sitter."""

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        self._highlights.clear()
        for row, start, end, name in python_highlights(self.text):
            self._highlights[row].append((start, end, name))


def python_highlights(text: str) -> list[tuple[int, int, int, str]]:
    """(row, start column, end column, highlight name) for each highlighted token of `text`."""
    from pygments.lexers import PythonLexer

    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    found = []
    for index, token, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens_unprocessed(text):
        name = _style_of(str(token))
        if name is None or not value:
            continue
        for offset, piece in _line_pieces(index, value):
            row = bisect_right(starts, offset) - 1
            if piece:
                found.append((row, offset - starts[row], offset - starts[row] + len(piece), name))
    return found


def _style_of(token: str) -> str | None:
    token = token.removeprefix("Token.")
    for prefix, name in TOKEN_STYLES:
        if token == prefix or token.startswith(prefix + "."):
            return name
    return None


def _line_pieces(index: int, value: str) -> list[tuple[int, str]]:
    """A token split at newlines: highlights are kept per line."""
    pieces, offset = [], index
    for part in value.split("\n"):
        pieces.append((offset, part))
        offset += len(part) + 1
    return pieces


class TryItScreen(Screen[None]):
    """The card's code and ask, editable; ctrl+r runs them; escape goes back to the verdict."""

    BINDINGS = [
        Binding("ctrl+r", "run", "Run", priority=True),
        Binding("f2", "switch", "Code ⇄ ask", priority=True),  # tab indents in the code, so it cannot move focus
        Binding("escape", "dismiss_screen", "Back", priority=True),
    ]
    DEFAULT_CSS = """
    TryItScreen { layout: vertical; }
    TryItScreen #try-title { height: auto; padding: 0 1; text-style: bold; }
    TryItScreen #try-code { height: auto; max-height: 14; }
    TryItScreen #try-ask { height: 3; }
    TryItScreen .try-label { height: 1; padding: 0 1; color: $text-muted; }
    TryItScreen #try-result { height: 1fr; padding: 0 1; }
    """

    def __init__(self, card: Card, runner: Any, device: str = "") -> None:
        super().__init__()
        self.card = card
        self.runner = runner
        self.device = device or getattr(getattr(runner, "info", None), "device", "") or "the worker"
        self.outcome: Outcome | None = None
        self.runs = 0

    def compose(self) -> ComposeResult:
        yield Static(Text(f"try it · {self.card.deck_id}/{self.card.id} · runs on {self.device}, never graded"),
                     id="try-title")
        yield Static("code", classes="try-label")
        yield self._area(self.card.code.rstrip("\n"), "try-code")
        yield Static("ask (an expression; empty: just run the code)", classes="try-label")
        yield self._area(self.card.ask or "", "try-ask")
        with VerticalScroll(id="try-result"):
            yield Static(Text("ctrl+r runs your edit", style="dim"), id="try-outcome")
            yield Static(id="try-why")
        yield Footer()

    @staticmethod
    def _area(text: str, widget_id: str) -> PythonArea:
        return PythonArea(text, id=widget_id, soft_wrap=False, show_line_numbers=widget_id == "try-code",
                          tab_behavior="indent", theme="monokai")

    def on_mount(self) -> None:
        self.query_one("#try-code", PythonArea).focus()

    def action_switch(self) -> None:
        code, ask = self.query_one("#try-code", PythonArea), self.query_one("#try-ask", PythonArea)
        (ask if code.has_focus else code).focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)

    def action_run(self) -> None:
        code = self.query_one("#try-code", PythonArea).text
        ask = self.query_one("#try-ask", PythonArea).text.strip() or None
        self.query_one("#try-outcome", Static).update(Text("running…", style="dim"))
        self.run_snippet(code, ask)

    @work(exclusive=True, group="try-it")
    async def run_snippet(self, code: str, ask: str | None) -> None:
        """In a Textual worker: the UI keeps responding while the snippet runs (or hangs until its timeout)."""
        future = self.runner.submit_code(code, ask, timeout=self.card.timeout, trace=True)
        try:
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), self.card.timeout + SLACK)
        except asyncio.TimeoutError:
            outcome = Outcome(status="crashed", detail="the worker stopped answering")
        self.show(outcome)

    def show(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.runs += 1
        style = "red" if outcome.status != "value" else "green"
        line = (Text(f"run {self.runs} on {outcome.device or self.device}: ", style="bold")
                + Text(outcome.describe(), style=style))
        if outcome.stdout.strip():
            line += Text("\nprinted: " + outcome.stdout.strip()[:400], style="dim")
        self.query_one("#try-outcome", Static).update(line)
        self.query_one("#try-why", Static).update(render(build(outcome.trace)))
