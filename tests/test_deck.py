from __future__ import annotations

import pytest

from quizzer.deck import DeckError, bundled_deck_dir, load_deck, load_decks, parse_deck

from .conftest import SMALL_DECK


def test_valid_deck_loads_with_fields(write_deck):
    deck = load_deck(write_deck(SMALL_DECK))
    assert deck.id == "small" and deck.title == "Small deck"
    assert [c.id for c in deck.cards] == ["add-shape", "concept"]
    card = deck.cards[0]
    assert card.kind == "shape" and card.ask == "x + y" and card.expect == "(2, 3)"
    assert card.code == "x = torch.ones(2, 1)\ny = torch.ones(3)\n"
    assert card.tags == ("broadcasting",) and card.timeout == 5.0 and card.line == 5
    assert deck.cards[1].answer == "Stretches size-1 dimensions."


def test_per_device_expect_and_timeout(write_deck):
    deck = load_deck(write_deck("""\
        id: d
        title: T
        description: D
        cards:
          - id: ce
            kind: raises
            question: q
            code: torch.nn.functional.cross_entropy(torch.zeros(2, 3), torch.zeros(2))
            expect: {cpu: RuntimeError, cuda: NotImplementedError}
            timeout: 12
        """))
    card = deck.cards[0]
    assert card.expect_for("cpu") == "RuntimeError" and card.expect_for("cuda") == "NotImplementedError"
    assert card.timeout == 12.0


def test_content_hash_tracks_wording_and_code_hash_tracks_code(write_deck):
    a = load_deck(write_deck(SMALL_DECK)).cards[0]
    b = load_deck(write_deck(SMALL_DECK.replace("Shape of x + y?", "What shape?"))).cards[0]
    c = load_deck(write_deck(SMALL_DECK.replace("torch.ones(3)", "torch.ones(4)"))).cards[0]
    assert a.content_hash != b.content_hash and a.code_hash == b.code_hash
    assert a.code_hash != c.code_hash


BAD_DECKS = {
    "malformed yaml": ("id: x\ntitle: [unclosed\n", 3, "malformed YAML"),
    "missing field": ("id: x\ndescription: D\ncards:\n  - {id: a, kind: recall, question: q, answer: a}\n", 1, "missing field 'title'"),
    "unknown deck field": ("id: x\ntitle: T\ndescription: D\nauthor: me\ncards:\n  - {id: a, kind: recall, question: q, answer: a}\n", 4, "unknown field 'author'"),
    "unknown card field with hint": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: recall\n    qustion: q\n    answer: a\n", 7, "did you mean 'question'"),
    "unknown kind": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: shap\n    question: q\n    code: x = 1\n    ask: x\n", 6, "kind 'shap' is unknown"),
    "wrong type": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: recall\n    question: q\n    answer: a\n    tags: broadcasting\n", 9, "'tags' must be a list"),
    "duplicate card ids": ("id: x\ntitle: T\ndescription: D\ncards:\n  - {id: a, kind: recall, question: q, answer: a}\n  - {id: a, kind: recall, question: q2, answer: b}\n", 6, "already used by the card on line 5"),
    "choice without choices": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: choice\n    question: q\n    code: x = 1\n    ask: x\n", 5, "needs 'choices'"),
    "alias bomb": ("id: x\ntitle: &t T\ndescription: *t\ncards: []\n", 3, "alias '*t' is not allowed"),
    "python tag": ("id: x\ntitle: !!python/object/apply:os.system ['echo hi']\ndescription: D\ncards: []\n", 2, "tag '!!python/object/apply:os.system' is not allowed"),
    "bad slug": ("id: My Deck\ntitle: T\ndescription: D\ncards:\n  - {id: a, kind: recall, question: q, answer: a}\n", 1, "must be a slug"),
    "empty cards": ("id: x\ntitle: T\ndescription: D\ncards: []\n", 4, "non-empty list"),
    "recall without answer": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: recall\n    question: q\n", 5, "needs an 'answer'"),
    "shape without ask": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: shape\n    question: q\n    code: x = 1\n", 5, "needs 'ask'"),
    "syntax error in code": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: raises\n    question: q\n    code: |\n      x = 1\n      y = (\n", 10, "'code' is not valid Python"),
    "timeout out of range": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: raises\n    question: q\n    code: x = 1\n    timeout: 600\n", 9, "'timeout' must be a number"),
    "deck is a list": ("- id: x\n- title: T\n", 1, "deck must be a mapping"),
    "duplicate key": ("id: x\nid: y\ntitle: T\ndescription: D\ncards:\n  - {id: a, kind: recall, question: q, answer: a}\n", 2, "appears twice"),
    "requires not a torch range": ("id: x\ntitle: T\ndescription: D\nrequires: numpy>=1\ncards:\n  - {id: a, kind: recall, question: q, answer: a}\n", 4, "is not a torch version range"),
    "bad device pin": ("id: x\ntitle: T\ndescription: D\ncards:\n  - id: a\n    kind: raises\n    question: q\n    code: x = 1\n    device: tpu\n", 9, "device 'tpu' is not supported"),
}


@pytest.mark.parametrize("name", BAD_DECKS)
def test_bad_deck_names_file_line_and_fix(write_deck, name):
    text, line, fragment = BAD_DECKS[name]
    path = write_deck(text)
    with pytest.raises(DeckError) as info:
        load_deck(path)
    messages = str(info.value).splitlines()
    assert any(m.startswith(f"{path}:{line}: ") and fragment in m for m in messages), messages


def test_empty_file_and_non_utf8(write_deck, tmp_path):
    with pytest.raises(DeckError, match=r"deck.yaml:1: the file is empty"):
        load_deck(write_deck(""))
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"id: x\ntitle: caf\xe9\n")
    with pytest.raises(DeckError, match=r"latin1.yaml:2: byte 0xe9 is not UTF-8; save the file as UTF-8"):
        load_deck(bad)


