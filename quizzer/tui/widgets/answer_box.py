"""Where the learner answers: a text box, a list of options, single keys, or a reveal.

Every kind of answer leaves this widget the same way, as the text the learner typed
(`AnswerBox.Submitted`), so the screen grades one thing however it was entered.
"""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...answers import Unparsed
from ...deck import Card
from ...kinds import Control, choice_label, parse_choice, placeholder, spec


class AnswerInput(Input):
    """The answer box. '?' opens help even while typing: no answer syntax uses it."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character != "?" and super().check_consume_key(key, character)


class AnswerBox(Vertical):
    """The answer control the card's kind asks for, and the hint line under it.

    Each part is mounted the first time a card needs it (the first card's at compose): a first
    card that is answered with keys never builds a text box, one that is typed never a key prompt.
    """

    BINDINGS = [
        Binding("up", "move(-1)", "Previous option", show=False),
        Binding("down", "move(1)", "Next option", show=False),
    ]
    PARTS = ("answer", "choices", "prompt", "hint")  # top to bottom

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, first: Control | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.first = first  # the control the first card asks for

    def compose(self) -> ComposeResult:
        if self.first in (Control.TYPE, Control.PICK):
            yield self._make("answer")
        if self.first in (Control.KEYS, Control.REVEAL):
            yield self._make("prompt")

    card: Card | None = None

    @staticmethod
    def _make(part: str) -> Widget:
        if part == "answer":
            return AnswerInput(id="answer")
        if part == "choices":
            options = OptionList(id="choices")
            options.can_focus = False  # typing goes to the box above it
            return options
        return Static(id=part)

    def _part(self, part: str) -> Widget:
        """The part, mounted in its place the first time it is needed."""
        found = self.query(f"#{part}")
        if found:
            return found.first()
        widget = self._make(part)
        below = [child for child in self.children if child.id in self.PARTS[self.PARTS.index(part) + 1:]]
        self.mount(widget, before=below[0] if below else None)
        return widget

    def _hide(self, *parts: str) -> None:
        for widget in self.query(", ".join(f"#{part}" for part in parts)):
            widget.display = False

    # -- showing ------------------------------------------------------------------------------
    def show(self, card: Card) -> None:
        self.card = card
        control = spec(card.kind).control
        self._hide("answer", "choices", "prompt")
        self.clear_hint()
        if control in (Control.TYPE, Control.PICK):
            box = cast("Input", self._part("answer"))
            box.display = True
            box.value = ""
            expects = tuple(card.expect.values()) if isinstance(card.expect, dict) else (card.expect or "",)
            box.placeholder = placeholder(card.kind, expects)
            box.focus()
        if control is Control.PICK:
            options = cast("OptionList", self._part("choices"))
            options.display = True
            options.clear_options()
            options.add_options([Option(choice_label(i, c), id=str(i)) for i, c in enumerate(card.choices)])
            options.highlighted = None
        if control in (Control.KEYS, Control.REVEAL):
            prompt = cast("Static", self._part("prompt"))
            prompt.display = True
            if control is Control.KEYS:
                prompt.update(Text.assemble(("y", "bold"), " yes   ·   ", ("n", "bold"), " no   ·   ",
                                            ("e", "bold"), " it raises"))
            else:
                prompt.update(Text.assemble("Think of your answer, then press ", ("space", "bold"), " to see it."))

    def hide(self) -> None:
        self._hide("answer", "choices", "prompt")
        self.clear_hint()

    def show_hint(self, message: str) -> None:
        hint = cast("Static", self._part("hint"))
        hint.update(Text(message, style="italic"))
        hint.display = True

    def clear_hint(self) -> None:
        for hint in self.query("#hint").results(Static):
            hint.update("")
            hint.display = False

    def focus_box(self) -> None:
        self.query_one("#answer", Input).focus()

    # -- answering ----------------------------------------------------------------------------
    @on(Input.Submitted, "#answer")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    @on(Input.Changed, "#answer")
    def _follow(self, event: Input.Changed) -> None:
        """On a choice card the list highlights the option the typed text names, as it is typed."""
        if self.card is None or spec(self.card.kind).control is not Control.PICK:
            return
        try:
            index: int | None = parse_choice(event.value, self.card.choices) if event.value.strip() else None
        except Unparsed:
            index = None
        self.query_one("#choices", OptionList).highlighted = index

    @on(OptionList.OptionSelected, "#choices")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Submitted(chr(97 + int(event.option.id or 0))))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "move":
            return self.card is not None and spec(self.card.kind).control is Control.PICK
        return True

    def action_move(self, step: int) -> None:
        """↑/↓ walk the options and write the option's letter into the box: what Enter will send."""
        assert self.card is not None
        options = self.query_one("#choices", OptionList)
        count = len(self.card.choices)
        current = options.highlighted
        index = (0 if step > 0 else count - 1) if current is None else (current + step) % count
        options.highlighted = index
        box = self.query_one("#answer", Input)
        box.value = chr(97 + index)
        box.cursor_position = len(box.value)
