"""A hostile environment around the database and the command line: every case gets one line naming
the path and the fix, a non-zero exit, no traceback, and the database file left byte-for-byte as it was.

Read-only cases need permissions that bind: as root they run the CLI without CAP_DAC_OVERRIDE.
A full disk is SQLite's own SQLITE_FULL, provoked by pinning `max_page_count` at the file's size.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from quizzer import store as store_module
from quizzer.cli import main
from quizzer.store import Store, StoreError, StoreProblem, classify

from ..conftest import SMALL_DECK


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_naming(err: str, path: Path) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and "Traceback" not in err
    return lines[0]


@pytest.fixture
def real_db(tmp_path, capsys) -> Path:
    """A quizzer database with the bundled decks and one review, closed cleanly."""
    db = tmp_path / "real.db"
    assert main(["stats", "--db", str(db), "--json"]) == 0
    capsys.readouterr()
    with Store(db) as s:
        deck, card = s.db.execute("SELECT deck_id, card_id FROM cards LIMIT 1").fetchone()
        s.record_review(deck, card, grade=4, correct=True, answer="x")
    return db


COMMANDS = (["stats", "--json"], ["stats"], ["study"], ["suspend", "a/b"], ["check", "some-deck-id"])


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_random_bytes_are_not_a_database(tmp_path, capsys, argv):
    db = tmp_path / "noise.db"
    db.write_bytes(os.urandom(65536))
    before = digest(db)
    code, _, err = run(capsys, *argv, "--db", str(db))
    line = one_line_naming(err, db)
    assert code == 1 and "is not a quizzer database" in line and "move it aside or pass --db" in line
    assert digest(db) == before


def test_truncated_database(real_db, capsys):
    data = real_db.read_bytes()
    real_db.write_bytes(data[: len(data) // 3])
    before = digest(real_db)
    code, _, err = run(capsys, "stats", "--json", "--db", str(real_db))
    line = one_line_naming(err, real_db)
    assert code == 1 and ("damaged" in line or "not a quizzer database" in line)
    assert digest(real_db) == before


def test_corrupt_pages(real_db, capsys):
    data = bytearray(real_db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data) - page, page):  # every page but the header's: garbage
        data[start:start + page] = os.urandom(page)
    real_db.write_bytes(bytes(data))
    before = digest(real_db)
    for argv in (["stats", "--json"], ["stats"], ["suspend", "a/b"]):
        code, _, err = run(capsys, *argv, "--db", str(real_db))
        line = one_line_naming(err, real_db)
        assert code == 1 and "damaged" in line and "move it aside" in line
        assert digest(real_db) == before


def test_directory_as_db(tmp_path, capsys):
    code, _, err = run(capsys, "stats", "--db", str(tmp_path))
    assert code == 1 and "is a directory" in one_line_naming(err, tmp_path)


def test_db_whose_parent_is_a_file(tmp_path, capsys):
    parent = tmp_path / "plain-file"
    parent.write_text("not a folder")
    db = parent / "sub" / "q.db"
    for argv in (["stats"], ["add-deck", "--no-check", str(tmp_path)]):
        code, _, err = run(capsys, *argv, "--db", str(db))
        assert code == 1 and "a part of its folder path is a file" in one_line_naming(err, db)
    assert parent.read_text() == "not a folder"


def test_full_disk_every_command(tmp_path, capsys, monkeypatch, write_deck, real_db):
    """SQLite says 'database or disk is full' on every write; reads still work."""
    connect = sqlite3.connect

    def full(*args, **kwargs):
        db = connect(*args, **kwargs)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return db

    monkeypatch.setattr(store_module.sqlite3, "connect", full)
    # big enough that it cannot fit in the free room of pages the file already has
    deck = write_deck(SMALL_DECK + "".join(f"""  - id: filler-{i}
    kind: recall
    question: Filler {i}?
    answer: {"x" * 3000}
