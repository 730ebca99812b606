"""A grade must survive a database that cannot take it: busy (another process holds the write lock),
read-only, or on a full disk. `write_grade` gives up within its budget, saves the grade beside the
database, and the next start applies it once, with the moment it was given.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import pytest

from quizzer.cli import main
from quizzer.pending import Grade, WriteOutcome, apply_pending, pending_paths, record, write_grade
from quizzer.store import Store, StoreError, StoreProblem

from .test_bad_environment import permissions_bind, unprivileged

HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(40)
""")


def a_grade(**overrides) -> Grade:
    fields = {"deck_id": "small", "card_id": "add-shape", "grade": 4, "correct": True, "answer": "(2, 3)",
              "at": datetime(2026, 11, 30, 21, 15, 0, 123000, tzinfo=timezone.utc), "seconds": 3.5, "device": "cpu"}
    return Grade(**(fields | overrides))


def reviews(path) -> list[tuple]:
    with Store(path) as s:
        return [tuple(r) for r in s.db.execute("SELECT card_id, grade, answer, at FROM reviews ORDER BY id")]


def test_committed_when_the_database_is_free(db):
    with Store(db) as s:
        result = write_grade(s, a_grade())
    assert result.outcome is WriteOutcome.COMMITTED and result.review.grade == 4
    assert reviews(db) == [("add-shape", 4, "(2, 3)", "2026-11-30T21:15:00.123+00:00")]
    assert not pending_paths(db)[0].exists()


