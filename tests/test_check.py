from __future__ import annotations

import json

import pytest

from quizzer.check import (
    Balance,
    answer_balance,
    check_card,
    check_cards,
    learner_text_problems,
    raises_wording_warning,
    reads_as_yes_no,
    skew_warning,
)
from quizzer.cli import main
from quizzer.deck import bundled_deck_dir, load_decks
from quizzer.runner import Outcome

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


# -- answer balance (pure: no worker) ------------------------------------------------------------
RAISED = Outcome("raised", error={"type": "RuntimeError", "message": "boom"})
RAN = Outcome("value", value=None)
TIMEOUT = Outcome("timeout", detail="timed out after 5 s")


def value(data):
    return Outcome("value", value={"type": type(data).__name__, "repr": repr(data), "data": data})


def raises_card(question="What happens?"):
    from quizzer.deck import Card

    return Card(deck_id="t", id="r", kind="raises", question=question, code="x = 1")


def test_balance_counts_raises_bool_and_choice_positions():
    pairs = [
        (make_card("x = 1", kind="raises"), RAISED),
        (make_card("x = 2", kind="raises"), RAN),
        (make_card("x = 3", kind="raises"), RAISED),
        (make_card("x = 4", kind="raises"), TIMEOUT),  # did not run: left out
        (make_card("", "True", kind="bool"), value(True)),
        (make_card("", "False", kind="bool"), value(False)),
        (make_card("", "1/0 > 0", kind="bool"), RAISED),  # neither True nor False: left out
        (make_card("", "2", kind="choice", choices=("1", "2", "3")), value(2)),
        (make_card("", "3", kind="choice", choices=("1", "2", "3")), value(3)),
        (make_card("", "22", kind="choice", choices=("11", "22")), value(22)),
        (make_card("", "4", kind="choice", choices=("1", "2")), value(4)),  # no option matches: left out
    ]
    b = answer_balance(pairs)
    assert (b.raises_cards, b.raises_raised, b.bool_cards, b.bool_true) == (3, 2, 2, 1)
    assert b.choice_right == (0, 2, 1) and b.choice_cards == 3
    assert b.raises_share == 2 / 3 and b.bool_true_share == 0.5
    assert b.summary() == "raises 2/3 raise (67%) · bool 1/2 True (50%) · choice a 0, b 2, c 1 (3 cards)"
    assert b.to_json()["choice"] == {"cards": 3, "positions": {"a": 0, "b": 2, "c": 1},
                                     "shares": {"a": 0.0, "b": 0.6667, "c": 0.3333}}


def test_empty_balance_has_no_shares_and_no_skew():
    b = answer_balance([])
    assert b.raises_share is None and b.bool_true_share is None and b.choice_shares == ()
    assert b.skews() == () and b.to_json()["raises"]["share"] is None
    assert b.summary() == "no raises, bool or choice cards ran"


def test_skew_thresholds():
    assert Balance(raises_cards=5, raises_raised=3).skews() == ()  # 60% is still fine
    [raises] = Balance(raises_cards=5, raises_raised=4).skews()
    assert raises.startswith("4/5 raises cards raise (80%") and "add cards whose snippet runs cleanly" in raises
    assert Balance(bool_cards=3, bool_true=3).skews() == ()  # too few bool cards to judge
    [bools] = Balance(bool_cards=4, bool_true=1).skews()
    assert bools.startswith("1/4 bool cards are True (25%") and "so the answer is True" in bools
    assert Balance(bool_cards=5, bool_true=2).skews() == ()
    assert Balance(choice_right=(3, 1)).skews() == ()  # 4 choice cards: too few
    [choice] = Balance(choice_right=(1, 3, 1)).skews()
    assert choice.startswith("option b is right in 3/5 choice cards (60%") and "reorder options" in choice
    assert Balance(choice_right=(2, 2, 1)).skews() == ()  # exactly 40% is fine


def test_balances_add_up_for_the_total_line():
    total = Balance(2, 1, 4, 2, (1, 2)) + Balance(1, 1, 0, 0, (0, 0, 3))
    assert total == Balance(3, 2, 4, 2, (1, 2, 3))
    assert sum([Balance(1, 1), Balance(1, 0)], Balance()) == Balance(2, 1)


