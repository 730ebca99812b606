"""The stats screen: a year of reviews as a heatmap, the next 30 days, retention, weakest topics."""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Sparkline, Static

from ...session import format_duration
from ...stats import Dashboard, dashboard
from ...store import Store, study_day

HEAT_LEVELS = ("·", "▪", "▪", "■", "■")
HEAT_STYLES = ("grey35", "green4", "green3", "green3", "bold bright_green")


class Heatmap(Widget):
    """One cell a day, weeks as columns and weekdays as rows, as Anki and GitHub draw it."""

    DEFAULT_CSS = "Heatmap { height: 9; width: auto; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.days: list[tuple[date, int]] = []

    def show(self, days: list[tuple[date, int]]) -> None:
        self.days = days
        self.refresh(layout=True)

    def get_content_width(self, container, viewport) -> int:
        return 5 + (len(self.days) + 13) // 7

    def render(self) -> Text:
        if not self.days:
            return Text("loading…", style="dim")
        counts = dict(self.days)
        top = max(counts.values()) or 1
        first, last = self.days[0][0], self.days[-1][0]
        start = first - timedelta(days=first.weekday())  # columns start on Mondays
        weeks = (last - start).days // 7 + 1
        # keep the most recent weeks that fit the widget's width
        fits = max(1, (self.size.width or 60) - 5)
        skip = max(0, weeks - fits)
        months = Text("     ")
        for w in range(skip, weeks):
            day = start + timedelta(weeks=w)
            months.append(day.strftime("%b")[0] if day.day <= 7 else " ", style="dim")
        lines = [months]
        for weekday, name in enumerate(("Mon", "", "Wed", "", "Fri", "", "Sun")):
            line = Text(f"{name:4} ", style="dim")
            for w in range(skip, weeks):
                day = start + timedelta(weeks=w, days=weekday)
                if day < first or day > last:
                    line.append(" ")
                    continue
                n = counts.get(day, 0)
                level = 0 if n == 0 else min(4, 1 + int(3 * n / top))
                line.append(HEAT_LEVELS[level], style=HEAT_STYLES[level])
            lines.append(line)
        total = sum(counts.values())
        lines.append(Text(f"     {total:,} reviews in {len(self.days)} days", style="dim"))
        return Text("\n").join(lines)


class StatsScreen(Screen[list[str] | None]):
    """Dismisses with the weakest topics' tags when the learner asks to study them."""

    BINDINGS = [
        Binding("w", "study_weakest", "Study weakest topics"),
        Binding("escape,q", "close", "Back"),
    ]

    def __init__(self, store: Store, today: date | None = None) -> None:
        super().__init__()
        self.store = store
        self.today = today or study_day()
        self.data: Dashboard | None = None

    def compose(self) -> ComposeResult:
        yield Static("quizzer · statistics", id="stats-title")
        with VerticalScroll(id="stats-body"):
            yield Static(id="stats-summary")
            yield Static("Reviews, last 365 days", classes="section")
            yield Heatmap(id="heatmap")
            yield Static("Due, next 30 days", classes="section")
            yield Sparkline([], id="forecast")
            yield Static(id="forecast-legend")
            with Horizontal(id="distributions"):
                with Vertical():
                    yield Static("Ease (1.3 → 3.0+)", classes="section")
                    yield Sparkline([], id="ease")
                with Vertical():
                    yield Static("Interval (1d → 3mo+)", classes="section")
                    yield Sparkline([], id="interval")
            yield Static("Weakest topics (last 30 days) · w studies them", classes="section")
            yield DataTable(id="weakest", cursor_type="none", zebra_stripes=True)
            yield Static("Retention by deck (last 30 days)", classes="section")
            yield DataTable(id="by-deck", cursor_type="none", zebra_stripes=True)
            yield Static("Retention by tag (last 30 days)", classes="section")
            yield DataTable(id="by-tag", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        data = dashboard(self.store, self.today)
        self.app.call_from_thread(self.show, data)

    def show(self, data: Dashboard) -> None:
        self.data = data
        self.query_one("#stats-summary", Static).update(Text.assemble(
            ("streak ", "dim"), f"{data.streak} day{'s' * (data.streak != 1)}", "   ",
            ("today ", "dim"), f"{data.reviews_today} reviews, {format_duration(data.seconds_today)}", "   ",
            ("all time ", "dim"), f"{data.reviews_total:,} reviews, {format_duration(data.seconds_total)}", "   ",
            ("due today ", "dim"), str(data.due_today)))
        self.query_one(Heatmap).show(data.heatmap)
        self.query_one("#forecast", Sparkline).data = [n for _, n in data.forecast] or [0]
        week = "  ".join(f"{d.strftime('%a')} {n}" for d, n in data.forecast[:7])
        self.query_one("#forecast-legend", Static).update(
            Text(f"{week}   · 30 days: {sum(n for _, n in data.forecast)}", style="dim"))
        self.query_one("#ease", Sparkline).data = [n for _, n in data.ease_distribution]
        self.query_one("#interval", Sparkline).data = [n for _, n in data.interval_distribution]
        self._table("#weakest", ("topic", "right", "answers", "accuracy"),
                    [(r.key, r.right, r.total, f"{r.retention:.0%}") for r in data.weakest_topics],
                    empty="not enough answers yet (a topic needs 3 in 30 days)")
        self._table("#by-deck", ("deck", "right", "answers", "retention"),
                    [(r.title or r.key, r.right, r.total, f"{r.retention:.0%}") for r in data.retention_by_deck])
        self._table("#by-tag", ("tag", "right", "answers", "retention"),
                    [(r.key, r.right, r.total, f"{r.retention:.0%}") for r in data.retention_by_tag])

    def _table(self, selector: str, columns: tuple[str, ...], rows: list[tuple], empty: str = "no answers yet") -> None:
        table = self.query_one(selector, DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        table.add_rows(rows or [(empty, "", "", "")])

    def action_study_weakest(self) -> None:
        if not self.data or not self.data.weakest_topics:
            self.notify("No weak topics: no topic has a wrong answer in the last 30 days.", severity="warning")
            return
        self.dismiss([r.key for r in self.data.weakest_topics])

    def action_close(self) -> None:
        self.dismiss(None)
