"""The bundled decks as content: size, balance, provenance and coverage of the notes' topics.

(Whether every card's truth is what its author expected is `quizzer check`, run in test_check.py.)
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from quizzer.deck import bundled_deck_dir, load_decks

DECKS = load_decks([bundled_deck_dir()])
CARDS = [c for d in DECKS for c in d.cards]
NOTES = {"000_c36d55c556e7abde.txt", "001_e4c80e29ab2cf001.txt", "002_c5d5ce7bd9dc5a25.txt",
         "003_a694254399029284.txt", "004_a641f4cafd2fa1a2.txt"}

# topic -> a pattern that some card's code, ask or tags must contain
TOPICS = {
    "broadcasting": r"broadcasting", "in-place broadcasting": r"\.add_\(|\.mul_\(",
    "view": r"\.view\(", "reshape": r"\.reshape\(", "transpose": r"\.transpose\(|\.t\(\)", "narrow": r"\.narrow\(",
    "expand": r"\.expand\(", "contiguous": r"contiguous", "memory sharing": r"data_ptr|memory-sharing",
    "from_numpy": r"from_numpy", "torch.tensor copies": r"torch\.tensor\(\w*(a|arr)\w*\)", "as_tensor": r"as_tensor",
    "requires_grad": r"requires_grad", "is_leaf": r"is_leaf", "grad_fn": r"grad_fn", "retain_graph": r"retain_graph",
    "zero_grad": r"zero_grad", "detach": r"\.detach\(", "no_grad": r"no_grad", "set_grad_enabled": r"set_grad_enabled",
    "backward with gradient": r"backward\((gradient=|torch\.)", "in-place on a leaf": r"in-place",
    "repeat": r"\.repeat\(", "unsqueeze": r"unsqueeze", "squeeze": r"\.squeeze\(", "max with dim": r"\.max\(dim=|\.max\(\d",
    "softmax dim": r"softmax\(.*dim", "nonzero": r"nonzero", "clamp": r"clamp", "cat": r"torch\.cat\(",
    "stack": r"torch\.stack\(", "bmm": r"bmm", "numel": r"numel", "item": r"\.item\(\)", "view(-1)": r"view\(-1",
    "float32 default": r"float32", "integer labels": r"long|int64", "mean of int": r"\.mean\(\)",
    "CrossEntropyLoss": r"cross_entropy|CrossEntropyLoss", "NLLLoss": r"nll_loss|NLLLoss", "log_softmax": r"log_softmax",
    "BCELoss": r"BCELoss|binary_cross_entropy\(", "BCEWithLogits": r"BCEWithLogitsLoss|binary_cross_entropy_with_logits",
    "MSELoss": r"MSELoss|mse_loss", "focal loss": r"focal",
    "train/eval": r"\.eval\(\)", "Dropout": r"Dropout", "BatchNorm": r"BatchNorm", "ModuleList": r"ModuleList",
    "forward hooks": r"register_forward_hook", "Conv2d params": r"Conv2d\(3, 64, (kernel_size=)?7",
    ".to(device)": r"\.to\(device\)", "pin_memory": r"pin_memory", "__call__": r"__call__",
    "*args/**kwargs": r"\*args", "Ellipsis": r"\.\.\.|Ellipsis", "lambda/map": r"lambda",
}


def test_at_least_150_cards_in_8_decks():
    assert len(DECKS) >= 8 and len(CARDS) >= 150


@pytest.mark.parametrize("deck", DECKS, ids=lambda d: d.id)
def test_each_deck_uses_three_kinds(deck):
    assert len({c.kind for c in deck.cards}) >= 3


def test_at_most_a_quarter_recall():
    assert Counter(c.kind for c in CARDS)["recall"] <= len(CARDS) / 4


@pytest.mark.parametrize("card", [c for c in CARDS if c.executable], ids=lambda c: f"{c.deck_id}/{c.id}")
def test_executable_card_has_expect_source_and_explain(card):
    assert card.expect is not None
    assert card.source.split()[0] in NOTES, card.source
    assert len(card.explain) >= 60, "explain should teach the rule, not restate the answer"


def test_device_dependent_cards_say_what_each_device_does():
    marked = [c for c in CARDS if isinstance(c.expect, dict)]
    assert any(c.id == "ce-float-index-target" for c in marked)
    for c in marked:
        assert set(c.expect) >= {"cpu", "cuda"}
        assert re.search(r"cuda|gpu", c.explain, re.I) and re.search(r"cpu", c.explain, re.I), c.id


def test_no_truth_depends_on_uninitialised_memory_or_unseeded_randomness():
    for c in CARDS:
        if "torch.empty" in c.code and c.kind == "value":
            pytest.fail(f"{c.deck_id}/{c.id} asks for values of torch.empty")
        assert "random.random" not in c.code and "time.time" not in c.code, c.id


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_is_covered(topic):
    pattern = re.compile(TOPICS[topic])
    assert any(pattern.search("\n".join([c.code, c.ask or "", " ".join(c.tags), c.question])) for c in CARDS), topic
