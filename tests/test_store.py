from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from quizzer.deck import parse_deck
from quizzer.scheduler import Grade, next_states
from quizzer.settings import SettingError
from quizzer.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError, study_day

from .conftest import SMALL_DECK

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def local_noon(day_offset: int = 0) -> datetime:
    """Noon local time, so the study day is unambiguous whatever the machine's time zone."""
    base = datetime(2026, 3, 2, 12, 0).astimezone()
    return base + timedelta(days=day_offset)


def deck(text: str = SMALL_DECK):
    return parse_deck(text.encode(), "small.yaml")


def test_schema_is_current_with_wal_and_foreign_keys(store):
    assert store.version == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_import_then_reimport_is_idempotent(store):
    [first] = store.import_decks([deck()])
    assert (first.added, first.updated, first.unchanged) == (["add-shape", "concept"], [], [])
    [again] = store.import_decks([deck()])
    assert (again.added, again.updated, again.unchanged, again.removed) == ([], [], ["add-shape", "concept"], [])


def test_reimport_keeps_progress_and_reports_code_changes(store):
    store.import_decks([deck()])
    store.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)", now=local_noon())
    edited = SMALL_DECK.replace("torch.ones(3)", "torch.ones(5)").replace("What does broadcasting do?", "Explain broadcasting.")
    edited = edited.replace("  - id: concept", "  - id: fresh\n    kind: recall\n    question: new?\n    answer: yes\n  - id: concept")
    [report] = store.import_decks([deck(edited)])
    assert report.added == ["fresh"] and sorted(report.updated) == ["add-shape", "concept"]
    assert report.code_changed == ["add-shape"]
    state = store.card_state("small", "add-shape")
    assert state.state.repetitions == 1 and state.state.interval == 1
    assert state.card.code.endswith("torch.ones(5)\n")
    assert len(store.reviews("small", "add-shape")) == 1


def test_removed_card_keeps_history_and_comes_back(store):
    store.import_decks([deck()])
    store.record_review("small", "concept", grade=5, correct=True, answer="", now=local_noon())
    without = SMALL_DECK.split("  - id: concept")[0]
    [report] = store.import_decks([deck(without)])
    assert report.removed == ["concept"]
    assert [c.card.id for c in store.new_cards()] == ["add-shape"]
    assert len(store.reviews("small", "concept")) == 1
    [back] = store.import_decks([deck()])
    assert back.updated == ["concept"] and store.card_state("small", "concept").state.repetitions == 1


def test_failed_import_changes_nothing(store, monkeypatch):
    store.import_decks([deck()])
    before = store.db.execute("SELECT deck_id, card_id, data FROM cards ORDER BY card_id").fetchall()
    other = deck(SMALL_DECK.replace("id: small", "id: other"))
    broken = deck(SMALL_DECK.replace("Shape of x + y?", "changed"))
    object.__setattr__(broken.cards[1], "kind", None)  # violates NOT NULL halfway through the import
    with pytest.raises(sqlite3.IntegrityError):
        store.import_decks([other, broken])
    assert store.db.execute("SELECT deck_id, card_id, data FROM cards ORDER BY card_id").fetchall() == before
    assert list(store.deck_titles()) == ["small"]


def test_review_moves_schedule_once_per_day_and_logs_every_answer(store):
    store.import_decks([deck()])
    r1 = store.record_review("small", "add-shape", grade=1, correct=False, answer="(3, 2)", seconds=4.0,
                             device="cpu", torch_version="2.13.0", now=local_noon())
    assert r1.scheduled and r1.state.repetitions == 0 and r1.state.lapses == 1
    assert r1.due == study_day(local_noon()) + timedelta(days=1)
    r2 = store.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)", now=local_noon())
    assert not r2.scheduled and r2.state == r1.state and r2.due == r1.due
    rows = store.reviews("small", "add-shape")
    assert [(r["verdict"], r["grade"], r["scheduled"]) for r in rows] == [("wrong", 1, 1), ("right", 4, 0)]
    assert rows[0]["device"] == "cpu" and rows[0]["torch_version"] == "2.13.0" and rows[0]["seconds"] == 4.0
    r3 = store.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)", now=local_noon(1))
    assert r3.scheduled and r3.state.repetitions == 1 and r3.due == study_day(local_noon(1)) + timedelta(days=1)


