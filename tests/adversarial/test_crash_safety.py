"""Hours of a learner's work must survive a crash: kill a real study session with SIGKILL mid-way.

A child process runs the Textual study app headless (its Pilot presses the keys a learner would)
and prints `recorded <card>` each time the screen has moved on past a graded card, i.e. each time
the learner was shown that the grade was taken. A second child reads stats in a loop the whole
time. The parent kills the study child with SIGKILL at a random moment, then checks the database.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from quizzer.deck import parse_deck
from quizzer.store import Store

CARDS = 40
DECK = "id: crash\ntitle: Crash\ndescription: Recall cards for the crash test.\ncards:\n" + "".join(
    f"  - {{id: c{i:02d}, kind: recall, question: q{i}, answer: a{i}}}\n" for i in range(CARDS))

STUDY = textwrap.dedent("""
    import asyncio, sys
    from quizzer.session import StudySession
    from quizzer.store import Store
    from quizzer.tui.app import QuizzerApp

    async def main(db):
        store = Store(db)
        app = QuizzerApp(store, StudySession(store, ["crash"], new_limit=1000))
        async with app.run_test(size=(80, 24)) as pilot:
            while app.session.current is not None:
                card = app.session.current.state.card.id
                await pilot.press("space")
                await pilot.press("5")
                while app.session.current is not None and app.session.current.state.card.id == card:
                    await pilot.pause(0.005)
                print("recorded", card, flush=True)

    asyncio.run(main(sys.argv[1]))
""")

STATS = textwrap.dedent("""
    import json, sys, time
    from quizzer.cli import main
    errors, reads = [], 0
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        try:
            main(["stats", "--db", sys.argv[1], "--json"])
            reads += 1
        except Exception as exc:  # "database is locked" would land here
            errors.append(repr(exc))
    print(json.dumps({"reads": reads, "errors": errors}), file=sys.stderr)
""")


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "crash.db"
    with Store(path) as s:
        s.import_decks([parse_deck(DECK.encode(), "crash.yaml")])
    return path


def test_sigkill_mid_session_loses_no_recorded_grade(db):
    marker = f"crash-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "QUIZZER_CRASH_MARK": marker}
    stats = subprocess.Popen([sys.executable, "-c", STATS, str(db), "12"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    study = subprocess.Popen([sys.executable, "-c", STUDY, str(db)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    recorded: list[str] = []
    kill_after = 7 + int(time.time_ns() % 11)  # somewhere in the middle of the deck
    deadline = time.monotonic() + 60
    try:
        while len(recorded) < kill_after and time.monotonic() < deadline:
            ready, _, _ = select.select([study.stdout], [], [], 1.0)
            line = study.stdout.readline() if ready else ""
            if ready and not line:
                break  # the child ended early: the assertions below say why
            if line:
                recorded.append(line.split()[1])
    finally:  # always: a study child left behind would spin forever
        os.killpg(study.pid, signal.SIGKILL)
        study.wait(timeout=10)
    assert study.returncode == -signal.SIGKILL
    assert len(recorded) == kill_after, study.stderr.read()[-2000:]

    assert _survivors(marker) == [], "the worker must die with the app it served"

    _, report = stats.communicate(timeout=60)
    concurrent = json.loads(report.strip().splitlines()[-1])
    assert concurrent["errors"] == [] and concurrent["reads"] > 0

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    in_db = [r[0] for r in con.execute("SELECT card_id FROM reviews ORDER BY id")]
    # every grade the learner saw taken is there; at most one more (killed after commit, before repaint)
    assert in_db[: len(recorded)] == recorded and len(in_db) <= len(recorded) + 1
    states = dict(con.execute("SELECT card_id, repetitions FROM cards"))
    assert all(states[c] == 1 for c in in_db)
    con.close()

    with Store(db) as s:  # and the next session resumes where the schedule says
        assert [c.card.id for c in s.new_cards(["crash"])][0] == f"c{len(in_db):02d}"


def _survivors(marker: str, wait: float = 5.0) -> list[int]:
    """Processes still carrying the test's environment marker (the study app's worker, say)."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
