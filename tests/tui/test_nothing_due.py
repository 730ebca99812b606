"""The "nothing due" screen offers as many new cards as the learner asked for per day."""

from __future__ import annotations

from textual.widgets import Static

from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.summary import NothingDueScreen

from .fakes import CannedRunner

DECK = """\
id: dtypes
title: Dtypes
description: Recall cards.
cards:
""" + "".join(f"  - {{id: c{i:02d}, kind: recall, question: q{i}, answer: a{i}}}\n" for i in range(20))


async def test_nothing_due_offers_the_new_limit_asked_for(tmp_path):
    # `quizzer study --deck dtypes --new 6` on a day when 6 new cards were already seen
    with Store(tmp_path / "q.db") as store:
        store.import_decks([parse_deck(DECK.encode(), "dtypes.yaml")])
        first = StudySession(store, ["dtypes"], new_limit=6)
        for _ in range(6):
            first.answer(5, answer="", seconds=1)
        session = StudySession(store, ["dtypes"], new_limit=6)
        assert session.current is None
        app = QuizzerApp(store, session, runner=CannedRunner({}))
        async with app.run_test(size=(100, 24)) as pilot:
            screen = app.screen
            assert isinstance(screen, NothingDueScreen)
            message = str(screen.query_one("#nothing-due", Static).render())
            assert "to learn 6 new cards beyond today's limit" in message and "new cards left 14" in message
            assert [b.description for b in screen._bindings.key_to_bindings["n"]] == ["Learn 6 new cards"]
            await pilot.press("n")
            await pilot.pause()
            assert [i.source for i in app.session.queue] == ["new"] * 6
            assert app.session.queue[0].state.card.id == "c06"
