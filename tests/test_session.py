from __future__ import annotations

from datetime import date, timedelta

import pytest

from quizzer.deck import parse_deck
from quizzer.scheduler import Grade
from quizzer.session import StudySession, format_days
from quizzer.store import StoreError, study_day

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


def test_options_preview_intervals_like_anki(session):
    assert [o.interval for o in session.options(False)] == ["1d", "1d", "1d"]
    assert [int(o.grade) for o in session.options(True)] == [3, 4, 5]
    session.answer(grade=1, correct=False, answer="x", seconds=1)
    for _ in range(3):
        session.answer(grade=4, correct=True, answer="x", seconds=1)
    assert session.current.state.card.id == "c0"  # the again card, same day: schedule already set
    assert {o.interval for o in session.options(True)} == {"1d"}


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


# -- options, one study day, drills that survive, topic sessions ---------------------------------



D0 = date(2026, 3, 2)
TAGGED = """\
id: t
title: T
description: D
cards:
""" + "".join(f"  - {{id: {c}, kind: recall, question: q, answer: a, tags: [{tag}]}}\n"
              for c, tag in [("v0", "views"), ("v1", "views"), ("v2", "views"), ("v3", "views"), ("v4", "views"),
                             ("a0", "autograd"), ("v5", "views")])


def make_due(store, card_id, *, interval=6, repetitions=2, ease=2.5, last_day=D0 - timedelta(days=6)):
    store.db.execute("UPDATE cards SET due = ?, interval = ?, repetitions = ?, ease = ?, last_day = ? WHERE card_id = ?",
                     ((last_day + timedelta(days=interval)).isoformat(), interval, repetitions, ease,
                      last_day.isoformat(), card_id))


