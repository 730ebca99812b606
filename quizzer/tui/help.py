"""The `?` screen: every key, and how to write an answer for each kind of card."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# How quizzer works

Predict what the snippet does, type your answer, press **Enter**. quizzer has already run the
snippet on your device; the run decides whether you were right. You only say how hard it was.

| key | does |
|---|---|
| `Enter` | submit your answer; on the verdict, take the suggested grade |
| `0` `1` `2` | grade a wrong answer: blackout · wrong · almost |
| `3` `4` `5` | grade a right answer: hard · good · easy |
| `y` `n` `e` | yes / no / "it raises" on a yes-no card |
| `space` | show the answer of a recall card |
| `ctrl+z` or `u` | undo the last grade |
| `ctrl+s` | suspend this card (it will not come back) |
| `ctrl+k` | skip this card for now |
| `ctrl+t` | statistics |
| `?` `F1` | this help · `ctrl+q` quit (every grade is already saved) |

# Writing answers

* **shape** — `(5, 3, 4, 1)`, `5,3,4,1`, `5x3x4x1`, `torch.Size([5, 3])`; `()` for a scalar
* **value** — `9`, `0.5`, `[[1, 2], [3, 4]]`, `tensor([1., 2.])`, `True`, `None`
* **dtype** — `float32`, `torch.int64`, `long`, `double`, `bool`
* **raises** — `no`, or `error`, or the exception: `RuntimeError`
* **choice** — the option's number, letter or text

On any card, `error` (or an exception's name) says you think the snippet raises.
Numbers are compared with the precision you type: `0.31` matches 0.3133.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
