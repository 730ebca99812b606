"""Shared fixtures for the attacks: a database holding the small test deck."""

from __future__ import annotations

import pytest

from quizzer.cli import main

from ..conftest import SMALL_DECK


@pytest.fixture
def db(tmp_path, write_deck, capsys):
    """A quizzer database with the two-card test deck imported (test files may define their own)."""
    path = tmp_path / "q.db"
    assert main(["add-deck", "--no-check", "--db", str(path), str(write_deck(SMALL_DECK))]) == 0
    capsys.readouterr()
    return path
