"""The study flows, driven through Textual's Pilot with a real worker; the database is asserted after."""

from __future__ import annotations

import pytest

from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from textual.widgets import Input

from quizzer.tui.screens.study import Phase, StudyScreen

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
    source: PyTorch catalogue notes § 4.2 一般语义
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


def deck_db(path, deck: str = DECK):
    """A database at `path` holding one deck, given as its YAML text."""
    with Store(path) as s:
        s.import_decks([parse_deck(deck.encode(), "flow.yaml")])
    return path


@pytest.fixture
def db(tmp_path):
    return deck_db(tmp_path / "study.db")


def app_for(db, runner, **kw):
    store = Store(db)
    return QuizzerApp(store, StudySession(store, **kw), runner=runner)


def text(app, selector):
    """What a widget shows, as plain text (Rich tables and groups included)."""
    from rich.console import Console

    content = app.screen.query_one(selector).render()
    if isinstance(content, str):
        return content
    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(getattr(content, "_renderable", content))
    return console.export_text()


async def until(pilot, condition, what="the screen to settle"):
    """Wait for what a learner would wait for: a verdict, a hint, the next card."""
    for _ in range(600):
        await pilot.pause()  # let pending messages run first: often that is all it takes
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def type_answer(pilot, typed):
    """Type like a learner, key by key, then Enter; wait until the run's answer is on screen."""
    await pilot.press(*typed, "enter")
    await settled(pilot)


async def settled(pilot):
    def calm() -> bool:
        screen = pilot.app.screen
        return not isinstance(screen, StudyScreen) or screen.phase not in (Phase.RUNNING, Phase.SAVING)

    await until(pilot, calm, "the run and the grade")


async def grade_with(pilot, *keys):
    before = pilot.app.session.position
    await pilot.press(*keys)
    await until(pilot, lambda: pilot.app.session.position != before or pilot.app.screen.phase is Phase.QUESTION
                or not isinstance(pilot.app.screen, StudyScreen), "the grade to be saved")