def test_skew_warning_is_one_line_naming_deck_and_device():
    assert skew_warning("d", "cpu", Balance(raises_cards=2, raises_raised=1)) is None
    line = skew_warning("views", "cpu", Balance(raises_cards=3, raises_raised=3, choice_right=(5, 0)))
    assert line is not None and "\n" not in line
    assert line.startswith("deck 'views' answers lean one way on cpu") and "3/3 raises" in line and "option a" in line


# -- wording -------------------------------------------------------------------------------------
@pytest.mark.parametrize("question", [
    "Does `x.view(3)` raise?", "does it raise?", "Is this legal?", "Can you call .numpy() on it?",
    "Will `y.backward()` work?", "Would it run?", "Should this raise an error?", "Has x.grad been set?",
    "`x = torch.ones(2, 3)`. Does `x.view(6)` raise?", "Given a leaf x — is `x.add_(1)` allowed?",
    "**Does** it raise?",
])
def test_yes_no_questions_are_recognised(question):
    assert reads_as_yes_no(question)


@pytest.mark.parametrize("question", [
    "What happens when you call `x.view(3)`?", "Does it run, or what does it raise?",
    "Which error, if any, does `x.view(3)` raise?", "What does `torch.cat([a, b])` do?",
    "Isolate the failing line: what happens?", "Dose it?",
])
def test_open_questions_are_not_yes_no(question):
    assert not reads_as_yes_no(question)


def test_raises_wording_warning_only_for_raises_cards():
    warning = raises_wording_warning(raises_card("Does `x.view(3)` raise?"))
    assert warning is not None and "What happens when ...?" in warning and "Does it run, or what does it raise?" in warning
    assert raises_wording_warning(raises_card("What happens when you call `x.view(3)`?")) is None
    assert raises_wording_warning(make_card("x = 1", "x == 1", kind="bool")) is None  # bool cards are yes/no


def test_learner_text_must_not_talk_about_the_notes():
    from dataclasses import replace

    card = make_card("x = 1", "x", kind="choice", choices=("1", "see 003_a694254399029284.txt"))
    card = replace(card, question="As the notes explain, what is x?", explain="The note says so. Quizzer runs it.",
                   source="003_a694254399029284.txt §2")
    problems = learner_text_problems(card)
    assert any(p.startswith("'question' mentions 'the notes'") for p in problems)
    assert any(p.startswith("'explain' mentions 'the note says'") for p in problems)
    assert any(p.startswith("'explain' mentions the word 'quizzer'") for p in problems)
    assert any(p.startswith("'choices' mentions a note file name ('003_a694254399029284.txt')") for p in problems)
    assert len(problems) == 4  # 'source' is for authors and may name the note
    clean = replace(card, question="What is x?", explain="Python names bind values.", choices=("1", "2"))
    assert learner_text_problems(clean) == ()
    assert learner_text_problems(replace(clean, explain="The footnotes and notebook say nothing.")) == ()
    [study] = learner_text_problems(replace(clean, question="Note 004's pipeline calls `torch.nn.Adam`. What happens?"))
    assert study == "'question' mentions a study note ('Note 004'); state the rule itself"
    assert learner_text_problems(replace(clean, explain="The study note wrote it so.")) != ()


def test_bundled_decks_speak_to_the_learner():
    decks = load_decks([bundled_deck_dir()])
    bad = {f"{c.deck_id}/{c.id}": learner_text_problems(c) for d in decks for c in d.cards if learner_text_problems(c)}
    assert bad == {}


def test_bundled_raises_questions_are_not_yes_no():
    decks = load_decks([bundled_deck_dir()])
    bad = [f"{c.deck_id}/{c.id}: {c.question}" for d in decks for c in d.cards if raises_wording_warning(c)]
    assert bad == []


