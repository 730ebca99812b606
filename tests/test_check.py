from __future__ import annotations

import json


from quizzer.check import check_card, check_cards
from quizzer.cli import main
from quizzer.deck import bundled_deck_dir, load_decks

from .conftest import make_card


def flags(card, runner):
    return check_card(card, {"cpu": runner}).flags


def test_good_card_has_no_flags(runner):
    assert flags(make_card("x = torch.ones(2, 1) + torch.ones(3)", "x", kind="shape", expect="(2, 3)"), runner) == []


def test_wrong_expect_is_flagged(runner):
    [flag] = flags(make_card("x = torch.ones(2, 1) + torch.ones(3)", "x", kind="shape", expect="(3, 2)"), runner)
    assert flag == "cpu: expect '(3, 2)' disagrees: it gave shape (2, 3)"


def test_unreadable_expect_is_flagged(runner):
    [flag] = flags(make_card("x = 1", "x == 1", kind="bool", expect="perhaps"), runner)
    assert "cannot be read" in flag


def test_broken_cards_are_flagged(runner):
    [flag] = flags(make_card("y = undefined_name + 1", "y", kind="shape"), runner)
    assert flag == "cpu: broken: the snippet fails with NameError: name 'undefined_name' is not defined"
    [flag] = flags(make_card("x = 3", "x", kind="shape"), runner)
    assert "broken: a shape card's ask must give a tensor" in flag
    [flag] = flags(make_card("x = torch.ones(2)", "x", kind="choice", choices=("(3,)", "(4,)")), runner)
    assert "no option of the choice card matches" in flag


def test_nondeterminism_and_timeouts_are_flagged(runner):
    [flag] = flags(make_card("import time", "time.perf_counter_ns()", kind="value"), runner)
    assert flag.startswith("cpu: nondeterministic: first ")
    [flag] = flags(make_card("while True: pass", kind="raises", timeout=0.3), runner)
    assert flag == "cpu: timeout: timed out after 0.3 s"


def test_per_device_expect_uses_the_device_entry(runner):
    card = make_card("torch.nn.functional.cross_entropy(torch.zeros(2, 3), torch.zeros(2))", kind="raises",
                     expect={"cpu": "RuntimeError", "cuda": "NotImplementedError"})
    assert flags(card, runner) == []


def test_every_bundled_deck_passes_on_cpu(runner):
    decks = load_decks([bundled_deck_dir()])
    reports = check_cards([c for d in decks for c in d.cards], {"cpu": runner})
    bad = {f"{r.card.deck_id}/{r.card.id}": r.flags for r in reports if r.flags}
    assert bad == {}
    assert sum(1 for r in reports if r.outcomes) >= 100


def test_check_command_exit_codes_and_json(tmp_path, write_deck, capsys):
    good = write_deck("""\
        id: g
        title: G
        description: D
        cards:
          - {id: a, kind: value, question: q, code: "x = 2", ask: x * 3, expect: "6"}
        """, "g.yaml")
    assert main(["check", "--db", str(tmp_path / "q.db"), "--device", "cpu", "--json", str(good)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] == 0 and data["cards"][0]["outcomes"]["cpu"]["summary"] == "6"
    bad = write_deck(good.read_text().replace('expect: "6"', 'expect: "7"'), "b.yaml")
    assert main(["check", "--db", str(tmp_path / "q.db"), "--device", "cpu", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:5: cpu: expect '7' disagrees: it gave 6" in out and "1 cards (1 run on cpu): 0 ok, 1 flagged" in out


def test_add_deck_refuses_broken_cards_and_imports_nothing(tmp_path, write_deck, capsys):
    bad = write_deck("""\
        id: b
        title: B
        description: D
        cards:
          - {id: ok, kind: value, question: q, code: "x = 2", ask: x, expect: "2"}
          - {id: broken, kind: shape, question: q, code: "y = nope", ask: y}
        """)
    db = str(tmp_path / "q.db")
    assert main(["add-deck", "--db", db, str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:6: card 'broken': cpu: broken: the snippet fails with NameError" in err
    assert "nothing imported" in err
    from quizzer.store import Store
    with Store(db) as s:
        assert "b" not in s.deck_titles()
