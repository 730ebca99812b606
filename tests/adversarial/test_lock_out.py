"""A card that kills quizzer must not lock the learner out, and suspending must be a two-way door.

The in-flight mark is made by a real second process that then dies (SIGKILL, SIGTERM), as the
study app would when a snippet kills it; the next `quizzer study` leaves that card out.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from quizzer import cli
from quizzer.cli import main
from quizzer.in_flight import InFlight
from quizzer.session import StudySession
from quizzer.store import Store, StoreError, StoreProblem

MARK_AND_DIE = textwrap.dedent("""
    import os, signal, sys
    from quizzer.in_flight import InFlight
    InFlight.for_db(sys.argv[1]).mark("small", "add-shape")
    print("marked", flush=True)
    sys.stdin.readline()  # the parent decides when (and how) this process dies
""")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def die_while_marked(db, sig: signal.Signals) -> None:
    proc = subprocess.Popen([sys.executable, "-c", MARK_AND_DIE, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "marked"
    assert InFlight.for_db(db).left_over() is None  # its quizzer is still running: not a left-over
    proc.send_signal(sig)
    proc.wait(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_card_that_killed_quizzer_is_left_out_of_the_next_session(db, capsys, sig):
    die_while_marked(db, sig)
    assert InFlight.for_db(db).left_over() == ("small", "add-shape")
    code, out, err = run(capsys, "study", "--db", str(db), "--deck", "small")  # not a terminal: the queue as text
    assert code == 0 and "small/add-shape" not in out and "small/concept" in out
    assert "stopped while running small/add-shape last time" in err and "quizzer suspend small/add-shape" in err
    assert InFlight.for_db(db).left_over() == ("small", "add-shape")  # kept until the learner decides


@pytest.mark.parametrize("reply, suspended", [("", True), ("y", True), ("n", False)])
def test_on_a_terminal_the_learner_is_offered_to_suspend_it(db, capsys, monkeypatch, reply, suspended):
    die_while_marked(db, signal.SIGKILL)
    monkeypatch.setattr("builtins.input", lambda prompt: reply)
    with Store(db) as store:
        assert cli._left_over_card(store, ask=True) == ("small", "add-shape")
        assert store.card_state("small", "add-shape").suspended is suspended
    assert InFlight.for_db(db).left_over() is None  # answered: the mark is gone


def test_mark_clear_and_a_torn_mark(tmp_path):
    marker = InFlight.for_db(tmp_path / "q.db")
    assert marker.left_over() is None
    marker.mark("d", "c")
    assert json.loads(marker.path.read_text())["card"] == "c"
    marker.clear()
    assert marker.left_over() is None and not marker.path.exists()
    marker.path.write_text('{"deck": "d", "ca')  # cut off mid-write by a power cut
    assert marker.left_over() is None
    assert InFlight.for_db(":memory:").left_over() is None


def test_suspend_and_unsuspend_commands(db, capsys):
    code, out, _ = run(capsys, "suspend", "small/add-shape", "--db", str(db))
    assert code == 0 and out.strip() == "small/add-shape: suspended"
    with Store(db) as s:
        assert s.card_state("small", "add-shape").suspended
        assert [i.key for i in StudySession(s, ["small"]).queue] == [("small", "concept")]
    _, out, _ = run(capsys, "suspend", "small/add-shape", "--db", str(db))
    assert "(it already was)" in out
    _, out, _ = run(capsys, "stats", "--json", "--db", str(db))
    small = next(d for d in json.loads(out)["decks"] if d["deck"] == "small")
    assert (small["cards"], small["new"], small["suspended"]) == (2, 1, 1)  # suspended is not new
    _, table, _ = run(capsys, "stats", "--db", str(db))
    header = next(line for line in table.splitlines() if "deck" in line and "suspe" in line)  # 80 columns: "suspe…"
    row = next(line for line in table.splitlines() if "small" in line)
    cells = dict(zip([c.strip()[:5] for c in header.split("┃")], [c.strip() for c in row.split("│")]))
    assert (cells["new"], cells["suspe"]) == ("1", "1")
    code, out, _ = run(capsys, "unsuspend", "small/add-shape", "--db", str(db))
    assert code == 0 and out.strip() == "small/add-shape: back in study"
    with Store(db) as s:
        assert not s.card_state("small", "add-shape").suspended


@pytest.mark.parametrize("key, message", [
    ("nosuch/add-shape", "no deck 'nosuch'; known decks:"),
    ("small/nosuch", "no card 'nosuch' in deck 'small'"),
])
def test_suspend_of_an_unknown_card_changes_nothing(db, capsys, key, message):
    code, out, err = run(capsys, "suspend", "small/concept", key, "--db", str(db))
    assert code == 1 and out == "" and message in err and len(err.strip().splitlines()) == 1
    with Store(db) as s:
        assert not s.card_state("small", "concept").suspended
        with pytest.raises(StoreError) as exc:
            s.set_suspended(*key.split("/"))
        assert exc.value.problem is StoreProblem.NOT_FOUND


def test_limit_counts_every_card_shown(db):
    """--limit 3 with two new cards, both missed: two first looks and one repeat, not four cards."""
    with Store(db) as s:
        session = StudySession(s, ["small"], limit=3)
        shown = []
        while session.current is not None:
            assert session.total <= 3
            shown.append(session.current.key)
            session.answer(grade=1, correct=False, answer="?", seconds=1.0)  # every miss comes back again
        assert len(shown) == 3 and shown[2] == shown[0] and session.total == 3
        assert session.queue  # repeats still owed wait for another session: the limit is what was asked


def test_the_mark_names_the_card_the_worker_is_running_not_the_one_on_screen(tmp_path):
    """The current card and the next are handed over together; the next one runs second."""
    from concurrent.futures import Future

    from quizzer.in_flight import Flights, InFlight

    marker = InFlight.for_db(tmp_path / "q.db")
    flights = Flights(marker)
    current, following = Future(), Future()
    flights.track(("d", "current"), current)
    flights.track(("d", "next"), following)
    assert json.loads(marker.path.read_text())["card"] == "current"
    current.set_result("done")
    assert json.loads(marker.path.read_text())["card"] == "next"  # the worker is on the next one now
    following.set_result("done")
    assert not marker.path.exists()  # nothing in flight: nothing to blame after a crash
    flights.track(("d", "cached"), current)  # an outcome already back is never marked
    assert not marker.path.exists()