def test_options_carry_grade_label_interval_and_default(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    make_due(store, "c0")  # interval 6 from 24 Feb, due today, 2 March
    s = StudySession(store, new_limit=0, day=D0)
    right = s.options(True, seconds=12)
    assert [(o.grade, o.label, o.interval, o.default) for o in right] == [
        (Grade.HARD, "hard", "15d", False), (Grade.GOOD, "good", "15d", True), (Grade.EASY, "easy", "16d", False)]
    assert [(o.label, o.interval, o.default) for o in s.options(False)] == [
        ("blackout", "1d", False), ("wrong", "1d", True), ("almost", "1d", False)]
    recall = s.options(None, seconds=1)  # the learner judges: all six grades, default good, never easy
    assert [o.grade for o in recall] == list(Grade) and [o.grade for o in recall if o.default] == [Grade.GOOD]


def test_answer_persists_the_chosen_option(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    make_due(store, "c0")
    s = StudySession(store, new_limit=0, day=D0)
    easy = s.options(True)[2]
    review = s.answer(easy, correct=True, answer="", seconds=3)
    assert review.state == easy.scheduled.after.state and review.due == date(2026, 3, 18)
    assert store.card_state("s", "c0").schedule == easy.scheduled.after


def test_answer_refuses_a_card_graded_elsewhere_and_shows_it_again_fresh(session):
    option = session.options(None)[4]
    session.store.record_review("s", "c0", grade=1, correct=False, answer="other window", day=session.today)
    with pytest.raises(StoreError, match="graded elsewhere"):
        session.answer(option, answer="", seconds=1)
    assert len(session.store.reviews()) == 1 and session.current.state.card.id == "c0"
    assert not session.options(None)[4].scheduled.moves  # re-read: today's grade already moved it


def test_recall_grade_decides_the_verdict_and_float_grades_are_refused(session):
    with pytest.raises(ValueError):
        session.answer(3.5, answer="", seconds=1)
    review = session.answer(2, answer="", seconds=1)
    assert review.verdict == "wrong" and session.store.reviews()[0]["grade"] == 2


def test_a_session_keeps_the_study_day_it_started_with(store, monkeypatch):
    # a 3 at 23:59 sets interval 15; its in-session repeat at 00:01 must not count as the next day's review
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    make_due(store, "c0")
    s = StudySession(store, new_limit=0, day=D0)
    first = s.answer(3, correct=True, answer="", seconds=1)
    assert (first.day, first.state.interval, first.due) == (D0, 15, date(2026, 3, 17))
    monkeypatch.setattr("quizzer.store.study_day", lambda *a, **k: D0 + timedelta(days=1))  # midnight passes
    assert s.current.key == ("s", "c0") and s.current.source == "again"
    repeat = s.answer(4, correct=True, answer="", seconds=1)
    assert (repeat.day, repeat.scheduled, repeat.state.interval) == (D0, False, 15)


def test_a_new_session_never_starts_before_the_newest_logged_day(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    ahead = study_day() + timedelta(days=1)  # graded in Tokyo; now in Los Angeles, a day "earlier"
    store.record_review("s", "c0", grade=4, correct=True, answer="", day=ahead)
    assert StudySession(store).today == ahead


def test_same_day_drills_survive_quitting_and_a_topic_session(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    s = StudySession(store, new_limit=3, day=D0)
    s.answer(1, answer="", seconds=1)  # c0 wrong
    s.answer(3, answer="", seconds=1)  # c1 hard: right, but below 4
    s.answer(5, answer="", seconds=1)  # c2 easy
    resumed = StudySession(store, new_limit=3, day=D0)  # quit and come back the same day
    assert ids(resumed) == [("c0", "again"), ("c1", "again")]
    assert not resumed.options(None)[5].scheduled.moves  # a drill is a same-day repeat
    resumed.answer(4, answer="", seconds=1)
    assert ids(StudySession(store, new_limit=3, day=D0)) == [("c1", "again")]
    assert ids(StudySession(store, new_limit=3, day=D0 + timedelta(days=1)))[:2] == [("c0", "review"), ("c1", "review")]


def test_topic_session_studies_due_and_failed_first_skips_right_today_and_keeps_the_new_limit(store):
    store.import_decks([parse_deck(TAGGED.encode(), "t.yaml")])
    s = StudySession(store, new_limit=3, day=D0)
    assert ids(s) == [("v0", "new"), ("v1", "new"), ("v2", "new")]
    s.answer(1, answer="", seconds=1)  # v0 failed today
    s.answer(5, answer="", seconds=1)  # v1 right today
    make_due(store, "v3")  # a views card due today
    s.load_tags(["views"])
    # failed first, then due, then new cards only up to the day's limit (1 of 3 left); v1 not re-drilled
    assert ids(s) == [("v0", "again"), ("v3", "review"), ("v2", "new")]
    assert s.new_held_back == 2  # v4, v5: offered explicitly, not queued
    s.load(extra_new=2)  # the learner asked for more
    assert ids(s)[2:] == [("v2", "new"), ("v4", "new"), ("v5", "new")] and s.new_available() == 3


def test_study_ahead_daily_with_easy_grades_does_not_inflate_or_overflow(store):
    # the crash: one card studied every day with grade 5 raised OverflowError on day 13
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    intervals = []
    for offset in range(60):
        s = StudySession(store, deck_ids=["s"], new_limit=1 if offset == 0 else 0, day=D0 + timedelta(days=offset))
        s.load(ahead_days=7)
        item = next(i for i in s.queue if i.key == ("s", "c0"))
        s.queue.remove(item)
        s.queue.insert(0, item)
        intervals.append(s.answer(5, answer="", seconds=1).state.interval)
    assert intervals == [1] + [6] * 59


def test_new_batch_is_what_the_learner_asked_for(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    assert StudySession(store, new_limit=6).new_batch == 6 and StudySession(store, new_limit=0).new_batch == 10


def test_a_drill_that_is_also_due_is_queued_once_in_order(store):
    store.import_decks([parse_deck(DECK.encode(), "s.yaml")])
    make_due(store, "c3", last_day=D0 - timedelta(days=7))  # due yesterday
    make_due(store, "c4", last_day=D0 - timedelta(days=6))  # due today
    store.record_review("s", "c4", grade=5, correct=True, answer="", day=D0)  # c4 is right today: not due
    store.record_review("s", "c0", grade=1, correct=False, answer="", day=D0)  # c0 due tomorrow, drilled today
    store.db.execute("UPDATE cards SET due = ? WHERE card_id = 'c0'", (D0.isoformat(),))  # and also due today
    # c0 and c4 have no earlier log rows, so both count as today's new cards: a limit of 3 leaves one
    assert ids(StudySession(store, new_limit=3, day=D0)) == [("c0", "again"), ("c3", "review"), ("c1", "new")]


def test_undo_takes_back_a_suspend_too(session):
    first = session.current.key
    session.suspend()
    assert session.store.card_state(*first).suspended and session.current.key != first
    restored = session.undo()
    assert restored.key == first and session.current.key == first
    assert not session.store.card_state(*first).suspended
    assert session.undo() is None  # nothing else to take back