# -- the command ---------------------------------------------------------------------------------
def test_check_json_reports_load_errors_as_objects_and_checks_the_rest(tmp_path, write_deck, capsys):
    good = write_deck("""\
        id: g
        title: G
        cards:
          - {id: a, kind: raises, question: What happens?, ask: torch.ones(2).view(3)}
          - {id: b, kind: raises, question: Does it raise?, code: "x = 1"}
        """, "g.yaml")
    bad = write_deck("id: b\ntitle: B\ncards:\n  - {id: a, kind: shap, question: q, ask: x}\n", "b.yaml")
    code = main(["check", "--db", str(tmp_path / "q.db"), "--device", "cpu", "--json", str(good), str(bad)])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    [error] = data["errors"]
    assert error["file"] == str(bad) and error["line"] == 4 and "kind 'shap' is unknown" in error["message"]
    assert [c["card"] for c in data["cards"]] == ["a", "b"] and data["failed"] == 0
    [deck] = data["decks"]
    assert deck["deck"] == "g" and deck["file"] == str(good) and deck["cards"] == 2
    assert deck["balance"]["cpu"]["raises"] == {"cards": 2, "raised": 1, "share": 0.5}
    assert data["balance"]["cpu"]["raises"] == {"cards": 2, "raised": 1, "share": 0.5}
    assert data["cards"][1]["warnings"][0].startswith("the question reads as yes/no")
    assert data["warnings"] == 1


def test_check_json_is_json_when_nothing_loads(tmp_path, write_deck, capsys):
    bad = write_deck("id: x\ntitle: [unclosed\n", "bad.yaml")
    assert main(["check", "--db", str(tmp_path / "q.db"), "--json", str(bad), "no-such-deck"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["cards"] == [] and data["decks"] == [] and data["failed"] == 0
    assert data["errors"][0]["file"] == str(bad) and data["errors"][0]["line"] == 3
    assert data["errors"][1]["file"] is None and "no deck file or deck id 'no-such-deck'" in data["errors"][1]["message"]


def test_check_prints_balance_skew_warning_and_total(tmp_path, write_deck, capsys):
    cards = "".join(f"  - {{id: r{i}, kind: raises, question: What happens?, code: 'x = 1 / {i}'}}\n" for i in range(3))
    deck = write_deck("id: skewed\ntitle: S\ncards:\n" + cards, "s.yaml")
    args = ["check", "--db", str(tmp_path / "q.db"), "--device", "cpu", str(deck)]
    assert main(args) == 0  # warnings alone do not fail the check ...
    out = capsys.readouterr().out
    assert "answer balance on cpu:" in out
    assert "  skewed     raises 1/3 raise (33%)" in out and "  all decks  raises 1/3 raise (33%)" in out
    assert "0 warnings" in out
    skewed = write_deck(deck.read_text().replace("1 / {i}", "1 / 0").replace("1 / 1", "1 / 0").replace("1 / 2", "1 / 0"), "s.yaml")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"warning: {skewed}: deck 'skewed' answers lean one way on cpu, so guessing pays: 3/3 raises cards raise" in out
    assert "3 cards (3 run on cpu): 3 ok, 0 flagged, 1 warning" in out
    assert main([*args, "--strict"]) == 1  # ... unless asked to


def test_check_json_is_json_when_the_worker_will_not_start(tmp_path, write_deck, capsys, monkeypatch):
    import quizzer.cli
    from quizzer.runner import WorkerFailed

    def no_worker(device, quiet=False):
        raise WorkerFailed("the worker could not start: torch is not installed; pip install torch")

    monkeypatch.setattr(quizzer.cli, "_runners", no_worker)
    deck = write_deck("id: g\ntitle: G\ncards:\n  - {id: a, kind: value, question: q, ask: 1 + 1}\n", "g.yaml")
    assert main(["check", "--db", str(tmp_path / "q.db"), "--json", str(deck)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == [{"file": None, "line": None,
                               "message": "the worker could not start: torch is not installed; pip install torch"}]
    assert data["cards"] == [] and data["failed"] == 0


def test_check_text_mode_names_load_errors_and_fails(tmp_path, write_deck, capsys):
    good = write_deck("id: g\ntitle: G\ncards:\n  - {id: a, kind: value, question: q, ask: 1 + 1, expect: '2'}\n", "g.yaml")
    bad = write_deck("id: b\ntitle: B\ncards:\n  - {id: a, kind: value, question: q, code: ''}\n", "b.yaml")
    assert main(["check", "--db", str(tmp_path / "q.db"), "--device", "cpu", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{bad}:4: card 'a': a value card needs 'ask', the expression whose outcome is the truth"]
    assert "ok   g/a  [cpu] 2" in captured.out
    assert "1 cards (1 run on cpu): 1 ok, 0 flagged, 0 warnings; 1 problem stopped decks from loading or running (above)" in captured.out
