"""The stats screen over a database with known reviews: numbers, the weakest-topics key, the look."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from textual.widgets import DataTable, Sparkline, Static

from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.screens.stats import Heatmap, StatsScreen

from .fakes import CannedRunner

TODAY = date(2026, 3, 2)
DECK = """\
id: topics
title: Topics
description: Tagged recall cards.
cards:
""" + "".join(f"  - {{id: c{i}, kind: recall, question: q{i}, answer: a{i}, tags: [{tag}]}}\n"
              for i, tag in enumerate(["views", "views", "views", "autograd", "autograd", "autograd", "dtypes"]))


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12).astimezone()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "stats.db")
    s.import_decks([parse_deck(DECK.encode(), "topics.yaml")])
    # views: 3 answers, 1 right; autograd: 3 answers, 3 right (never weak); dtypes: 1 answer, wrong
    plan = [("c0", 1, False), ("c1", 1, False), ("c2", 4, True), ("c3", 4, True), ("c4", 5, True), ("c5", 4, True),
            ("c6", 1, False)]
    for offset, (card, grade, ok) in enumerate(plan):
        s.record_review("topics", card, grade=grade, correct=ok, answer="", seconds=30, now=noon(TODAY - timedelta(days=offset % 3)))
    yield s
    s.close()


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_stats_screen_numbers_and_weakest_key(store):
    app = QuizzerApp(store, StudySession(store, new_limit=0), runner=CannedRunner({}))
    async with app.run_test(size=(100, 40)) as pilot:
        app.push_screen(StatsScreen(store, today=TODAY), app._after_stats)
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        screen = app.screen
        # prior 4 of 7 worth 4 answers: dtypes (0 of 1) -> 0.457 is weaker than views (1 of 3) -> 0.469
        assert rows(screen.query_one("#weakest", DataTable)) == [["dtypes", "0", "1", "0%"], ["views", "1", "3", "33%"]]
        assert rows(screen.query_one("#by-deck", DataTable)) == [["Topics", "4", "7", "57%"]]
        heat = dict(screen.query_one(Heatmap).days)
        assert (heat[TODAY], heat[TODAY - timedelta(days=1)], heat[TODAY - timedelta(days=2)]) == (3, 2, 2)
        forecast = screen.query_one("#forecast", Sparkline).data
        # first reviews schedule 1 day out: the 4 cards seen 1 and 2 days ago are due (or overdue)
        # today, the 3 seen today are due tomorrow
        assert len(forecast) == 30 and forecast[:3] == [4, 3, 0]
        summary = str(screen.query_one("#stats-summary", Static).render())
        assert "streak 3 days" in summary and "today 3 reviews, 1 min 30 s" in summary and "all time 7 reviews, 3 min 30 s" in summary
        await pilot.press("w")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "StudyScreen"
        assert {i.state.card.tags[0] for i in app.session.queue} == {"views", "dtypes"}


def test_stats_screen_snapshot(snap_compare, store):
    app = QuizzerApp(store, StudySession(store, new_limit=0), runner=CannedRunner({}))

    async def open_stats(pilot):
        app.push_screen(StatsScreen(store, today=TODAY))
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_stats)


async def test_stats_opened_on_its_own_quits_when_left(store):
    """`quizzer stats --tui` opens on the dashboard, and Esc leaves the app."""
    from quizzer.tui.app import Start

    app = QuizzerApp(store, StudySession(store), runner=CannedRunner({}), start=Start.STATS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, StatsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.return_code is not None or not app.is_running  # the app exited
