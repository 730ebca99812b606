from __future__ import annotations

import json
import subprocess
import sys

from quizzer.cli import main
from quizzer.deck import bundled_deck_dir, load_decks
from quizzer.store import Store

from .conftest import SMALL_DECK


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_deck_reports_counts_and_keeps_progress(tmp_path, write_deck, capsys):
    db = str(tmp_path / "q.db")
    path = write_deck(SMALL_DECK)
    code, out, _ = run(capsys, "add-deck", "--db", db, "--no-check", str(path))
    assert code == 0 and "small: 2 added, 0 updated, 0 unchanged, 0 removed" in out
    with Store(db) as s:
        s.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)")
    path.write_text(SMALL_DECK.replace("torch.ones(3)", "torch.ones(2, 3)"))
    code, out, _ = run(capsys, "add-deck", "--db", db, "--no-check", str(path))
    assert "small: 0 added, 1 updated, 1 unchanged, 0 removed" in out
    assert "code changed (history kept, worth a fresh look): add-shape" in out
    with Store(db) as s:
        assert s.card_state("small", "add-shape").state.repetitions == 1


def test_add_deck_with_a_bad_file_imports_nothing(tmp_path, write_deck, capsys):
    db = str(tmp_path / "q.db")
    good = write_deck(SMALL_DECK.replace("id: small", "id: good"), "good.yaml")
    bad = write_deck("id: bad\ntitle: T\ndescription: D\ncards:\n  - {id: a, kind: shape, question: q}\n", "bad.yaml")
    code, out, err = run(capsys, "add-deck", "--db", db, "--no-check", str(good), str(bad))
    assert code == 1 and out == ""
    assert err.splitlines() == [  # no complaint about 'code': an ask alone may hold the expression
        f"{bad}:5: card 'a': a shape card needs 'ask', the expression whose outcome is the truth",
    ]
    with Store(db) as s:
        assert "good" not in s.deck_titles()


def test_fresh_machine_gets_bundled_decks_once(tmp_path, capsys):
    db = str(tmp_path / "fresh.db")
    bundled = load_decks([bundled_deck_dir()])
    code, out, _ = run(capsys, "stats", "--db", db, "--json")
    data = json.loads(out)
    assert code == 0 and {d["deck"] for d in data["decks"]} == {d.id for d in bundled}
    assert sum(d["cards"] for d in data["decks"]) == sum(len(d.cards) for d in bundled)
    assert all(d["new"] == d["cards"] and d["reviews"] == 0 for d in data["decks"])
    with Store(db) as s:
        stamp = s.db.execute("SELECT max(imported_at) FROM decks").fetchone()[0]
    run(capsys, "stats", "--db", db, "--json")
    with Store(db) as s:  # nothing re-imported when the files did not change
        assert s.db.execute("SELECT max(imported_at) FROM decks").fetchone()[0] == stamp


def test_stats_table_and_json_agree(tmp_path, write_deck, capsys):
    db = str(tmp_path / "q.db")
    run(capsys, "add-deck", "--db", db, "--no-check", str(write_deck(SMALL_DECK)))
    with Store(db) as s:
        s.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)")
    _, out, _ = run(capsys, "stats", "--db", db, "--json")
    small = next(d for d in json.loads(out)["decks"] if d["deck"] == "small")
    assert (small["cards"], small["new"], small["reviews"], small["retention_30d"]) == (2, 1, 1, 1.0)
    assert json.loads(out)["streak"] == 1
    _, table, _ = run(capsys, "stats", "--db", db)
    row = next(line for line in table.splitlines() if "small" in line)
    assert row.split("│")[2].strip() == "2" and "100%" in row


def test_quizzer_db_env_and_console_script(tmp_path):
    db = tmp_path / "env.db"
    proc = subprocess.run([sys.executable, "-m", "quizzer", "stats", "--json"], capture_output=True, text=True,
                          env={**__import__("os").environ, "QUIZZER_DB": str(db)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert db.exists() and json.loads(proc.stdout)["decks"]
