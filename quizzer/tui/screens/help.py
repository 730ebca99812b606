"""The `?` screen: every key, and how to write an answer for each kind of card."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from ...kinds import KINDS

HELP = """\
# How quizzer works

Predict what the snippet does, type your answer, press **Enter**. quizzer has already run the
snippet on your device; the run decides whether you were right. You only say how hard it was.

| key | does |
|---|---|
| `Enter` | submit your answer; on the verdict, take the suggested grade (after revealing a recall card: 4 good) |
| `0` `1` `2` | grade a wrong answer: blackout · wrong · almost |
| `3` `4` `5` | grade a right answer: hard · good · easy |
| `y` `n` `e` | yes / no / "it raises" on a yes-no card |
| `↑` `↓` | walk the options of a choice card |
| `PgUp` `PgDn` `Home` `End` | scroll the card and the verdict |
| `space` | show the answer of a recall card |
| `ctrl+z` or `u` | undo the last grade |
| `ctrl+s` | suspend this card (it will not come back) |
| `ctrl+k` | skip this card for now |
| `ctrl+t` | statistics |
| `?` `F1` | this help · `ctrl+q` quit (every grade is already saved) |
"""


def answer_syntax() -> str:
    """How to write an answer, kind by kind, straight from the registry of card kinds."""
    lines = ["# Writing answers", ""]
    for kind, spec in KINDS.items():
        examples = " · ".join(f"`{e}`" for e in spec.examples)
        lines.append(f"* **{kind}** — {spec.hint}: {examples}")
    lines += ["", "On shape, value, dtype and yes-no cards, `error` (or an exception's name) says you think",
              "the snippet raises. On a **raises** card a bare `yes` or `no` is refused: say `runs` or `raises`.",
              "Numbers are compared with the precision you type: `0.31` matches 0.3133."]
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP + "\n" + answer_syntax())
