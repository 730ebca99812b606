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
