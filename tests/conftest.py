from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from quizzer.store import Store

SMALL_DECK = """\
id: small
title: Small deck
description: Two cards for tests.
cards:
  - id: add-shape
    kind: shape
    question: Shape of x + y?
    code: |
      x = torch.ones(2, 1)
      y = torch.ones(3)
    ask: x + y
    expect: (2, 3)
    tags: [broadcasting]
  - id: concept
    kind: recall
    question: What does broadcasting do?
    answer: Stretches size-1 dimensions.
"""


@pytest.fixture
def write_deck(tmp_path: Path):
    def write(text: str, name: str = "deck.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "test.db") as s:
        yield s


@pytest.fixture(scope="session")
def runner():
    """One real CPU worker for the whole session: starting one costs a torch import."""
    from quizzer.runner import Runner

    with Runner("cpu") as r:
        r.wait_ready()
        yield r


def make_card(code: str, ask: str | None = None, kind: str = "value", **kw):
    from quizzer.deck import Card

    import hashlib
    card_id = "c-" + hashlib.sha1(f"{code}|{ask}|{kind}|{kw}".encode()).hexdigest()[:10]
    return Card(deck_id=kw.pop("deck_id", "t"), id=card_id, kind=kind, question="q", code=code, ask=ask, **kw)
