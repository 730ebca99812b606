"""Where the learner answers: a text box, a list of options, single keys, or a reveal.

Every kind of answer leaves this widget the same way, as the text the learner typed
(`AnswerBox.Submitted`), so the screen grades one thing however it was entered.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
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
    """The answer control the card's kind asks for, and the hint line under it."""

    BINDINGS = [
        Binding("up", "move(-1)", "Previous option", show=False),
        Binding("down", "move(1)", "Next option", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield AnswerInput(id="answer")
        yield Static(id="prompt")
        yield Static(id="hint")

    card: Card | None = None

    def _options(self) -> OptionList:
        """The option list, mounted the first time a choice card needs it (a faster first card)."""
        found = self.query("#choices")
        if found:
            return found.first(OptionList)
        options = OptionList(id="choices")
        options.can_focus = False  # typing goes to the box above it
        self.mount(options, before=self.query_one("#prompt"))
        return options

    # -- showing ------------------------------------------------------------------------------
    def show(self, card: Card) -> None:
        self.card = card
        control = spec(card.kind).control
        box, prompt = self.query_one("#answer", Input), self.query_one("#prompt", Static)
        box.display = control in (Control.TYPE, Control.PICK)
        for shown in self.query("#choices"):
            shown.display = False
        prompt.display = control in (Control.KEYS, Control.REVEAL)
        self.clear_hint()
        box.value = ""
        if box.display:
            expects = tuple(card.expect.values()) if isinstance(card.expect, dict) else (card.expect or "",)
            box.placeholder = placeholder(card.kind, expects)
            box.focus()
        if control is Control.PICK:
            options = self._options()
            options.display = True
            options.clear_options()
            options.add_options([Option(choice_label(i, c), id=str(i)) for i, c in enumerate(card.choices)])
            options.highlighted = None
        if control is Control.KEYS:
            prompt.update(Text.assemble(("y", "bold"), " yes   ·   ", ("n", "bold"), " no   ·   ",
                                        ("e", "bold"), " it raises"))
        elif control is Control.REVEAL:
            prompt.update(Text.assemble("Think of your answer, then press ", ("space", "bold"), " to see it."))

    def hide(self) -> None:
        for widget in self.query("#answer, #choices, #prompt"):
            widget.display = False
        self.clear_hint()

    def show_hint(self, message: str) -> None:
        hint = self.query_one("#hint", Static)
        hint.update(Text(message, style="italic"))
        hint.display = True

    def clear_hint(self) -> None:
        hint = self.query_one("#hint", Static)
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
