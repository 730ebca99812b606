"""The "nothing due" screen offers as many new cards as the learner asked for per day."""

from __future__ import annotations

from textual.widgets import Static

from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.screens.summary import NothingDueScreen

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


TOPICS = """\
id: topics
title: Topics
description: Tagged recall cards.
cards:
""" + "".join(f"  - {{id: {c}, kind: recall, question: q, answer: a, tags: [{tag}]}}\n"
              for c, tag in [("v0", "views"), ("v1", "views"), ("v2", "views"), ("a0", "autograd")])


async def test_weak_topic_with_nothing_due_offers_its_new_cards_explicitly(tmp_path):
    from quizzer.tui.screens.stats import StatsScreen

    with Store(tmp_path / "q.db") as store:
        store.import_decks([parse_deck(TOPICS.encode(), "topics.yaml")])
        session = StudySession(store, new_limit=1)
        session.answer(1, answer="", seconds=1)  # v0 wrong
        session.answer(4, answer="", seconds=1)  # v0 drilled to good: right today, not to be re-drilled
        assert session.current is None
        app = QuizzerApp(store, session, runner=CannedRunner({}))
        async with app.run_test(size=(100, 30)) as pilot:
            app.push_screen(StatsScreen(store, today=session.today), app._after_stats)
            await pilot.pause(0.2)
            await app.workers.wait_for_complete()
            await pilot.press("w")  # views is the weakest topic: nothing due, its 2 new cards past the limit
            await pilot.pause(0.2)
            assert isinstance(app.screen, NothingDueScreen) and app.session.tags == ["views"]
            message = str(app.screen.query_one("#nothing-due", Static).render())
            assert "new cards left 2" in message and "to learn 1 new card beyond" in message  # --new 1: one at a time
            await pilot.press("n")
            await pilot.pause()
            assert [i.state.card.id for i in app.session.queue] == ["v1"]
