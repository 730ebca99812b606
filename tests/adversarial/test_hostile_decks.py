"""Hostile deck files: each must be refused with a DeckError whose every line is `<path>:<line>: ...`
naming the offending line, quickly, without building Python objects, and without touching the
database when it comes through `quizzer add-deck`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quizzer.cli import main
from quizzer.deck import DeckError, load_deck, load_decks
from quizzer.store import Store

from ..conftest import SMALL_DECK

HEAD = "id: x\ntitle: T\ndescription: D\ncards:\n"
RECALL = "  - {id: a, kind: recall, question: q, answer: a}\n"


def _bomb() -> str:
    """The classic billion laughs: 10^9 'lol's if aliases were expanded."""
    lines = ['lol0: &lol0 "lol"']
    for i in range(1, 10):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 10) + "]")
    return HEAD + RECALL + "\n".join(lines) + "\n"


def _quadratic() -> str:
    """One 400 KB anchor referenced 1,000 times: 400 MB if expanded."""
    return HEAD + RECALL + 'big: &big "' + "x" * 400_000 + '"\nmany: [' + ", ".join(["*big"] * 1000) + "]\n"


ALL_WRONG = """\
id: 12
title: [a]
description: {a: b}
requires: [x]
cards:
  - id: [a]
    kind: 3
    question: {q: 1}
    code: [1]
    ask: {a: 1}
    choices: 7
    answer: [x]
    explain: [x]
    tags: [[a]]
    source: {a: b}
    expect: [1]
    device: 1
    timeout: "fast"
