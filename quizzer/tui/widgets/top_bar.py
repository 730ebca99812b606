"""The line above the card: the deck, the session's progress, and where snippets run.

One widget draws all three (its parts are styled by component classes in the .tcss), so the
first card has fewer widgets to mount, style and lay out before it is on screen.
"""

from __future__ import annotations

from enum import Enum

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class Readiness(Enum):
    """How the worker stands, as the badge shows it."""

    WARMING = "warming"  # torch is still loading in the worker
    READY = "ready"
    FAILED = "failed"


class TopBar(Widget):
    COMPONENT_CLASSES = {"top-bar--deck", "top-bar--badge-warming", "top-bar--badge-ready", "top-bar--badge-failed"}

    deck: reactive[str] = reactive("")
    progress: reactive[Text] = reactive(Text, always_update=True)
    badge: reactive[tuple[str, Readiness]] = reactive(("", Readiness.WARMING))

    def render(self) -> Text:
        label, readiness = self.badge
        right = Text.assemble(self.progress, "  ",
                              (f" {label} ", self.get_component_rich_style(f"top-bar--badge-{readiness.value}")))
        deck = Text(self.deck, style=self.get_component_rich_style("top-bar--deck"), no_wrap=True,
                    overflow="ellipsis")
        room = max(0, self.content_size.width - right.cell_len - 2)
        deck.truncate(room, overflow="ellipsis")
        gap = " " * (self.content_size.width - deck.cell_len - right.cell_len)
        return Text.assemble(deck, gap, right, no_wrap=True, overflow="crop")
