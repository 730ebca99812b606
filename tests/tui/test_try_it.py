"""The try-it screen, driven like a learner: edit a failing snippet, run it, see why; nothing is stored."""

from __future__ import annotations

from rich.console import Console
from textual.app import App
from textual.widgets import Static

from quizzer.deck import bundled_deck_dir, load_decks
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.screens.try_it import PythonArea, TryItScreen, python_highlights

from .test_study import db  # noqa: F401  (fixture)


def bundled(deck_id: str, card_id: str):
    [deck] = [d for d in load_decks([bundled_deck_dir()]) if d.id == deck_id]
    return next(c for c in deck.cards if c.id == card_id)


def shown(screen, selector: str) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


async def run_and_wait(pilot) -> None:
    await pilot.press("ctrl+r")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class Host(App[None]):
    def __init__(self, screen: TryItScreen) -> None:
        super().__init__()
        self.try_it = screen

    def on_mount(self) -> None:
        self.push_screen(self.try_it)


async def test_editing_a_failing_view_into_contiguous_view_makes_it_run(runner):
    card = bundled("views", "view-on-transposed")
    screen = TryItScreen(card, runner, "cpu")
    async with Host(screen).run_test(size=(80, 40)) as pilot:
        code = screen.query_one("#try-code", PythonArea)
        assert code.has_focus and code.text == card.code.rstrip("\n")
        await run_and_wait(pilot)
        assert screen.outcome.raised and screen.outcome.error["type"] == "RuntimeError"
        assert "cannot be merged" in shown(screen, "#try-why")

        # as a learner would: go to the `view` line, put .contiguous() before .view, run again
        row = card.code.splitlines().index("c = b.view(1, -1)")
        await pilot.press(*["down"] * row, "home", *["right"] * len("c = b"))
        await pilot.press(*".contiguous()")
        assert code.text.splitlines()[row] == "c = b.contiguous().view(1, -1)"
        await pilot.press("f2")
        await pilot.press(*"c.shape")
        await run_and_wait(pilot)
        assert screen.outcome.status == "value" and screen.outcome.value["shape"] == [1, 6]
        assert "run 2 on cpu" in shown(screen, "#try-outcome")
        why = shown(screen, "#try-why")
        assert "why · views" in why and "contiguous" in why
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, TryItScreen)


async def test_a_hanging_edit_keeps_the_screen_responsive_and_reports_the_timeout(runner):
    card = bundled("views", "view-on-transposed")
    card = type(card)(**{**card.__dict__, "code": "while True:\n    pass", "timeout": 0.5})
    screen = TryItScreen(card, runner, "cpu")
    async with Host(screen).run_test(size=(80, 40)) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "running" in shown(screen, "#try-outcome")  # painted while the worker is busy
        await pilot.press("end")  # keys still work while it runs
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.outcome.status == "timeout"


async def test_trying_never_grades_or_stores(db, runner):  # noqa: F811
    store = Store(db)
    app = QuizzerApp(store, StudySession(store), runner=runner)
    async with app.run_test(size=(80, 40)) as pilot:
        card = app.session.current.state.card
        await pilot.pause()
        await app.push_screen(TryItScreen(card, runner))
        await run_and_wait(pilot)
        assert app.screen.outcome.value["shape"] == [2, 3]
        await pilot.press("escape")
        await pilot.pause()
    with Store(db) as s:
        assert s.reviews() == [] and s.card_state(card.deck_id, card.id).state.repetitions == 0


def test_code_is_highlighted_without_tree_sitter():
    marks = {(row, start, name) for row, start, _, name in python_highlights("x = 1.5  # note\nif True:\n    y = 'a'")}
    assert {(0, 4, "float"), (0, 9, "comment"), (1, 0, "keyword"), (1, 3, "boolean"), (2, 8, "string")} <= marks


def test_try_it_screen_after_a_failing_run_snapshot(snap_compare, runner):
    """How the screen looks at 80x40 with the why-panel of a failing view (a real CPU run)."""
    screen = TryItScreen(bundled("views", "view-on-transposed"), runner, "cpu")
    assert snap_compare(Host(screen), terminal_size=(80, 40), run_before=run_and_wait)
