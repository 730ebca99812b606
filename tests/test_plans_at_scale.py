"""Query plans under the planner statistics of a heavy learner's library.

Store.close runs PRAGMA optimize, so a library used for a while carries sqlite_stat1 rows, and
those change SQLite's plans. These rows were read from bench/scale.py's database (100k cards, 1M
reviews) after its migration; a test database given them must still read the study queues in
index order (no sort) and the stats from indexes or rollups, never by scanning cards or reviews.
"""

from __future__ import annotations

from datetime import date

from quizzer.deck import parse_deck
from quizzer.stats import dashboard

BIG_LIBRARY_STAT1 = [
    ("reviews", "reviews_day_seconds", "1000000 1370 4"),
    ("reviews", "reviews_card_day", "1000000 10000 17 2"),
    ("cards", "cards_deck_stats", "100000 1000 1000 3 2 2 1"),
    ("cards", "cards_queue_new", "38341 39 1"),
    ("cards", "cards_queue_due", "61159 47 2 1"),
    ("cards", "sqlite_autoindex_cards_1", "100000 1000 1"),
    ("review_deck_days", "review_deck_days", "72976 730 1"),
    ("review_tag_days", "review_tag_days", "199715 274 1"),
]
DECK = """\
id: small
title: Small
description: Cards for the plan tests.
cards:
  - {id: a, kind: recall, question: q, answer: x, tags: [shapes]}
  - {id: b, kind: recall, question: q, answer: x}
"""


def test_queues_and_stats_keep_their_plans_with_a_big_librarys_statistics(store):
    store.import_decks([parse_deck(DECK.encode(), "small.yaml")])
    store.record_review("small", "a", grade=4, correct=True, answer="")
    store.db.execute("ANALYZE")
    store.db.execute("DELETE FROM sqlite_stat1")
    store.db.executemany("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", BIG_LIBRARY_STAT1)
    store.db.execute("ANALYZE sqlite_schema")  # reload the statistics into the planner
    today = date.today()
    sql: list[str] = []
    store.db.set_trace_callback(sql.append)
    store.due_cards(today, limit=1)
    store.new_cards(limit=1)
    store.deck_stats(today)
    dashboard(store, today)
    store.db.set_trace_callback(None)
    selects = [s for s in sql if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) >= 10
    for statement in selects:
        plan = [row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + statement)]
        assert not any("AUTOMATIC" in step for step in plan), (statement, plan)
        for step in plan:
            assert not (step.startswith("SCAN") and step.split()[1] in ("reviews", "cards", "r", "c")
                        and "INDEX" not in step), (statement, plan)
        if "LIMIT 1" in statement:
            assert not any("TEMP B-TREE" in step for step in plan), (statement, plan)
