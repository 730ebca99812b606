"""How the screens look at 80x24. Update after a deliberate change: pytest tests/tui --snapshot-update"""

from __future__ import annotations

import sys
from datetime import date

import pytest
from textual.widgets._footer import FooterKey

from quizzer.deck import parse_deck
from quizzer.runner import Outcome
from quizzer.session import SessionSummary, StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.widgets.top_bar import Readiness
from quizzer.tui.screens.summary import SummaryScreen

from .fakes import CannedRunner
from .test_study import DECK, until

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
    """Wait for what lands after the first paint (the footer, the ready badge, the highlighted code)."""
    app = pilot.app
    await until(pilot, lambda: bool(app.screen.query(FooterKey)) and app.badge[1] is Readiness.READY
                and "rich.syntax" in sys.modules, "the footer's keys, the badge and the highlighting")
    await pilot.pause()


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


def tallest_bundled_card():
    """The bundled card that needs the most rows: question, code, ask and explanation."""
    import textwrap

    from quizzer.deck import bundled_deck_dir, load_decks

    cards = [c for d in load_decks(sorted(bundled_deck_dir().glob("*.yaml"))) for c in d.cards if c.executable]
    return max(cards, key=lambda c: (len(textwrap.wrap(c.question, 74)) + len(c.code.splitlines())
                                     + len(textwrap.wrap(c.explain, 74)), c.deck_id, c.id))


@pytest.fixture
def tall_app(tmp_path):
    from quizzer.library import open_library

    card = tallest_bundled_card()
    store = open_library(tmp_path / "tall.db")
    outcome = Outcome("raised", error={"type": "RuntimeError", "mro": ["RuntimeError", "Exception"],
                                       "message": "a canned failure, long enough to wrap once on a narrow screen"},
                      seconds=0.0004, device="cpu")
    yield QuizzerApp(store, StudySession(store, deck_ids=[card.deck_id], new_limit=1000), runner=CannedRunner({card.id: outcome}))
    store.close()


async def to_card(pilot, card_id):
    while pilot.app.screen.card.id != card_id:
        await pilot.press("ctrl+k")
        await pilot.pause()


def test_tallest_bundled_verdict_at_80x24(snap_compare, tall_app):
    async def answer(pilot):
        await settle(pilot)
        card = tallest_bundled_card()
        await to_card(pilot, card.id)
        keys = {"bool": ["y"], "raises": [*"runs", "enter"], "choice": ["a", "enter"]}.get(card.kind, [*"(3, 2)", "enter"])
        await pilot.press(*keys)  # the canned run raised: a wrong answer, with a verdict to scroll
        await pilot.pause(0.1)
        await pilot.press("end")
        await pilot.pause(0.1)

    assert snap_compare(tall_app, terminal_size=(80, 24), run_before=answer)


def test_recall_grade_row_at_80x24(snap_compare, app):
    async def reveal(pilot):
        await settle(pilot)
        await pilot.press("ctrl+k", "ctrl+k", "ctrl+k", "ctrl+k")
        await pilot.press("space")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=reveal)
