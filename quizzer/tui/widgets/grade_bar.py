"""The grades the run allows, each with the interval it would schedule; wraps rather than cuts."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget


@dataclass(frozen=True)
class GradeChoice:
    grade: int
    name: str
    interval: str  # "1d", "6d", "2mo"


def layout(choices: tuple[GradeChoice, ...], default: int, width: int) -> Text:
    """The grades in a row, wrapped between grades (never inside one) to fit `width` columns."""
    items = []
    for choice in choices:
        item = Text(f" {choice.grade} ", style="bold reverse" if choice.grade == default else "bold")
        item.append(f" {choice.name} · {choice.interval}")
        items.append(item)
    items.append(Text(f"Enter = {default}", style="dim"))
    lines: list[Text] = [Text()]
    for item in items:
        line = lines[-1]
        if line.cell_len and line.cell_len + 3 + item.cell_len > width:
            lines.append(line := Text())
        if line.cell_len:
            line.append("   ")
        line.append_text(item)
    return Text("\n").join(lines)


class GradeBar(Widget):
    DEFAULT_CSS = "GradeBar { height: auto; }"

    choices: tuple[GradeChoice, ...] = ()
    default = 0

    def show(self, choices: tuple[GradeChoice, ...], default: int) -> None:
        self.choices, self.default = choices, default
        self.display = True
        self.refresh(layout=True)

    def render(self) -> Text:
        return layout(self.choices, self.default, max(20, self.content_size.width or 80))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(layout(self.choices, self.default, max(20, width)).split())
