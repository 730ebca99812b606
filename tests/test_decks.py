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
NOTE_TITLES = {"PyTorch catalogue notes", "PyTorch and Python Q&A notes", "PyTorch study notes (60-minute blitz)",
               "PyTorch basics (Dive into Deep Learning)", "PyTorch experience"}

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
    title, sep, section = card.source.partition(" § ")
    assert title in NOTE_TITLES and sep and section, card.source  # a human reference, never a file name
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


# One spelling per concept: "weakest topics" must not be split across shape/shapes or zero_grad/zero-grad.
VOCABULARY = {
    'accumulation', 'add', 'alias', 'argmax', 'args-kwargs', 'autograd', 'backward', 'backward-compat', 'batchnorm',
    'bce', 'bmm', 'bool', 'broadcasting', 'call', 'cat', 'chain-rule', 'clamp', 'closure', 'comparison',
    'contiguous', 'conv', 'conversion', 'copy', 'creation', 'cross-entropy', 'cuda', 'data', 'dataset', 'default',
    'deprecation', 'detach', 'device', 'dim', 'division', 'dropout', 'dtype', 'elementwise', 'ellipsis', 'empty',
    'empty-tensor', 'error', 'expand', 'focal-loss', 'forward', 'freezing', 'grad', 'grad-fn', 'hook',
    'ignore-index', 'in-place', 'indexing', 'inference-mode', 'item', 'iterator', 'jacobian', 'keepdim', 'lambda',
    'leaf', 'linear', 'log-softmax', 'logit', 'loss', 'magic-method', 'map', 'matmul', 'max', 'memory-sharing',
    'module', 'modulelist', 'mse', 'narrow', 'nll-loss', 'nn', 'no-grad', 'nonzero', 'numel', 'numerics', 'numpy',
    'optimizer', 'out', 'parameter', 'permute', 'pin-memory', 'probability', 'random', 'reduction', 'repeat',
    'requires-grad', 'reshape', 'retain-graph', 'scalar', 'sequential', 'serialization', 'set-grad-enabled', 'sgd',
    'shape', 'silent-bug', 'soft-label', 'softmax', 'squeeze', 'stack', 'state-dict', 'stride', 'sum', 'tensor',
    'tensor-vs-tensor', 'to', 'train-eval', 'transpose', 'type-hint', 'type-promotion', 'unsqueeze', 'view',
    'warning', 'zero-grad',
}


def test_tags_come_from_one_vocabulary():
    used = {t for c in CARDS for t in c.tags}
    assert used <= VOCABULARY, f"new or misspelled tags: {sorted(used - VOCABULARY)}; add them here on purpose"
    for tag in VOCABULARY:
        assert tag == tag.lower() and "_" not in tag, tag
        assert not (tag.endswith("s") and tag[:-1] in VOCABULARY), f"{tag} and {tag[:-1]} are one topic"


def test_the_answers_cannot_be_guessed():
    """Always answering "it raises" or "True" or "b" must not pay: the bundled decks are balanced."""
    raises = [c for c in CARDS if c.kind == "raises"]
    raising = [c for c in raises if c.expect_for("cpu") not in ("runs", "ok", "no error")]
    assert len(raising) <= 0.6 * len(raises), f"{len(raising)} of {len(raises)} raises cards raise"
    bools = [c.expect_for("cpu") for c in CARDS if c.kind == "bool" and c.expect_for("cpu") in ("True", "False")]
    assert 0.4 <= bools.count("True") / len(bools) <= 0.6
