"""The device badge: where snippets run, and whether the worker is still warming up."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from ..app import QuizzerApp


class DeviceBadge(Static):
    label: reactive[str] = reactive("")
    state: reactive[str] = reactive("warming")  # warming | ready | failed

    def on_mount(self) -> None:
        self.label, self.state = cast("QuizzerApp", self.app).badge

    def render(self) -> str:
        return f" {self.label} "

    def watch_state(self, state: str) -> None:
        self.set_class(state == "warming", "-warming")
        self.set_class(state == "failed", "-failed")
