"""The study flows, driven through Textual's Pilot with a real worker; the database is asserted after."""

from __future__ import annotations

import pytest

from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from textual.widgets import Input, Static

DECK = """\
id: flow
title: Flow deck
description: Cards for the pilot tests.
cards:
  - id: shape
    kind: shape
    question: Shape of x + y?
    code: |
      x = torch.ones(2, 1)
      y = torch.ones(3)
    ask: x + y
    explain: Trailing dimensions are compared; size 1 stretches.
    source: 000_c36d55c556e7abde.txt §4.2
  - id: hang
    kind: raises
    question: Does this finish?
    code: |
      while True:
          pass
    timeout: 0.5
  - id: flag
    kind: bool
    question: Does x require grad?
    code: x = torch.ones(2)
    ask: x.requires_grad
  - id: pick
    kind: choice
    question: Which dtype?
    code: x = torch.tensor([1, 2])
    ask: x.dtype
    choices: [torch.float32, torch.int64]
  - id: idea
    kind: recall
    question: What is a leaf?
    answer: A tensor with no grad_fn.
"""


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "study.db"
    with Store(path) as s:
        s.import_decks([parse_deck(DECK.encode(), "flow.yaml")])
    return path


def app_for(db, runner, **kw):
    store = Store(db)
    return QuizzerApp(store, StudySession(store, **kw), runner=runner)


def text(app, selector):
    return str(app.screen.query_one(selector, Static).render())


async def wait_verdict(pilot):
    for _ in range(200):
        await pilot.pause(0.02)
        screen = pilot.app.screen
        if screen.phase != "running" and (screen.query_one("#verdict").display or screen.query_one("#hint").display):
            return
    raise AssertionError("no verdict")


async def answer(pilot, value):
    pilot.app.screen.query_one("#answer", Input).value = value
    await pilot.press("enter")
    await wait_verdict(pilot)


async def test_right_answer_is_recorded_with_the_chosen_grade(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Shape of x + y?" in text(app, "#question")
        await answer(pilot, "2x3")
        assert "✓ Right" in text(app, "#verdict") and "gave shape (2, 3)" in text(app, "#verdict")
        assert "3  hard · 1d" in text(app, "#grades") and "0  blackout" not in text(app, "#grades")
        await pilot.press("4")
        await pilot.pause()
        assert "Does this finish?" in text(app, "#question")
    with Store(db) as s:
        [row] = s.reviews()
        assert (row["card_id"], row["verdict"], row["grade"], row["answer"], row["device"]) == ("shape", "right", 4, "2x3", "cpu")
        assert row["torch_version"].startswith("2.") and row["seconds"] >= 0
        assert s.card_state("flow", "shape").state.repetitions == 1


async def test_wrong_answer_only_allows_low_grades(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await answer(pilot, "(3, 2)")
        assert "✗ Wrong" in text(app, "#verdict") and "you said  (3, 2)" in text(app, "#verdict")
        await pilot.press("5")  # not allowed for a wrong answer: ignored
        await pilot.pause()
        assert app.screen.phase == "verdict"
        await pilot.press("enter")  # default for a wrong answer is 1
        await pilot.pause()
    with Store(db) as s:
        assert [(r["verdict"], r["grade"]) for r in s.reviews()] == [("wrong", 1)]
        assert s.card_state("flow", "shape").state.lapses == 1


async def test_unparseable_answer_keeps_input_and_records_nothing(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await answer(pilot, "two by three")
        assert app.screen.phase == "question"
        assert "read as a shape" in text(app, "#hint")
        assert app.screen.query_one("#answer", Input).value == "two by three"
        await answer(pilot, "(2, 3)")
        assert "✓ Right" in text(app, "#verdict")
    with Store(db) as s:
        assert s.reviews() == []


async def test_timed_out_card_is_not_held_against_the_learner(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+k")  # skip the shape card
        await pilot.pause()
        await answer(pilot, "no")
        assert app.screen.phase == "unrun"
        assert "timed out after 0.5 s" in text(app, "#verdict") and "not held against you" in text(app, "#verdict")
        await pilot.press("ctrl+s")  # suspend it
        await pilot.pause()
        assert "Does x require grad?" in text(app, "#question")
    with Store(db) as s:
        assert s.reviews() == [] and s.card_state("flow", "hang").suspended


async def test_bool_choice_and_recall_cards(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+k", "ctrl+k")
        await pilot.pause()
        await pilot.press("n")
        await wait_verdict(pilot)
        assert "✓ Right" in text(app, "#verdict")
        await pilot.press("5")
        await pilot.pause()
        await pilot.press("down", "enter")  # choose "torch.int64"
        await wait_verdict(pilot)
        assert "✓ Right" in text(app, "#verdict")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        assert "A tensor with no grad_fn." in text(app, "#verdict")
        await pilot.press("2")  # the learner judges themself wrong
        await pilot.pause()
    with Store(db) as s:
        assert [(r["card_id"], r["verdict"], r["grade"]) for r in s.reviews()] == [
            ("flag", "right", 5), ("pick", "right", 5), ("idea", "wrong", 2)]


async def test_undo_restores_the_card_and_removes_the_review(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await answer(pilot, "(2, 3)")
        await pilot.press("5")
        await pilot.pause()
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert "Shape of x + y?" in text(app, "#question") and app.screen.phase == "question"
    with Store(db) as s:
        assert s.reviews() == [] and s.card_state("flow", "shape").is_new


async def test_quit_mid_session_then_resume(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await answer(pilot, "(2, 3)")
        await pilot.press("5")
        await pilot.pause()
        await pilot.press("ctrl+q")
    with Store(db) as s:
        assert [r["card_id"] for r in s.reviews()] == ["shape"]
    again = app_for(db, runner)
    async with again.run_test(size=(80, 24)) as pilot:
        assert "Does this finish?" in text(again, "#question")
        assert [i.state.card.id for i in again.session.queue] == ["hang", "flag", "pick", "idea"]


async def test_session_summary_then_nothing_due(db, runner):
    app = app_for(db, runner, limit=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await answer(pilot, "(2, 3)")
        await pilot.press("5")
        await pilot.pause()
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "cards reviewed  1" in summary and "accuracy        100% (1 of 1 right)" in summary
        assert "streak          1 day" in summary
    done = app_for(db, runner, new_limit=0)
    async with done.run_test(size=(80, 24)) as pilot:
        message = str(done.screen.query_one("#nothing-due", Static).render())
        assert "Nothing is due right now." in message and "(in 1 day)" in message
        await pilot.press("n")
        await pilot.pause()
        assert "Does this finish?" in text(done, "#question")


async def test_help_screen_opens_and_closes(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "StudyScreen"
