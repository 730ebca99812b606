"""End-of-session summary, and the screen for when nothing is due."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...session import SessionSummary, format_duration


def when(day: date | None, today: date) -> str:
    if day is None:
        return "no cards scheduled"
    delta = (day - today).days
    if delta <= 0:
        return f"{day.isoformat()} (today)"
    return f"{day.isoformat()} (in {delta} day{'s' * (delta != 1)})"


class SummaryScreen(Screen[None]):
    BINDINGS = [Binding("q,enter,escape", "app.quit", "Quit", show=False), Binding("ctrl+t", "app.stats", "Stats")]

    def __init__(self, summary: SessionSummary, today: date) -> None:
        super().__init__()
        self.summary, self.today = summary, today

    def compose(self) -> ComposeResult:
        s = self.summary
        accuracy = "–" if s.accuracy is None else f"{s.accuracy:.0%} ({s.right} of {s.reviewed} right)"
        text = Text.assemble(
            ("Session complete\n\n", "bold"),
            ("cards reviewed  ", "dim"), str(s.reviewed), "\n",
            ("accuracy        ", "dim"), accuracy, "\n",
            ("time spent      ", "dim"), format_duration(s.seconds), "\n",
            ("next due        ", "dim"), when(s.next_due, self.today), "\n",
            ("streak          ", "dim"), f"{s.streak} day{'s' * (s.streak != 1)}",
        )
        with Vertical(id="summary-box"):
            yield Static(text, id="summary")
        yield Footer()


class NothingDueScreen(Screen[str]):
    """Nothing is due: say when the next card is, offer as many new cards as the learner asked for
    per day (`batch`, e.g. `--new 6`), or studying ahead."""

    BINDINGS = [
        Binding("a", "dismiss('ahead')", "Study ahead (7 days)"),
        Binding("q,escape", "app.quit", "Quit", show=False),
    ]

    def __init__(self, next_due: date | None, today: date, new_available: int, batch: int = 10) -> None:
        super().__init__()
        self.next_due, self.today, self.new_available = next_due, today, new_available
        self.new_batch = min(batch, new_available)
        if self.new_batch > 0:
            self._bindings.bind("n", "dismiss('new')", f"Learn {self.new_batch} new card{'s' * (self.new_batch != 1)}")

    def compose(self) -> ComposeResult:
        offer: list = []
        if self.new_batch > 0:
            offer = ["Press ", ("n", "bold"),
                     f" to learn {self.new_batch} new card{'s' * (self.new_batch != 1)} beyond today's limit, "]
        else:
            offer = ["Press "]
        text = Text.assemble(
            ("Nothing is due right now.\n\n", "bold"),
            ("next card due  ", "dim"), when(self.next_due, self.today), "\n",
            ("new cards left ", "dim"), str(self.new_available), "\n\n",
            *offer, ("a", "bold"), " to review cards due in the next week, or ", ("q", "bold"), " to come back later.",
        )
        with Vertical(id="summary-box"):
            yield Static(text, id="nothing-due")
        yield Footer()