def test_undo_restores_state_and_removes_row(store):
    store.import_decks([deck()])
    store.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)", now=local_noon())
    before = store.card_state("small", "add-shape")
    store.record_review("small", "add-shape", grade=5, correct=True, answer="(2, 3)", now=local_noon(1))
    assert store.undo_last_review() == ("small", "add-shape")
    assert store.card_state("small", "add-shape") == before
    assert len(store.reviews()) == 1
    assert store.undo_last_review() == ("small", "add-shape")
    assert store.card_state("small", "add-shape").is_new and store.undo_last_review() is None


def test_due_and_new_queues(store):
    store.import_decks([deck()])
    assert [c.card.id for c in store.new_cards()] == ["add-shape", "concept"]
    store.record_review("small", "add-shape", grade=4, correct=True, answer="x", now=local_noon())
    today = study_day(local_noon())
    assert store.due_cards(today) == []
    assert [c.card.id for c in store.due_cards(today + timedelta(days=1))] == ["add-shape"]
    assert store.new_cards_introduced(today) == 1 and store.next_due_date() == today + timedelta(days=1)
    store.set_suspended("small", "add-shape")
    assert store.due_cards(today + timedelta(days=1)) == []


def test_study_day_rolls_over_at_configured_hour():
    late = datetime(2026, 3, 2, 2, 30).astimezone()
    assert study_day(late, start_hour=0) == date(2026, 3, 2)
    assert study_day(late, start_hour=4) == date(2026, 3, 1)


def test_stats_and_streak(store):
    store.import_decks([deck()])
    for offset, (card, ok) in enumerate([("add-shape", True), ("concept", False), ("add-shape", True)]):
        store.record_review("small", card, grade=4 if ok else 1, correct=ok, answer="", now=local_noon(offset))
    today = study_day(local_noon(2))
    [s] = store.deck_stats(today)
    assert (s["cards"], s["new"], s["reviews"], s["learning"], s["mature"]) == (2, 0, 3, 2, 0)
    assert s["retention_30d"] == round(2 / 3, 4)
    assert s["due_today"] == 1  # concept lapsed on day 1, due day 2
    assert store.streak(today) == 3
    assert store.streak(today + timedelta(days=1)) == 3  # today still open
    assert store.streak(today + timedelta(days=2)) == 0


def test_migration_from_v1_keeps_data(tmp_path):
    path = tmp_path / "old.db"
    with Store.__new__(Store) as old:  # build a version-1 database by hand, as an old quizzer would have
        old.path, old.db = path, sqlite3.connect(path, isolation_level=None)
        old.db.row_factory = sqlite3.Row
        old.migrate(target=1)
        old.db.execute("INSERT INTO decks VALUES ('small', 'S', 'D', NULL, 'p', 'user', 'h', 'now')")
        old.db.execute("""INSERT INTO cards (deck_id, card_id, position, kind, data, content_hash, code_hash, interval, repetitions, due)
                          VALUES ('small', 'a', 0, 'recall', '{"id": "a", "kind": "recall", "question": "q", "answer": "x"}', 'c', 'k', 6, 2, '2026-03-08')""")
        old.db.execute("""INSERT INTO reviews (deck_id, card_id, at, day, answer, verdict, grade)
                          VALUES ('small', 'a', 't', '2026-03-02', '', 'right', 4)""")
        assert old.version == 1
    with Store(path) as new:
        assert new.version == SCHEMA_VERSION == len(MIGRATIONS)
        state = new.card_state("small", "a")
        assert state.state.interval == 6 and state.last_day == date(2026, 3, 2)
        assert new.reviews()[0]["scheduled"] == 1


def test_refuses_database_from_newer_quizzer(tmp_path):
    path = tmp_path / "new.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(Exception, match="newer quizzer"):
        Store(path)


# -- the store persists the chosen state, and refuses what it must ------------------------------


D0 = date(2026, 3, 2)


def test_store_persists_the_chosen_option_and_returns_the_new_row(store):
    store.import_decks([deck()])
    chosen = next_states(store.card_state("small", "concept").schedule, D0)[Grade.GOOD]
    r = store.record_review("small", "concept", grade=4, correct=True, answer="", chosen=chosen)
    assert (r.day, r.scheduled, r.state, r.due) == (D0, True, chosen.after.state, D0 + timedelta(days=1))
    assert store.card_state("small", "concept").schedule == chosen.after


def test_store_refuses_an_option_computed_from_an_older_row(store):
    store.import_decks([deck()])
    stale = next_states(store.card_state("small", "concept").schedule, D0)[Grade.EASY]
    store.record_review("small", "concept", grade=1, correct=False, answer="other session", day=D0)
    before = store.card_state("small", "concept")
    with pytest.raises(StoreError, match="graded elsewhere since it was shown; nothing recorded"):
        store.record_review("small", "concept", grade=5, correct=True, answer="", chosen=stale)
    assert store.card_state("small", "concept") == before and len(store.reviews()) == 1


