"""How the screens look at 80x24. Update after a deliberate change: pytest tests/tui --snapshot-update"""

from __future__ import annotations

from datetime import date

import pytest

from quizzer.deck import parse_deck
from quizzer.runner import Outcome
from quizzer.session import SessionSummary, StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.summary import SummaryScreen

from .fakes import CannedRunner
from .test_study import DECK

OUTCOMES = {
    "shape": Outcome("value", value={"type": "Tensor", "repr": "tensor([[2., 2., 2.],\n        [2., 2., 2.]])",
                                     "shape": [2, 3], "dtype": "torch.float32", "device": "cpu",
                                     "requires_grad": False, "data": [[2.0] * 3] * 2}, seconds=0.0004, device="cpu"),
}


@pytest.fixture
def app(tmp_path):
    store = Store(tmp_path / "snap.db")
    store.import_decks([parse_deck(DECK.encode(), "flow.yaml")])
    yield QuizzerApp(store, StudySession(store), runner=CannedRunner(OUTCOMES))
    store.close()


async def settle(pilot):
    """Let the badge turn ready and the deferred code highlighting land before the picture."""
    await pilot.pause(0.1)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


def test_card_screen(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_verdict_screen(snap_compare, app):
    async def answer(pilot):
        await settle(pilot)
        await pilot.press(*"(3, 2)", "enter")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=answer)


def test_help_screen(snap_compare, app):
    async def help(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=help)


def test_summary_screen(snap_compare, app):
    async def summary(pilot):
        await settle(pilot)
        app.push_screen(SummaryScreen(SessionSummary(12, 9, 754.0, date(2026, 3, 4), 5), date(2026, 3, 2)))
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=summary)


def test_verdict_screen_light_theme(snap_compare, app):
    async def answer(pilot):
        app.theme = "textual-light"
        await settle(pilot)
        await pilot.press(*"(2, 3)", "enter")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=answer)