def test_busy_database_saves_the_grade_quickly_and_the_next_start_applies_it(db, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Store(db) as s:
            started = time.monotonic()
            result = write_grade(s, a_grade(), budget_s=0.5)
            took = time.monotonic() - started
        assert result.outcome is WriteOutcome.PENDING and result.problem is StoreProblem.BUSY
        assert took < 2.0  # never the 15 s busy timeout
        assert "is busy" in result.message and "applied at the next start" in result.message
        saved = pending_paths(db)[0].read_text().splitlines()
        assert len(saved) == 1 and json.loads(saved[0])["reason"] == "busy"
    finally:
        holder.kill()
        holder.wait()
    assert reviews(db) == []
    code, out, err = main(["stats", "--json", "--db", str(db)]), *capsys.readouterr()
    assert code == 0 and "applied 1 grade saved while the database was busy" in err and json.loads(out)["decks"]
    assert reviews(db) == [("add-shape", 4, "(2, 3)", "2026-11-30T21:15:00.123+00:00")]
    assert not pending_paths(db)[0].exists()
    main(["stats", "--json", "--db", str(db)])
    assert "applied" not in capsys.readouterr().err and len(reviews(db)) == 1


def test_a_busy_database_still_opens_quickly_with_saved_grades_and_stale_decks(db, capsys):
    """Neither an updated bundled deck nor a saved grade makes a command wait out the busy timeout."""
    pending_paths(db)[0].write_text(a_grade().to_json(StoreProblem.BUSY) + "\n")
    with Store(db) as s:
        s.db.execute("UPDATE decks SET source_hash = 'stale'")  # every bundled deck looks changed
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        code, out, err = main(["stats", "--json", "--db", str(db)]), *capsys.readouterr()
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert code == 0 and json.loads(out)["decks"] and "applied" not in err
    assert took < 5  # not 15 s
    assert pending_paths(db)[0].exists() and reviews(db) == []  # kept for the next start
    main(["stats", "--json", "--db", str(db)])
    assert "applied 1 grade saved while the database was busy" in capsys.readouterr().err


def test_disk_full_saves_the_grade(db):
    with Store(db) as s:
        pages = s.db.execute("PRAGMA page_count").fetchone()[0]
        s.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL on the next new page
        results = [write_grade(s, a_grade(answer="x" * 5000, at=a_grade().at.replace(second=i)), budget_s=0.2)
                   for i in range(20)]
        assert s.db.in_transaction is False  # nothing left half-open
    outcomes = [r.outcome for r in results]
    assert WriteOutcome.PENDING in outcomes
    full = next(r for r in results if r.outcome is WriteOutcome.PENDING)
    assert full.problem is StoreProblem.DISK_FULL and "the disk is full" in full.message
    committed = outcomes.count(WriteOutcome.COMMITTED)
    with Store(db) as s:
        applied = apply_pending(s)
    assert applied.by_reason == {StoreProblem.DISK_FULL: 20 - committed}
    assert applied.describe() == [f"applied {20 - committed} grade{'s' * (20 - committed != 1)} saved while the disk was full"]
    assert len(reviews(db)) == 20


def test_injected_disk_full_error(db):
    def full(store, grade):
        raise sqlite3.OperationalError("database or disk is full")

    with Store(db) as s:
        result = write_grade(s, a_grade(), write=full)
    assert result.outcome is WriteOutcome.PENDING and result.problem is StoreProblem.DISK_FULL
    with Store(db) as s:
        assert apply_pending(s).total == 1
    assert len(reviews(db)) == 1


def test_a_custom_writer_is_retried_while_busy(db):
    calls = []

    def flaky(store, grade):  # busy twice, then through: as a second writer that lets go
        calls.append(grade)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return record(store, grade)

    with Store(db) as s:
        result = write_grade(s, a_grade(), write=flaky)
    assert result.outcome is WriteOutcome.COMMITTED and len(calls) == 3 and len(reviews(db)) == 1
    assert not pending_paths(db)[0].exists()


def test_an_unknown_card_is_an_error_not_a_saved_grade(db):
    with Store(db) as s, pytest.raises(StoreError, match="no card small/nope"):
        write_grade(s, a_grade(card_id="nope"))
    assert not pending_paths(db)[0].exists()


def test_saved_grades_of_a_removed_card_are_dropped_and_torn_lines_ignored(db):
    path = pending_paths(db)[0]
    line = a_grade(card_id="gone").to_json(StoreProblem.BUSY)
    path.write_text(line + "\n" + a_grade().to_json(StoreProblem.BUSY) + "\n" + '{"deck_id": "sm')
    with Store(db) as s:
        applied = apply_pending(s)
    assert applied.total == 1 and applied.dropped == 1 and not path.exists()
    assert "dropped 1 saved grade" in applied.describe()[-1]


def test_read_only_database_file(db, tmp_path):
    db.chmod(0o444)
    if not permissions_bind(db, tmp_path):
        pytest.skip("file permissions do not bind here")
    script = textwrap.dedent(f"""
        import json, sys
        from datetime import datetime, timezone
        from quizzer.pending import Grade, write_grade
        from quizzer.store import Store
        store = Store({str(db)!r})
        grade = Grade("small", "add-shape", 4, True, "(2, 3)", datetime(2026, 11, 30, 21, 0, tzinfo=timezone.utc))
        r = write_grade(store, grade, budget_s=0.3)
        print(json.dumps([r.outcome.value, r.problem.value if r.problem else None, r.message]))
    """)
    proc = unprivileged(["-c", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    outcome, problem, message = json.loads(proc.stdout)
    assert (outcome, problem) == ("pending", "read-only") and str(db) in message
    assert pending_paths(db)[0].exists()
    db.chmod(0o644)
    with Store(db) as s:
        assert apply_pending(s).describe() == ["applied 1 grade saved while the database was read-only"]
    assert len(reviews(db)) == 1


def test_nowhere_to_save(db, monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setattr("quizzer.pending.pending_paths", lambda _db: [blocker / "a", blocker / "b"])
    with Store(db) as s:
        def locked(store, grade):
            raise sqlite3.OperationalError("database is locked")

        result = write_grade(s, a_grade(), budget_s=0.1, write=locked)
    assert result.outcome is WriteOutcome.LOST and "could not be saved anywhere" in result.message
    assert os.fspath(blocker) in result.message