def test_file_over_size_cap_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (2 << 20))
    with pytest.raises(DeckError, match=r"big.yaml:1: file is 2,097,152 bytes, over the 1,048,576-byte limit"):
        load_deck(big)


def test_every_problem_is_reported_not_just_the_first(write_deck):
    with pytest.raises(DeckError) as info:
        load_deck(write_deck("id: x\ntitle: T\ndescription: D\ncards:\n  - {id: a, kind: nope, question: q}\n  - {id: B, kind: recall, question: q, answer: a}\n"))
    assert len(info.value.problems) == 2


def test_duplicate_deck_ids_across_files(write_deck):
    write_deck(SMALL_DECK, "one.yaml")
    path = write_deck(SMALL_DECK, "two.yaml")
    with pytest.raises(DeckError, match="deck id 'small' is also used by"):
        load_decks([path.parent])


def test_bundled_decks_all_load():
    decks = load_decks([bundled_deck_dir()])
    assert decks, "no bundled decks found"
    assert len({d.id for d in decks}) == len(decks)


def test_parse_without_a_file():
    deck = parse_deck(SMALL_DECK.encode(), "inline")
    assert deck.path == "inline" and len(deck.cards) == 2


def test_requires_is_compared_with_the_workers_torch(write_deck):
    from quizzer.deck import requires_problem

    deck = load_deck(write_deck(SMALL_DECK.replace("cards:", "requires: torch>=2.2,<3\ncards:")))
    assert requires_problem(deck, "2.13.0+cpu") is None
    assert requires_problem(deck, "2.1.2") == (
        "deck 'small' was written for torch>=2.2,<3; this worker has torch 2.1.2, so outcomes may differ")
    assert requires_problem(load_deck(write_deck(SMALL_DECK)), "1.0") is None