""" for i in range(40)))
    fresh = tmp_path / "fresh.db"
    code, _, err = run(capsys, "stats", "--db", str(fresh))
    assert code == 1 and "the disk is full" in one_line_naming(err, fresh)
    code, _, err = run(capsys, "add-deck", "--no-check", str(deck), "--db", str(real_db))
    assert code == 1 and "the disk is full; free some space" in one_line_naming(err, real_db)
    code, out, _ = run(capsys, "stats", "--json", "--db", str(real_db))
    assert code == 0 and json.loads(out)["decks"]  # reading needs no space
    with Store(real_db, read_only=True) as s:
        key = s.db.execute("SELECT deck_id || '/' || card_id FROM cards LIMIT 1").fetchone()[0]
    for argv in (["suspend", key], ["unsuspend", key], ["study"]):
        code, out, err = run(capsys, *argv, "--db", str(real_db))
        assert "Traceback" not in err
        assert code == 0 or "the disk is full" in one_line_naming(err, real_db)
    monkeypatch.undo()
    with Store(real_db) as s:
        assert s.db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1
        assert "small" not in s.deck_titles()


def test_classification_of_errors():
    assert classify(sqlite3.OperationalError("database or disk is full")) is StoreProblem.DISK_FULL
    assert classify(sqlite3.OperationalError("database is locked")) is StoreProblem.BUSY
    assert classify(sqlite3.OperationalError("attempt to write a readonly database")) is StoreProblem.READ_ONLY
    assert classify(sqlite3.DatabaseError("file is not a database")) is StoreProblem.NOT_A_DATABASE
    assert classify(sqlite3.DatabaseError("database disk image is malformed")) is StoreProblem.CORRUPT
    assert classify(OSError(28, "No space left on device")) is StoreProblem.DISK_FULL
    assert classify(sqlite3.IntegrityError("CHECK constraint failed")) is StoreProblem.OTHER


@pytest.mark.parametrize("argv, needle", [
    (["study", "--new", "99999999999999999999999"], "out of range: give a number from 0 to 10,000"),
    (["study", "--new", "-5"], "out of range"),
    (["study", "--limit", "0"], "out of range: give a number from 1 to"),
    (["study", "--limit", "-3"], "out of range"),
    (["study", "--limit", "many"], "'many' is not a whole number"),
    (["stats", "--db", ""], "the path is empty"),
    (["suspend", "no-slash"], "is not DECK/CARD"),
])
def test_numbers_and_paths_mean_what_they_say(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    _, err = capsys.readouterr()
    assert exc.value.code == 2 and needle in err and "Traceback" not in err


def test_non_utf8_directory_name(tmp_path, capsys):
    folder = tmp_path / os.fsdecode(b"decks-\xff")
    folder.mkdir()
    (folder / "d.yaml").write_text(SMALL_DECK)
    db = tmp_path / "q.db"
    code, out, err = run(capsys, "add-deck", "--no-check", os.fsdecode(bytes(folder)), "--db", str(db))
    assert "Traceback" not in err
    if code == 0:
        assert "small: 2 added" in out
    else:
        assert len(err.strip().splitlines()) == 1 and "decks-" in err


def test_closed_pipe_is_quiet(capsys, real_db, monkeypatch):
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["stats", "--json", "--db", str(real_db)]) == 141


def test_closed_pipe_in_a_real_pipeline(real_db):
    proc = subprocess.run(f"{sys.executable} -m quizzer stats --json --db {real_db} | true", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


# -- read-only: as a user the permissions bind ------------------------------------------------------
def unprivileged(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python ARGV` so that file permissions bind: as root, without the capabilities that skip them."""
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"] if os.geteuid() == 0 else []
    env = {**os.environ, "HOME": str(cwd), "XDG_DATA_HOME": str(cwd / "data")}
    return subprocess.run([*prefix, sys.executable, *argv], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def permissions_bind(path: Path, cwd: Path) -> bool:
    probe = unprivileged(["-c", f"open({str(path)!r}, 'ab')"], cwd)
    return probe.returncode != 0


@pytest.fixture
def ro_db(tmp_path, capsys) -> Path:
    db = tmp_path / "q.db"
    assert main(["stats", "--db", str(db), "--json"]) == 0
    capsys.readouterr()
    db.chmod(0o444)
    if not permissions_bind(db, tmp_path):
        pytest.skip("file permissions do not bind here")
    return db


def test_read_only_file(ro_db, tmp_path):
    before = digest(ro_db)
    stats = unprivileged(["-m", "quizzer", "stats", "--json", "--db", str(ro_db)], tmp_path)
    assert stats.returncode == 0 and json.loads(stats.stdout)["decks"], stats.stderr
    deck = tmp_path / "d.yaml"
    deck.write_text(SMALL_DECK)
    add = unprivileged(["-m", "quizzer", "add-deck", "--no-check", str(deck), "--db", str(ro_db)], tmp_path)
    assert add.returncode == 1 and "cannot be written" in one_line_naming(add.stderr, ro_db)
    study = unprivileged(["-m", "quizzer", "study", "--db", str(ro_db)], tmp_path)  # grades go to the pending file
    assert study.returncode == 0 and "new today" in study.stdout, study.stderr
    assert digest(ro_db) == before


def test_read_only_folder(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    db = folder / "q.db"
    assert main(["stats", "--db", str(db), "--json"]) == 0
    capsys.readouterr()
    before = digest(db)
    folder.chmod(0o555)
    if not permissions_bind(folder / "x", tmp_path):
        pytest.skip("folder permissions do not bind here")
    for argv in (["stats", "--json"], ["stats"]):
        proc = unprivileged(["-m", "quizzer", *argv, "--db", str(db)], tmp_path)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    json_out = unprivileged(["-m", "quizzer", "stats", "--json", "--db", str(db)], tmp_path)
    assert {d["deck"] for d in json.loads(json_out.stdout)["decks"]}
    study = unprivileged(["-m", "quizzer", "study", "--db", str(db)], tmp_path)
    assert study.returncode == 1 and "cannot be written" in one_line_naming(study.stderr, db)
    assert digest(db) == before


def test_store_error_carries_its_problem(tmp_path):
    with pytest.raises(StoreError) as exc:
        Store(tmp_path)
    assert exc.value.problem is StoreProblem.IS_DIRECTORY