"""

# name -> (file contents, line the first problem must name, fragment of that problem's message)
# Either refusal is fine, quizzer's own or libyaml's (PyYAML >= 6.0.4 refuses deep nesting itself), as long as
# the message names the file and line.
NESTING_REFUSAL = r"(lists and mappings are nested more than 32 deep; .+|malformed YAML: exceeded maximum nesting depth.*)"

HOSTILE: dict[str, tuple[str | bytes, int, str]] = {
    "malformed: bad indentation": (HEAD + "  - id: a\n    kind: recall\n  question: q\n", 7, "malformed YAML"),
    "malformed: unclosed quote": ("id: x\ntitle: 'unterminated\ndescription: D\n", 4, "malformed YAML"),
    "malformed: tab indentation": ("id: x\n\ttitle: T\n", 2, "malformed YAML"),
    "malformed: two documents": ("id: x\n---\nid: y\n", 2, "malformed YAML"),
    "billion laughs": (_bomb(), 7, "YAML alias '*lol0' is not allowed"),
    "quadratic alias blow-up": (_quadratic(), 7, "YAML alias '*big' is not allowed"),
    "!!python/object": (HEAD.replace("D\n", "!!python/object:os.system {}\n") + RECALL, 3,
                        "tag '!!python/object:os.system' is not allowed"),
    "!!python/object/apply:os.system": (HEAD + "  - !!python/object/apply:os.system ['touch {PWNED}']\n", 5,
                                        "tag '!!python/object/apply:os.system' is not allowed"),
    "!!python/name": ("id: !!python/name:os.system\n", 1, "tag '!!python/name:os.system' is not allowed"),
    "custom local tag": ("id: !evil x\n", 1, "tag '!evil' is not allowed"),
    "!!binary": ("id: x\ntitle: !!binary aGVsbG8=\n", 2, "tag '!!binary' is not allowed"),
    "wrong types everywhere": (ALL_WRONG, 1, "field 'id' must be text, found a number"),
    "cards is a mapping": (HEAD + "  a: 1\n", 5, "'cards' must be a non-empty list"),
    "cards are scalars": (HEAD + "  - 1\n  - [a]\n  - null\n", 5, "card #1 must be a mapping of fields, found a number"),
    "key is a list": ("id: x\n? [a]\n: 1\n", 2, "field names must be plain text"),
    "timeout over the int-conversion limit": (HEAD + "  - {id: a, kind: raises, question: q, code: x, timeout: " + "9" * 5000 + "}\n",
                                              5, "'timeout' must be a number"),
    "timeout .nan": (HEAD + "  - {id: a, kind: raises, question: q, code: x, timeout: .nan}\n", 5, "'timeout' must be a number"),
    "duplicate card ids": (HEAD + RECALL + "  - {id: b, kind: recall, question: q, answer: a}\n" + RECALL, 7,
                           "id already used by the card on line 5"),
    "empty file": ("", 1, "the file is empty"),
    "only comments": ("# nothing here\n\n   \n", 1, "the file is empty"),
    "deck is a list": ("- id: x\n- title: T\n", 1, "deck must be a mapping of fields, found a list"),
    "deck is a scalar": ("just text\n", 1, "deck must be a mapping of fields, found text"),
    "non-UTF-8 byte": ((HEAD + "  - id: a\n    kind: recall\n    question: caf").encode() + b"\xe9\n", 7, "byte 0xe9 is not UTF-8"),
    "UTF-16 file": ("id: x\n".encode("utf-16"), 1, "is not UTF-8"),
    "NUL byte": ("id: x\ntitle: T\x00\n", 2, "character U+0000 is not allowed"),
    "U+202E in a card id": (HEAD + "  - id: ab\u202ecd\n    kind: recall\n    question: q\n    answer: a\n", 5,
                            "'id' 'ab\\u202ecd' must be a slug"),
    "U+200B in the deck id": ("id: x\u200b\ntitle: T\ndescription: D\ncards:\n" + RECALL, 1, "'id' 'x\\u200b' must be a slug"),
    "U+200B in a card id": (HEAD + "  - {id: \"a\u200b\", kind: recall, question: q, answer: a}\n", 5, "must be a slug"),
    "U+202E in a field name": (HEAD.replace("title", "ti\u202eelt") + RECALL, 2, "unknown field 'ti\\u202eelt'"),
    "newline in a field name": (HEAD + '  - {id: a, "kind\\nx": recall, question: q, answer: a}\n', 5, "unknown field 'kind\\nx'"),
    "newline in a kind": (HEAD + '  - {id: a, kind: "re\\ncall", question: q, answer: a}\n', 5, "kind 're\\ncall' is unknown"),
    # refused by quizzer ("nested more than 32 deep") or, since PyYAML 6.0.4, by libyaml ("maximum nesting depth")
    "nesting 100,000 deep": ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", 1, "nest"),
}


def _materialise(tmp_path: Path, name: str) -> tuple[Path, int, str]:
    content, line, fragment = HOSTILE[name]
    path = tmp_path / "hostile.yaml"
    if isinstance(content, str):
        content = content.replace("{PWNED}", str(tmp_path / "pwned")).encode()
    path.write_bytes(content)
    return path, line, fragment


def assert_refused(path: Path, line: int, fragment: str) -> DeckError:
    """Every line is `<path>:<n>: message`, one of them names `line`, and nothing invisible slips through."""
    with pytest.raises(DeckError) as info:
        load_deck(path)
    text = str(info.value)
    lines = text.splitlines()
    assert lines and len(lines) == len(info.value.problems), text
    assert all(re.match(rf"{re.escape(str(path))}:\d+: \S", m) for m in lines), lines
    assert any(m.startswith(f"{path}:{line}: ") and fragment in m for m in lines), lines
    assert all(m.isprintable() for m in lines), lines  # no raw newline, bidi override or zero-width char
    return info.value


# --------------------------------------------------------------------------------------------
# The database every CLI case runs against: a deck imported earlier, with a review in its history.
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("library")
    deck = root / "small.yaml"
    deck.write_text(SMALL_DECK)
    db = root / "q.db"
    assert main(["add-deck", "--db", str(db), "--no-check", str(deck)]) == 0
    with Store(db) as s:
        s.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)")
    return db


@pytest.fixture
def library(template_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "q.db"
    shutil.copy(template_db, db)  # the Store closed cleanly, so the WAL is checkpointed into the file
    return db


def snapshot(db: Path) -> dict[str, list[tuple]]:
    with Store(db) as s:
        return {table: [tuple(r) for r in s.db.execute(f"SELECT * FROM {table} ORDER BY rowid")]
                for table in ("decks", "cards", "reviews")}


def add_deck(db: Path, path: Path, capsys) -> tuple[int, str, str]:
    code = main(["add-deck", "--db", str(db), "--no-check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_deck_is_refused_with_its_line_and_imports_nothing(name, tmp_path, library, capsys):
    path, line, fragment = _materialise(tmp_path, name)
    before = snapshot(library)
    start = time.monotonic()
    assert_refused(path, line, fragment)
    code, out, err = add_deck(library, path, capsys)
    assert time.monotonic() - start < 2.0, "refusing a deck must not expand or build anything"
    assert code == 1 and out == ""
    assert err.splitlines() and all(m.startswith(f"{path}:") for m in err.splitlines()), err
    after = snapshot(library)
    assert after == before  # the old deck, its cards and its review history are untouched
    assert "x" not in {row[0] for row in after["decks"]}
    assert not (tmp_path / "pwned").exists()


def test_billion_laughs_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    """The alias is seen in the event stream: compose() (which would build the graph) never runs."""
    import yaml

    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    monkeypatch.setattr(yaml, "compose", lambda *a, **k: pytest.fail("composed an alias bomb"))
    start = time.monotonic()
    assert_refused(path, 7, "YAML alias '*lol0' is not allowed")
    assert time.monotonic() - start < 2.0


def test_wrong_types_report_every_field_on_its_own_line(tmp_path):
    path = tmp_path / "types.yaml"
    path.write_text(ALL_WRONG)
    error = assert_refused(path, 1, "field 'id' must be text, found a number")
    expected = {
        1: "field 'id' must be text, found a number",
        2: "field 'title' must be text, found a list",
        3: "field 'description' must be text, found a mapping",
        4: "field 'requires' must be text, found a list",
        6: "field 'id' must be text, found a list",
        7: "kind '3' is unknown",
        8: "field 'question' must be text, found a mapping",
        9: "field 'code' must be text, found a list",
        10: "field 'ask' must be text, found a mapping",
        11: "field 'choices' must be a list",
        12: "field 'answer' must be text, found a list",
        13: "field 'explain' must be text, found a list",
        14: "every item of 'tags' must be text, found a list",
        15: "field 'source' must be text, found a mapping",
        16: "'expect' must be text or a mapping",
        17: "device '1' is not supported",
        18: "'timeout' must be a number of seconds from 0.1 to 60, found fast",
    }
    problems = [(p.line, p.message) for p in error.problems]
    for line, fragment in expected.items():
        assert any(n == line and fragment in m for n, m in problems), (line, fragment, problems)


def test_python_tags_never_run(tmp_path):
    pwned = tmp_path / "pwned"
    path = tmp_path / "apply.yaml"
    path.write_text(HEAD.replace("title: T", f"title: !!python/object/apply:os.system ['touch {pwned}']") + RECALL)
    assert_refused(path, 2, "tag '!!python/object/apply:os.system' is not allowed")
    assert not pwned.exists()


def test_50_mb_file_is_refused_by_size_before_it_is_read(tmp_path, monkeypatch, library, capsys):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.write((HEAD + RECALL).encode())
        chunk = b"# padding padding padding padding padding padding padding padding padding\n" * 14_000
        while f.tell() < 50 << 20:
            f.write(chunk)
    size = path.stat().st_size
    assert size >= 50 << 20
    before = snapshot(library)

    def no_reading(*args, **kwargs):
        raise AssertionError("the deck file was opened for reading")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    start = time.monotonic()
    assert_refused(path, 1, f"file is {size:,} bytes, over the 1,048,576-byte limit")
    monkeypatch.undo()
    code, out, err = add_deck(library, path, capsys)
    assert time.monotonic() - start < 2.0
    assert code == 1 and out == "" and err.startswith(f"{path}:1: file is {size:,} bytes")
    assert snapshot(library) == before


def test_nesting_bomb_is_refused_not_a_segfault(tmp_path):
    """libyaml's composer recurses in C: ~30,000 nested '[' crash the process unless refused first.

    Run in a child process so that a regression shows as a failed test rather than a dead pytest.
    """
    path = tmp_path / "deep.yaml"
    path.write_text("id: " + "[" * 200_000 + "]" * 200_000 + "\n")
    script = "import sys; from quizzer.deck import load_deck, DeckError\ntry:\n    load_deck(sys.argv[1])\nexcept DeckError as e:\n    print(e)"
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-500:])
    assert re.fullmatch(rf"{re.escape(str(path))}:1: {NESTING_REFUSAL}", proc.stdout.strip()), proc.stdout


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_files_that_never_end_are_refused_without_reading(kind, tmp_path, library):
    """A FIFO would block open(); /dev/zero reports size 0 and never ends.

    Through the real CLI in a child process with a time limit, so a regression fails instead of hanging.
    """
    path = tmp_path / "special.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    before = snapshot(library)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "quizzer", "add-deck", "--db", str(library), "--no-check", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert time.monotonic() - start < 20
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip() == f"{path}:0: not a regular file; give the path of a .yaml deck file"
    assert snapshot(library) == before


def test_a_directory_named_like_a_deck_inside_a_deck_dir(tmp_path):
    (tmp_path / "good.yaml").write_text(SMALL_DECK)
    (tmp_path / "sub.yaml").mkdir()
    with pytest.raises(DeckError, match=r"sub.yaml:0: not a regular file"):
        load_decks([tmp_path])


def test_duplicate_deck_ids_across_files_import_nothing(tmp_path, library, capsys):
    one = tmp_path / "one.yaml"
    two = tmp_path / "two.yaml"
    one.write_text(HEAD + RECALL)
    two.write_text(HEAD + RECALL)
    before = snapshot(library)
    code = main(["add-deck", "--db", str(library), "--no-check", str(one), str(two)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.strip() == f"{two}:1: deck id 'x' is also used by {one}; give one of them another id"
    assert snapshot(library) == before


def test_one_hostile_file_among_good_ones_imports_none_of_them(tmp_path, library, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(SMALL_DECK.replace("id: small", "id: good"))
    bad, line, fragment = _materialise(tmp_path, "billion laughs")
    before = snapshot(library)
    code = main(["add-deck", "--db", str(library), "--no-check", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.startswith(f"{bad}:{line}: ") and fragment in err
    assert snapshot(library) == before