# -- a welcoming format ---------------------------------------------------------------------------
def _minimal_deck_from_the_doc() -> str:
    """The YAML block right after the doc's 'minimal-deck' marker, exactly as an author would copy it."""
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "deck-format.md").read_text()
    after = doc.split("<!-- minimal-deck", 1)[1]
    return after.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_minimal_deck_in_the_doc_loads(write_deck):
    text = _minimal_deck_from_the_doc()
    deck = load_deck(write_deck(text))
    [card] = deck.cards
    card_lines = text.split("cards:\n", 1)[1].strip().splitlines()
    assert len(card_lines) == 4 and card.code == "" and card.ask and card.kind == "shape"
    assert deck.description == ""


def test_code_may_be_empty_or_absent_when_ask_runs(write_deck):
    deck = load_deck(write_deck("""\
        id: d
        title: T
        cards:
          - {id: empty-code, kind: dtype, question: q, code: "", ask: torch.ones(2).dtype}
          - {id: no-code, kind: bool, question: q, ask: torch.ones(2).is_contiguous()}
          - {id: ask-raises, kind: raises, question: q, ask: torch.ones(2).view(3)}
          - {id: code-raises, kind: raises, question: q, code: torch.ones(2).view(3)}
        """))
    assert [c.code for c in deck.cards] == ["", "", "", "torch.ones(2).view(3)"]
    assert deck.cards[2].ask == "torch.ones(2).view(3)"


def test_a_raises_card_still_needs_something_to_run(write_deck):
    path = write_deck("id: d\ntitle: T\ncards:\n  - {id: a, kind: raises, question: q, code: ''}\n")
    with pytest.raises(DeckError) as info:
        load_deck(path)
    assert str(info.value) == f"{path}:4: card 'a': a raises card needs 'code' (statements) or 'ask' (an expression) to run"


def test_a_kind_without_ask_says_where_the_expression_goes(write_deck):
    path = write_deck("id: d\ntitle: T\ncards:\n  - {id: a, kind: shape, question: q, code: x = torch.ones(2)}\n")
    with pytest.raises(DeckError, match=r"needs 'ask'.*put the setup in 'code' and the expression in 'ask'"):
        load_deck(path)


def test_tags_are_words_normalised_to_one_topic(write_deck):
    deck = load_deck(write_deck("""\
        id: d
        title: T
        cards:
          - id: a
            kind: recall
            question: q
            answer: a
            tags: [zero_grad, Zero-Grad, torch.compile, BatchNorm2d, 2024, Größe]
        """))
    assert deck.cards[0].tags == ("zero-grad", "torch.compile", "batchnorm2d", "2024", "größe")


@pytest.mark.parametrize("tag", ["two words", "-leading", "trailing.", "a/b", "''"])
def test_tags_that_are_not_one_word_are_refused(write_deck, tag):
    path = write_deck(f"id: d\ntitle: T\ncards:\n  - id: a\n    kind: recall\n    question: q\n    answer: a\n    tags: [ok, {tag}]\n")
    with pytest.raises(DeckError) as info:
        load_deck(path)
    [message] = str(info.value).splitlines()
    assert message.startswith(f"{path}:8: card 'a': tag ") and "must be one word of letters, digits" in message


def test_normalise_tag():
    from quizzer.deck import normalise_tag

    assert normalise_tag("Zero_Grad") == normalise_tag("zero-grad") == "zero-grad"
    assert normalise_tag("torch.compile") == "torch.compile"


def test_good_decks_load_beside_bad_ones(write_deck):
    from quizzer.deck import load_decks_and_problems

    good = write_deck(SMALL_DECK, "good.yaml")
    bad = write_deck("id: bad\ntitle: T\ncards:\n  - {id: a, kind: shap, question: q, ask: x}\n", "bad.yaml")
    twin = write_deck(SMALL_DECK, "twin.yaml")
    decks, problems = load_decks_and_problems([good.parent])
    assert [d.path for d in decks] == [str(good)]
    assert [(p.path, p.line) for p in problems] == [(str(bad), 4), (str(twin), 1)]
    assert problems[0].to_json() == {"file": str(bad), "line": 4, "message": problems[0].message}
    assert "kind 'shap' is unknown" in problems[0].message