async def test_right_answer_is_recorded_with_the_chosen_grade(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Shape of x + y?" in text(app, "#question")
        await type_answer(pilot, "2x3")
        assert "✓ Right" in text(app, "#verdict") and "gave shape (2, 3)" in text(app, "#verdict")
        assert "3  hard · 1d" in text(app, "#grades") and "0  blackout" not in text(app, "#grades")
        await grade_with(pilot, "4")
        assert "Does this finish?" in text(app, "#question")
    with Store(db) as s:
        [row] = s.reviews()
        assert (row["card_id"], row["verdict"], row["grade"], row["answer"], row["device"]) == ("shape", "right", 4, "2x3", "cpu")
        assert row["torch_version"].startswith("2.") and row["seconds"] >= 0
        assert s.card_state("flow", "shape").state.repetitions == 1


async def test_wrong_answer_only_allows_low_grades(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_answer(pilot, "(3, 2)")
        assert "✗ Wrong" in text(app, "#verdict") and "you said  (3, 2)" in text(app, "#verdict")
        await pilot.press("5")  # not allowed for a wrong answer: ignored
        await pilot.pause()
        assert app.screen.phase is Phase.VERDICT
        await grade_with(pilot, "enter")  # default for a wrong answer is 1
    with Store(db) as s:
        assert [(r["verdict"], r["grade"]) for r in s.reviews()] == [("wrong", 1)]
        assert s.card_state("flow", "shape").state.lapses == 1


async def test_unparseable_answer_keeps_input_and_records_nothing(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_answer(pilot, "two by three")
        assert app.screen.phase is Phase.QUESTION
        assert "type a shape" in text(app, "#hint")
        assert app.screen.query_one("#answer", Input).value == "two by three"
        await pilot.press(*["backspace"] * 12)
        await type_answer(pilot, "(2, 3)")
        assert "✓ Right" in text(app, "#verdict")
    with Store(db) as s:
        assert s.reviews() == []


async def test_timed_out_card_is_not_held_against_the_learner(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+k")  # skip the shape card
        await pilot.pause()
        await type_answer(pilot, "runs")
        assert app.screen.phase is Phase.UNRUN
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
        await settled(pilot)
        assert "✓ Right" in text(app, "#verdict")
        await grade_with(pilot, "5")
        await pilot.press(*"int64")  # typing highlights the option the text names
        assert app.screen.query_one("#choices").highlighted == 1
        await pilot.press(*["backspace"] * 5)
        assert app.screen.query_one("#choices").highlighted is None
        await pilot.press("down", "down")  # walk to b) torch.int64: the box shows what Enter sends
        assert app.screen.query_one("#answer", Input).value == "b"
        await pilot.press("enter")
        await settled(pilot)
        assert "✓ Right" in text(app, "#verdict") and "you said  b) torch.int64" in text(app, "#verdict")
        await grade_with(pilot, "enter")
        await pilot.press("space")
        await pilot.pause()
        assert "A tensor with no grad_fn." in text(app, "#verdict")
        assert "4  good" in text(app, "#grades") and "Enter = 4" in text(app, "#grades")
        await grade_with(pilot, "2")  # the learner judges themself wrong
    with Store(db) as s:
        assert [(r["card_id"], r["verdict"], r["grade"]) for r in s.reviews()] == [
            ("flag", "right", 5), ("pick", "right", 5), ("idea", "wrong", 2)]


async def test_undo_restores_the_card_and_removes_the_review(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_answer(pilot, "(2, 3)")
        await grade_with(pilot, "5")
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert "Shape of x + y?" in text(app, "#question") and app.screen.phase is Phase.QUESTION
    with Store(db) as s:
        assert s.reviews() == [] and s.card_state("flow", "shape").is_new


async def test_quit_mid_session_then_resume(db, runner):
    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_answer(pilot, "(2, 3)")
        await grade_with(pilot, "5")
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
        await type_answer(pilot, "(2, 3)")
        await grade_with(pilot, "5")
        await until(pilot, lambda: bool(app.screen.query("#summary")), "the summary")
        summary = text(app, "#summary")
        assert "cards reviewed  1" in summary and "accuracy        100% (1 of 1 right)" in summary
        assert "streak          1 day" in summary
    done = app_for(db, runner, new_limit=0)
    async with done.run_test(size=(80, 24)) as pilot:
        message = text(done, "#nothing-due")
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


async def test_every_part_of_a_tall_verdict_is_reachable_with_the_keyboard(tmp_path, runner):
    """At 80x24 the explanation of a long card is below the fold: PageDown/End/Home reach it."""
    explain = " ".join(f"Line {i} of a long explanation that wraps." for i in range(30))
    deck = DECK.replace("explain: Trailing dimensions are compared; size 1 stretches.", f"explain: {explain}")
    path = tmp_path / "tall.db"
    with Store(path) as s:
        s.import_decks([parse_deck(deck.encode(), "flow.yaml")])
    app = app_for(path, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_answer(pilot, "2x3")
        body = app.screen.query_one("#body")
        assert body.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause(0.1)
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("home")
        await pilot.pause(0.1)
        assert body.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause(0.1)
        assert body.scroll_y > 0
        grades = app.screen.query_one("#grades")
        assert grades.region.bottom <= 23 and "Enter = 5" in text(app, "#grades")  # the whole row is on screen
        await grade_with(pilot, "enter")
    with Store(path) as s:
        assert [r["grade"] for r in s.reviews()] == [5]


async def test_a_busy_database_never_freezes_the_screen_nor_loses_the_grade(db, runner):
    """Another process holds the write lock: the screen says so, stays live, and the grade lands after."""
    import sqlite3

    app = app_for(db, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_answer(pilot, "2x3")
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("4")
            await until(pilot, lambda: bool(app.screen.query("#hint")) and "waiting for the database" in text(app, "#hint"),
                        "the busy notice")  # the hint line is mounted with its first hint
            assert app.screen.phase is Phase.SAVING and app.session.current.state.card.id == "shape"
            await pilot.press("question_mark")  # the screen still answers keys
            await pilot.pause()
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await until(pilot, lambda: "Does this finish?" in text(app, "#question"), "the next card")
    with Store(db) as s:
        assert [(r["card_id"], r["grade"]) for r in s.reviews()] == [("shape", 4)]


async def test_the_verdict_shows_why_from_the_run_and_e_opens_try_it(db, runner):
    """The why-panel is drawn from the run's own trace; try-it is never graded and the verdict waits."""
    app = app_for(db, runner)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_answer(pilot, "(3, 2)")
        why = text(app, "#why")
        import re  # the operands' shapes right-aligned and the result under them, from the run's trace

        assert "why · broadcasting" in why and re.search(r"^x\s+2\s+1$", why, re.M) and re.search(r"^y\s+3$", why, re.M)
        assert re.search(r"^= ask\s+2\s+3$", why, re.M)
        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "TryItScreen", "try-it")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StudyScreen), "the verdict again")
        assert app.screen.phase is Phase.VERDICT and "✗ Wrong" in text(app, "#verdict")
        await grade_with(pilot, "enter")
    with Store(db) as s:
        assert [(r["card_id"], r["verdict"]) for r in s.reviews()] == [("shape", "wrong")]


async def test_skipping_a_slow_card_stops_its_run_so_the_next_is_not_held_behind_it(tmp_path, runner):
    import time

    deck = """\
id: slow
title: Slow deck
cards:
  - id: sleeper
    kind: raises
    question: What happens?
    code: |
      import time
      time.sleep(40)
    timeout: 60
  - id: quick
    kind: shape
    question: Shape?
    code: x = torch.ones(2, 3)
    ask: x
"""
    path = tmp_path / "slow.db"
    with Store(path) as s:
        s.import_decks([parse_deck(deck.encode(), "slow.yaml")])
    app = app_for(path, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)  # the sleeper is running now, precomputed
        await pilot.press("ctrl+k")
        start = time.monotonic()
        await type_answer(pilot, "2x3")
        assert "✓ Right" in text(app, "#verdict") and time.monotonic() - start < 15
