"""Escape sequences in decks and snippet output are shown, never obeyed: no ESC byte (or any other
control character but newline and tab) reaches the terminal from `check`, `add-deck` or `stats`,
and the TUI gets deck and outcome text already escaped at the data boundary."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from quizzer.deck import load_decks
from quizzer.protocol import from_wire
from quizzer.terminal_text import visible

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"

HOSTILE_DECK = textwrap.dedent(f"""\
    id: escapes
    title: "Deck {TITLE!s}"
    description: "{CLEAR}"
    cards:
      - id: prints
        kind: raises
        question: "What prints? {CLEAR}"
        code: |
          print("\\x1b]0;title\\x07\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07")
          raise ValueError("\\x1b[2J in a message")
        expect: runs
      - id: recall
        kind: recall
        question: "{CLIPBOARD} recall"
        answer: "{TITLE}"
    """).replace("\x1b", "\\e").replace("\x07", "\\a")


def test_visible_escapes_controls_but_keeps_newlines_and_tabs():
    assert visible("a\x1b[2Jb\tc\nd\x07\x9b\x7f") == "a\\x1b[2Jb\tc\nd\\x07\\x9b\\x7f"
    assert visible("plain ünïcode → ok") == "plain ünïcode → ok"


def test_deck_display_fields_are_escaped_but_code_runs_as_written(write_deck):
    deck = load_decks([write_deck(HOSTILE_DECK)])[0]
    assert "\x1b" not in deck.title and "\\x1b]0;pwned" in deck.title
    prints, recall = deck.cards
    assert "\x1b" not in prints.question + recall.question + (recall.answer or "")
    assert "\\x1b]0;title" in prints.code, "code must stay as written"


def test_outcome_text_from_the_worker_is_escaped():
    line = ('{"id": 1, "status": "raised", "stdout": "\\u001b]52;c;x\\u0007", "stderr": "\\u009b2J",'
            ' "warnings": ["\\u001b[31m"], "error": {"type": "E\\u001b", "message": "\\u001b[2J"}}')
    outcome = from_wire(line).outcome
    text = outcome.stdout + outcome.stderr + "".join(outcome.warnings) + outcome.error["type"] + outcome.error["message"]
    assert "\x1b" not in text and "\x9b" not in text and "\\x1b]52" in outcome.stdout


@pytest.mark.parametrize("command", [["check"], ["check", "--json"], ["add-deck"]])
def test_cli_output_holds_no_control_bytes(write_deck, tmp_path, command):
    path = write_deck(HOSTILE_DECK)
    argv = [*command, "--db", str(tmp_path / "q.db"), str(path)] if command[0] == "add-deck" else [*command, str(path)]
    proc = subprocess.run([sys.executable, "-m", "quizzer", *argv], capture_output=True, timeout=180,
                          env={**__import__("os").environ, "QUIZZER_DB": str(tmp_path / "q.db")})
    out = proc.stdout + proc.stderr
    assert b"escapes" in out or b"prints" in out, out
    controls = [b for b in out if b < 0x20 and b not in (0x0A, 0x09)]
    assert controls == [], out
    assert b"\x9b" not in out


def test_a_trace_cannot_carry_escape_sequences_to_the_why_panel(runner):
    """The trace holds the snippet's own strings (parameters, names): escaped like every other output."""
    from tests.conftest import make_card

    outcome = runner.run(make_card("x = torch.ones(2)\ny = x.to(torch.float64)\nlabel = '\x1b]0;owned\x07'",
                                   "torch.full((2,), 1.0).sum()"), trace=True)
    assert outcome.trace is not None
    assert "\x1b" not in repr(outcome.extra) and "\x07" not in repr(outcome.extra)
