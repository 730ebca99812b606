"""The registry of card kinds: one entry per kind, and every place that explains kinds agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from quizzer.answers import Unparsed
from quizzer.deck import bundled_deck_dir, load_decks
from quizzer.kinds import KINDS, Control, Kind, parse_answer, placeholder, spec
from quizzer.tui.screens.help import answer_syntax

DOC = (Path(__file__).parent.parent / "docs" / "deck-format.md").read_text(encoding="utf-8")


def test_every_kind_has_one_entry():
    assert set(KINDS) == set(Kind) and all(KINDS[k].kind is k for k in KINDS)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kinds_examples_appear_in_the_help_screen_and_the_deck_format_doc(kind):
    for example in spec(kind).examples:
        assert f"`{example}`" in answer_syntax(), (kind, example)
        assert f"`{example}`" in DOC, f"docs/deck-format.md does not show {example!r} for {kind}"


@pytest.mark.parametrize("kind", [k for k in Kind if KINDS[k].control is Control.TYPE])
def test_every_typed_example_reads_as_an_answer_of_its_kind(kind):
    for example in spec(kind).examples:
        parse_answer(kind, example)  # raises Unparsed if the help teaches a spelling that is refused


def bundled_cards():
    return [c for d in load_decks(sorted(bundled_deck_dir().glob("*.yaml"))) for c in d.cards]


def test_a_placeholder_never_gives_the_answer_away():
    """The example in the answer box is never what the card expects, on any device."""
    checked = 0
    for card in bundled_cards():
        if spec(card.kind).control is not Control.TYPE or not card.expect:
            continue
        expects = tuple(card.expect.values()) if isinstance(card.expect, dict) else (card.expect,)
        shown = placeholder(card.kind, expects)
        example_part = shown.split("e.g.", 1)[-1]
        for expect in expects:
            try:
                truth = parse_answer(card.kind, expect)
            except Unparsed:
                continue
            for example in spec(card.kind).examples:
                if example in example_part.replace(" or ", ",").replace(" — ", ",").split(","):
                    assert parse_answer(card.kind, example) != truth, (card.key, shown)
        checked += 1
    assert checked > 100


def test_placeholder_skips_an_example_that_is_the_cards_answer():
    assert "(2, 3)" not in placeholder("shape", ("(2, 3)",)) and "(2, 3)" in placeholder("shape", ("(5, 1)",))
    assert "float16" not in placeholder("dtype", ("torch.half",))
    assert "KeyError" not in placeholder("raises", ("KeyError",)) and "TypeError" in placeholder("raises", ("KeyError",))
