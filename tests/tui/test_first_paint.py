"""The first card comes first: what it does not need (the worker, its protocol, the footer, the lexer)
waits until it is on screen, and what is drawn early looks as it will once everything has landed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from rich.console import Console
from rich.syntax import Syntax

from quizzer.tui.widgets.card_view import numbered
from quizzer.tui.widgets.top_bar import Readiness, TopBar

from .fakes import CannedRunner
from .test_study import DECK, app_for, db, deck_db, text, until  # noqa: F401  (db is a fixture)


def test_the_first_card_loads_neither_the_worker_client_nor_what_comes_after_it(tmp_path):
    """Importing what `quizzer study` needs, and making the app, leaves the worker's client, its
    protocol, the verdict's grading and the summary screen unloaded: they come after the first paint."""
    script = textwrap.dedent(f"""
        import sys
        from quizzer import cli
        from quizzer.library import open_library
        from quizzer.session import StudySession
        from quizzer.tui.app import QuizzerApp
        store = open_library({str(tmp_path / "lib.db")!r})
        QuizzerApp(store, StudySession(store))
        later = ["quizzer.runner", "quizzer.protocol", "quizzer.linux", "quizzer.grading",
                 "quizzer.tui.screens.summary", "textual.widgets._footer", "rich.syntax", "torch"]
        print(" ".join(name for name in later if name in sys.modules) or "none")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["none"]


async def test_the_worker_is_made_only_after_the_first_card_is_on_screen(db, monkeypatch):  # noqa: F811
    made: list[str] = []

    class RecordingRunner(CannedRunner):
        def __init__(self, device: str | None = None) -> None:
            made.append(device or "auto")
            super().__init__({})

    monkeypatch.setattr("quizzer.runner.Runner", RecordingRunner)
    from quizzer.session import StudySession
    from quizzer.store import Store
    from quizzer.tui.app import QuizzerApp

    store = Store(db)
    app = QuizzerApp(store, StudySession(store), device="cpu")  # no runner given: the app makes its own
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Shape of x + y?" in text(app, "#question")
        assert made == []  # the card is there, the worker's client is not yet
        await until(pilot, lambda: made == ["cpu"] and "cpu" in text(app, "TopBar"), "the worker to be made")
    store.close()


async def test_the_top_bar_keeps_progress_and_device_and_cuts_a_long_deck_title(tmp_path):
    long_title = "A deck title far too long to fit beside the progress and the device badge at eighty columns"
    path = deck_db(tmp_path / "long.db", DECK.replace("title: Flow deck", f"title: {long_title}"))
    app = app_for(path, CannedRunner({}))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.badge[1] is Readiness.READY, "the badge")
        await pilot.pause()
        bar = app.screen.query_one(TopBar)
        line = "".join(segment.text for segment in bar.render_line(0))
        assert len(line) == 78  # 80 columns less the bar's padding
        assert line.endswith("review 0   cpu ")  # the device badge, flush right
        assert "1/5  new 5  again 0" in line and line.startswith("A deck title far too long to fit")
        assert "… " in line and "device badge at eighty" not in line  # the title gives way, with an ellipsis
    app.store.close()


@pytest.mark.parametrize("lines", [2, 9, 10, 12])
@pytest.mark.parametrize("width", [40, 76])
def test_plain_code_is_laid_out_as_the_highlighted_code_that_replaces_it(lines, width):
    """The first card's code is drawn before the lexer is built; the highlighted version must only
    add colour: same gutter, same wrapping."""
    code = "\n".join(f"x{i} = torch.ones({i}, 2)" for i in range(lines - 1))
    code += "\ny = 'a long line of code that has to wrap once or twice inside a narrow box, word by word'"

    def shown(renderable) -> list[str]:
        console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(renderable)
        return [line.rstrip() for line in console.export_text().splitlines()]

    highlighted = Syntax(code, "python", line_numbers=True, word_wrap=True, background_color="default")
    assert shown(numbered(code)) == shown(highlighted)


KEYS_FIRST = """\
id: order
title: Keys first
cards:
  - id: flag
    kind: bool
    question: Does x require grad?
    code: x = torch.ones(2)
    ask: x.requires_grad
  - id: shape
    kind: shape
    question: Shape of x + y?
    code: |
      x = torch.ones(2, 1)
      y = torch.ones(3)
    ask: x + y
"""


async def test_a_text_box_is_built_when_a_card_first_needs_one_and_takes_the_keys(tmp_path, runner):
    """The first card is answered with keys, so no text box is built for it; the next card's box is
    made then, has the focus, and what the learner types is graded."""
    from .test_study import grade_with, type_answer

    app = app_for(deck_db(tmp_path / "keys-first.db", KEYS_FIRST), runner)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Does x require grad?" in text(app, "#question")
        assert not app.screen.query("#answer") and "y yes" in text(app, "#prompt")
        await pilot.press("n")
        await until(pilot, lambda: "✓ Right" in text(app, "#verdict"), "the verdict")
        await grade_with(pilot, "enter")
        assert "Shape of x + y?" in text(app, "#question")
        assert app.focused is app.screen.query_one("#answer") and not app.screen.query_one("#prompt").display
        await type_answer(pilot, "2x3")
        assert "✓ Right" in text(app, "#verdict")
    app.store.close()
