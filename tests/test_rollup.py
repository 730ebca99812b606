"""The stats rollups (migration 4) must always equal a recount from the review log and the cards.

The recount here is plain Python over `Store.reviews()` and the cards table, independent of the
rollups' SQL. Random histories of reviews, undos, suspensions and re-imports that change tags or
remove cards are replayed with fixed seeds; the same holds for a database written at schema 3 and
then migrated.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from quizzer.deck import parse_deck
from quizzer.stats import dashboard
from quizzer.store import SCHEMA_VERSION, Store, StoreError, study_day

TAGS = ["shapes", "autograd", "dtypes", "devices"]
DECK_IDS = ["alpha", "beta"]
CARDS_PER_DECK = 5
START = datetime(2026, 3, 2, 12, 0)


def deck_yaml(deck_id: str, rng: random.Random, keep: set[str] | None = None) -> bytes:
    """A deck whose cards get random tags (duplicates and no tags included); `keep` drops the others."""
    lines = [f"id: {deck_id}", f"title: {deck_id.title()}", "description: Cards for the rollup tests.", "cards:"]
    for n in range(CARDS_PER_DECK):
        card_id = f"{deck_id[0]}{n}"
        if keep is not None and card_id not in keep:
            continue
        tags = [rng.choice(TAGS) for _ in range(rng.choice((0, 1, 2, 3)))]
        lines.append(f"  - {{id: {card_id}, kind: recall, question: q{n}, answer: x, tags: [{', '.join(tags)}]}}")
    return ("\n".join(lines) + "\n").encode()


def import_random_decks(store: Store, rng: random.Random, drop_some: bool = False) -> None:
    decks = []
    for deck_id in DECK_IDS:
        keep = None
        if drop_some:
            keep = {f"{deck_id[0]}{n}" for n in range(CARDS_PER_DECK) if rng.random() < 0.8}
        decks.append(parse_deck(deck_yaml(deck_id, rng, keep), f"{deck_id}.yaml"))
    store.import_decks(decks)


def recount(store: Store) -> dict[str, Counter]:
    """Every rollup, counted again from the review log and the cards table."""
    cards = {(r["deck_id"], r["card_id"]): r for r in store.db.execute("SELECT * FROM cards")}
    tags = {key: set(store.card_state(*key).card.tags) for key in cards}
    days: Counter = Counter()
    seconds: dict[str, float] = defaultdict(float)
    deck_days: Counter = Counter()
    tag_days: Counter = Counter()
    for r in store.reviews():
        days[r["day"]] += 1
        seconds[r["day"]] += r["seconds"] or 0.0
        right = r["verdict"] == "right"
        deck_days[(r["deck_id"], r["day"], "reviews")] += 1
        if r["scheduled"]:
            deck_days[(r["deck_id"], r["day"], "scheduled")] += 1
            deck_days[(r["deck_id"], r["day"], "right")] += right
            for tag in tags[(r["deck_id"], r["card_id"])]:
                tag_days[(r["day"], tag, "scheduled")] += 1
                tag_days[(r["day"], tag, "right")] += right
    due: Counter = Counter()
    ease: Counter = Counter()
    for c in cards.values():
        if c["due"] is not None and not c["removed"]:
            ease[(c["ease"], c["interval"])] += 1
            if not c["suspended"]:
                due[c["due"]] += 1
    return {"days": days, "seconds": Counter({d: round(s, 6) for d, s in seconds.items()}),
            "deck_days": +deck_days, "tag_days": +tag_days, "due": due, "ease": ease}


def rollups(store: Store) -> dict[str, Counter]:
    """The rollup tables as stored, in the shape `recount` returns."""
    q = store.db.execute
    deck_days: Counter = Counter()
    for deck_id, day, reviews, scheduled, right in q("SELECT * FROM review_deck_days"):
        deck_days.update({(deck_id, day, "reviews"): reviews, (deck_id, day, "scheduled"): scheduled,
                          (deck_id, day, "right"): right})
    tag_days: Counter = Counter()
    for day, tag, scheduled, right in q("SELECT * FROM review_tag_days"):
        tag_days.update({(day, tag, "scheduled"): scheduled, (day, tag, "right"): right})
    return {"days": Counter(dict(q("SELECT day, reviews FROM review_days").fetchall())),
            "seconds": Counter({d: round(s, 6) for d, s in q("SELECT day, seconds FROM review_days")}),
            "deck_days": +deck_days, "tag_days": +tag_days,
            "due": Counter(dict(q("SELECT due, cards FROM due_days").fetchall())),
            "ease": Counter({(e, i): n for e, i, n in q("SELECT ease, interval, cards FROM ease_intervals")})}


def no_empty_rows(store: Store) -> None:
    """Rows exist only while their count is positive: a day undone to nothing leaves no trace."""
    for table, column in (("review_days", "reviews"), ("review_deck_days", "reviews"), ("review_tag_days", "scheduled"),
                          ("due_days", "cards"), ("ease_intervals", "cards")):
        assert store.db.execute(f"SELECT count(*) FROM {table} WHERE {column} <= 0").fetchone()[0] == 0, table


def assert_rollups_match(store: Store) -> None:
    expected, actual = recount(store), rollups(store)
    for name in expected:
        assert actual[name] == expected[name], name
    no_empty_rows(store)


def random_history(store: Store, rng: random.Random, steps: int, start: datetime) -> datetime:
    """Reviews (same-day repeats included), undos, suspensions and tag-changing re-imports."""
    now = start
    keys = [(d, f"{d[0]}{n}") for d in DECK_IDS for n in range(CARDS_PER_DECK)]
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.6:
            if rng.random() < 0.3:
                now += timedelta(days=rng.choice((1, 1, 2, 5)))
            grade = rng.randint(0, 5)
            deck_id, card_id = rng.choice(keys)
            store.record_review(deck_id, card_id, grade=grade, correct=grade >= 3, answer="",
                                seconds=rng.choice((None, round(rng.uniform(1, 30), 1))), now=now.astimezone())
        elif roll < 0.8:
            try:
                store.undo_last_review()
            except StoreError:
                pass
        elif roll < 0.9:
            try:
                store.set_suspended(*rng.choice(keys), rng.random() < 0.5)
            except StoreError:  # a card the last re-import dropped cannot be suspended
                pass
        else:
            import_random_decks(store, rng, drop_some=rng.random() < 0.5)
    return now


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_rollups_equal_a_recount_after_random_reviews_undos_and_reimports(store, seed, monkeypatch):
    monkeypatch.delenv("QUIZZER_DAY_STARTS_AT", raising=False)
    rng = random.Random(seed)
    import_random_decks(store, rng)
    now = START
    for _ in range(4):
        now = random_history(store, rng, 60, now)
        assert_rollups_match(store)
    assert store.reviews(), "the history should leave some reviews"
    while store.undo_last_review() is not None:  # undo everything: the review rollups empty out
        pass
    assert_rollups_match(store)
    assert store.db.execute("SELECT count(*) FROM review_days").fetchone()[0] == 0


def test_rollups_follow_a_card_deleted_with_its_history(store):
    rng = random.Random(7)
    import_random_decks(store, rng)
    random_history(store, rng, 80, START)
    with store.transaction() as db:  # nothing in quizzer deletes cards today; a cascade must still be counted
        db.execute("DELETE FROM cards WHERE deck_id = 'alpha'")
    assert_rollups_match(store)


def test_rollups_follow_reviews_rewritten_in_place(store):
    """Any write path is covered, not only record_review and undo: here rows are edited directly."""
    rng = random.Random(9)
    import_random_decks(store, rng)
    random_history(store, rng, 120, START)
    ids = [r["id"] for r in store.reviews()]
    with store.transaction() as db:
        for review_id in rng.sample(ids, min(15, len(ids))):
            db.execute("UPDATE reviews SET verdict = CASE verdict WHEN 'right' THEN 'wrong' ELSE 'right' END, "
                       "scheduled = 1 - scheduled, day = date(day, ?), seconds = ? WHERE id = ?",
                       (f"{rng.choice((-1, 0, 1))} days", rng.choice((None, 4.5)), review_id))
    assert_rollups_match(store)


def store_at_version(path: Path, version: int) -> Store:
    """A database as an older quizzer left it: schema `version`, no later migration applied."""
    old = Store.__new__(Store)
    old.path, old.db = path, sqlite3.connect(path, isolation_level=None)
    old.db.row_factory = sqlite3.Row
    old.db.execute("PRAGMA foreign_keys = ON")
    old.migrate(target=version)
    return old


@pytest.mark.parametrize("seed", [5, 6])
def test_migration_builds_rollups_equal_to_a_recount(tmp_path, seed, monkeypatch):
    monkeypatch.delenv("QUIZZER_DAY_STARTS_AT", raising=False)
    rng = random.Random(seed)
    path = tmp_path / "old.db"
    with store_at_version(path, 3) as old:  # the schema before the rollups (migration 4)
        import_random_decks(old, rng)
        now = random_history(old, rng, 150, START)
        assert not old.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'review_days'").fetchone()
        before = len(old.reviews())
    assert before > 0
    with Store(path) as new:
        assert new.version == SCHEMA_VERSION
        assert len(new.reviews()) == before
        assert_rollups_match(new)
        random_history(new, rng, 100, now)  # and the triggers carry on from the migrated state
        assert_rollups_match(new)


def test_dashboard_reads_the_same_numbers_as_the_log(store, monkeypatch):
    """End to end: the dashboard's totals and retention agree with the review log itself."""
    monkeypatch.delenv("QUIZZER_DAY_STARTS_AT", raising=False)
    rng = random.Random(11)
    import_random_decks(store, rng)
    now = random_history(store, rng, 200, START)
    today = study_day(now.astimezone())
    dash = dashboard(store, today)
    log = store.reviews()
    assert dash.reviews_total == len(log)
    assert dash.seconds_total == pytest.approx(sum(r["seconds"] or 0 for r in log))
    window = {(today - timedelta(days=i)).isoformat() for i in range(30)}
    recent = [r for r in log if r["scheduled"] and r["day"] in window]
    assert sum(r.total for r in dash.retention_by_deck) == len(recent)
    assert sum(r.right for r in dash.retention_by_deck) == sum(r["verdict"] == "right" for r in recent)
    assert sum(n for _, n in dash.heatmap) == sum(1 for r in log if r["day"] > (today - timedelta(days=365)).isoformat())