@pytest.mark.parametrize("grade, correct", [(3.5, True), (5, False), (2, True), (6, True), (-1, False)])
def test_store_refuses_grades_that_are_not_integers_or_contradict_the_verdict(store, grade, correct):
    store.import_decks([deck()])
    with pytest.raises(ValueError):
        store.record_review("small", "concept", grade=grade, correct=correct, answer="", day=D0)
    assert store.reviews() == [] and store.card_state("small", "concept").is_new


def test_schedule_moves_once_per_study_day_and_never_backwards(store):
    # Tokyo -> Los Angeles: a card graded on 3 March (Tokyo) is graded again on 2 March (LA)
    store.import_decks([deck()])
    first = store.record_review("small", "concept", grade=4, correct=True, answer="", day=date(2026, 3, 3))
    west = store.record_review("small", "concept", grade=5, correct=True, answer="", day=date(2026, 3, 2))
    assert first.scheduled and not west.scheduled and west.state == first.state and west.due == first.due
    assert store.card_state("small", "concept").last_day == date(2026, 3, 3)
    nxt = store.record_review("small", "concept", grade=4, correct=True, answer="", day=date(2026, 3, 4))
    assert nxt.scheduled and nxt.state.interval == 6 and nxt.due == date(2026, 3, 10)
    assert store.latest_review_day() == date(2026, 3, 4)


def test_undo_restores_the_last_day_too(store):
    store.import_decks([deck()])
    store.record_review("small", "concept", grade=4, correct=True, answer="", day=D0)
    after_first = store.card_state("small", "concept").schedule
    store.record_review("small", "concept", grade=4, correct=True, answer="", day=D0 + timedelta(days=1))
    assert store.card_state("small", "concept").last_day == D0 + timedelta(days=1)
    store.undo_last_review()
    assert store.card_state("small", "concept").schedule == after_first and after_first.last_day == D0


def test_drill_cards_are_those_whose_last_answer_today_was_below_4(store):
    store.import_decks([deck()])
    store.record_review("small", "add-shape", grade=1, correct=False, answer="", day=D0)
    store.record_review("small", "concept", grade=3, correct=True, answer="", day=D0)
    assert [c.card.id for c in store.drill_cards(D0)] == ["add-shape", "concept"]
    store.record_review("small", "add-shape", grade=4, correct=True, answer="", day=D0)  # drilled to good
    assert [c.card.id for c in store.drill_cards(D0)] == ["concept"]
    assert store.drill_cards(D0 + timedelta(days=1)) == [] and store.drill_cards(D0, ["other"]) == []
    store.set_suspended("small", "concept")
    assert store.drill_cards(D0) == []


@pytest.mark.parametrize("value", ["4.5", "24", "-1", "four", "4am"])
def test_invalid_day_start_is_refused_not_read_as_midnight(monkeypatch, value):
    monkeypatch.setenv("QUIZZER_DAY_STARTS_AT", value)
    with pytest.raises(SettingError, match=f"QUIZZER_DAY_STARTS_AT='{value}' is not accepted: use a whole hour from 0 to 23"):
        study_day(datetime(2026, 3, 2, 2, 30).astimezone())


def test_valid_day_start_moves_the_rollover(monkeypatch):
    late = datetime(2026, 3, 2, 2, 30).astimezone()
    monkeypatch.setenv("QUIZZER_DAY_STARTS_AT", "4")
    assert study_day(late) == date(2026, 3, 1)
    monkeypatch.setenv("QUIZZER_DAY_STARTS_AT", "")
    assert study_day(late) == date(2026, 3, 2)




@settings(max_examples=40, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1)), st.lists(st.tuples(st.integers(-3, 60_000), st.integers(0, 5)), max_size=25))
def test_any_grades_on_any_days_are_recorded_without_an_exception(start, steps):
    with Store(":memory:") as s:
        s.import_decks([deck()])
        day = start
        for gap, grade in steps:
            day = date.fromordinal(min(max(day.toordinal() + gap, 1), date.max.toordinal()))
            r = s.record_review("small", "concept", grade=grade, correct=grade >= 3, answer="", day=day)
            assert r.day == day and 1 <= r.state.interval <= 36_500 and r.due is not None
        assert len(s.reviews()) == len(steps)
