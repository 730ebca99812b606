from __future__ import annotations

from datetime import timedelta

import pytest

from quizzer.deck import parse_deck
from quizzer.session import StudySession, format_days
from quizzer.store import study_day

DECK = """\
id: s
title: S
description: D
cards:
""" + "".join(f"  - {{id: c{i}, kind: recall, question: q{i}, answer: a{i}}}\n" for i in range(6))


@pytest.fixture
def session(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    return StudySession(store, new_limit=4)


def ids(session):
    return [(i.state.card.id, i.source) for i in session.queue]


def test_new_limit_and_order(session):
    assert ids(session) == [("c0", "new"), ("c1", "new"), ("c2", "new"), ("c3", "new")]
    assert session.counts() == {"new": 4, "again": 0, "review": 0}


def test_grade_below_4_comes_back_after_three_cards(session):
    session.answer(grade=1, correct=False, answer="x", seconds=2)
    assert ids(session) == [("c1", "new"), ("c2", "new"), ("c3", "new"), ("c0", "again")]
    session.answer(grade=3, correct=True, answer="x", seconds=2)  # hard: right, but still below 4
    assert ids(session)[-1] == ("c1", "again")
    session.answer(grade=5, correct=True, answer="x", seconds=2)
    assert ("c2", "again") not in ids(session)


def test_wrong_answer_cannot_be_graded_3_or_more(session):
    with pytest.raises(ValueError, match="not allowed"):
        session.answer(grade=4, correct=False, answer="x", seconds=1)
    assert session.current.state.card.id == "c0" and session.store.reviews() == []


def test_interval_preview_like_anki(session):
    assert [session.interval_preview(g) for g in (1, 4, 5)] == ["1d", "1d", "1d"]
    session.answer(grade=1, correct=False, answer="x", seconds=1)
    for _ in range(3):
        session.answer(grade=4, correct=True, answer="x", seconds=1)
    assert session.current.state.card.id == "c0"  # the again card, same day: schedule already set
    assert session.interval_preview(5) == "1d"


def test_undo_restores_state_and_requeue(session):
    before = session.store.card_state("s", "c0")
    session.answer(grade=1, correct=False, answer="x", seconds=1)
    restored = session.undo()
    assert restored.state == before and session.store.reviews() == []
    assert ids(session) == [("c0", "new"), ("c1", "new"), ("c2", "new"), ("c3", "new")]
    assert session.undo() is None


def test_undo_refuses_when_the_newest_review_is_not_this_sessions(session):
    from quizzer.store import StoreError

    session.answer(grade=5, correct=True, answer="x", seconds=1)
    session.store.record_review("s", "c5", grade=4, correct=True, answer="other process")
    with pytest.raises(StoreError, match="the newest review is of s/c5, not s/c0; nothing undone"):
        session.undo()
    assert len(session.store.reviews()) == 2 and len(session.done) == 1
    assert session.store.card_state("s", "c5").state.repetitions == 1


def test_daily_new_limit_counts_cards_already_started_today(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    first = StudySession(store, new_limit=4)
    first.answer(grade=5, correct=True, answer="", seconds=1)
    first.answer(grade=5, correct=True, answer="", seconds=1)
    resumed = StudySession(store, new_limit=4)
    assert [i.state.card.id for i in resumed.queue] == ["c2", "c3"]


def test_due_reviews_come_before_new_and_study_ahead(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    today = study_day()
    store.db.execute("UPDATE cards SET due = ?, interval = 3, repetitions = 2 WHERE card_id = 'c5'", (today.isoformat(),))
    store.db.execute("UPDATE cards SET due = ?, interval = 3, repetitions = 2 WHERE card_id = 'c4'",
                     ((today + timedelta(days=3)).isoformat(),))
    s = StudySession(store, new_limit=1)
    assert ids(s) == [("c5", "review"), ("c0", "new")]
    s.load(ahead_days=7)
    assert ids(s)[:2] == [("c5", "review"), ("c4", "review")]


def test_suspend_and_summary(session):
    session.answer(grade=5, correct=True, answer="", seconds=3)
    session.answer(grade=1, correct=False, answer="", seconds=4)
    session.suspend()
    assert session.store.card_state("s", "c2").suspended
    summary = session.summary()
    assert (summary.reviewed, summary.right, summary.seconds, summary.streak) == (2, 1, 7, 1)
    assert summary.accuracy == 0.5 and summary.next_due == study_day() + timedelta(days=1)


def test_format_days():
    assert [format_days(d) for d in (0, 1, 6, 45, 400)] == ["today", "1d", "6d", "1.5mo", "1.1y"]
