from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from quizzer import stats
from quizzer.cli import main
from quizzer.deck import parse_deck
from quizzer.stats import Retention, dashboard
from quizzer.store import Store, study_day

ALPHA = """\
id: alpha
title: Alpha
description: Tagged cards for the stats tests.
cards:
  - {id: a1, kind: recall, question: q1, answer: x, tags: [broadcasting, shapes]}
  - {id: a2, kind: recall, question: q2, answer: x, tags: [broadcasting]}
  - {id: a3, kind: recall, question: q3, answer: x}
  - {id: a4, kind: recall, question: q4, answer: x, tags: [shapes]}
"""
BETA = """\
id: beta
title: Beta
description: More tagged cards.
cards:
  - {id: b1, kind: recall, question: q1, answer: x, tags: [autograd]}
  - {id: b2, kind: recall, question: q2, answer: x, tags: [autograd, shapes]}
  - {id: b3, kind: recall, question: q3, answer: x, tags: [autograd, devices]}
"""

# (day offset from TODAY, deck, card, grade, seconds). A grade >= 3 is a right answer. The second
# answer to a card on one study day is a same-day repeat: logged, not scheduled.
HISTORY = [
    (-400, "beta", "b1", 4, 100.0),  # older than the heatmap and every 30-day window
    (-40, "alpha", "a1", 4, 10.0),   # outside the 30-day window
    (-10, "beta", "b1", 0, 15.0),
    (-9, "beta", "b1", 1, 15.0),     # b1 is left overdue (due day -8)
    (-6, "alpha", "a4", 4, 7.0),     # a4 is removed from its deck afterwards
    (-5, "alpha", "a1", 1, 20.0),
    (-5, "alpha", "a1", 4, 5.0),     # repeat
    (-3, "alpha", "a2", 4, 12.0),
    (-2, "alpha", "a2", 3, 30.0),    # ease 2.5 - 0.14 = 2.36, interval 6: due day +4
    (-2, "alpha", "a2", 4, None),    # repeat, no time recorded
    (-1, "beta", "b2", 5, 6.0),      # due today
    (-1, "beta", "b3", 2, 9.0),      # b3 is suspended afterwards
    (0, "alpha", "a1", 5, 8.0),      # ease 2.6, due day +1
]
BASE = datetime(2026, 3, 2, 12, 0)


def local_noon(day_offset: int = 0) -> datetime:
    """Noon local time, so the study day is unambiguous whatever the machine's time zone."""
    return (BASE + timedelta(days=day_offset)).astimezone()


TODAY = study_day(local_noon())


def day(offset: int):
    return TODAY + timedelta(days=offset)


@pytest.fixture
def history(store, monkeypatch):
    monkeypatch.delenv("QUIZZER_DAY_STARTS_AT", raising=False)
    store.import_decks([parse_deck(ALPHA.encode(), "alpha.yaml"), parse_deck(BETA.encode(), "beta.yaml")])
    for offset, deck_id, card_id, grade, seconds in HISTORY:
        store.record_review(deck_id, card_id, grade=grade, correct=grade >= 3, answer="", seconds=seconds,
                            now=local_noon(offset))
    [report] = store.import_decks([parse_deck(ALPHA.replace("  - {id: a4", "  # - {id: a4").encode(), "alpha.yaml")])
    assert report.removed == ["a4"]
    store.set_suspended("beta", "b3")
    return store


def test_history_is_what_the_tests_assume(history):
    rows = history.reviews()
    assert len(rows) == 13 and sum(r["scheduled"] for r in rows) == 11
    assert history.card_state("alpha", "a2").state.ease == pytest.approx(2.36)


def test_retention_by_deck_and_tag_count_scheduled_answers_of_the_last_30_days(history):
    d = dashboard(history, TODAY)
    # alpha: a1 wrong (day -5) + right (today), a2 right twice, a4 right (removed since: still history)
    # beta: b1 wrong twice, b2 right, b3 wrong. Day -40 and -400 fall outside; repeats never count.
    assert d.retention_by_deck == [Retention("alpha", 4, 5, "Alpha"), Retention("beta", 1, 4, "Beta")]
    assert [(r.key, r.right, r.total) for r in d.retention_by_tag] == [
        ("autograd", 1, 4), ("broadcasting", 3, 4), ("devices", 0, 1), ("shapes", 3, 4)]
    deck_stats = {s["deck"]: s["retention_30d"] for s in history.deck_stats(TODAY)}
    assert deck_stats == {"alpha": 0.8, "beta": 0.25}  # the per-deck table agrees


def test_weakest_topics_rank_by_estimated_retention_and_skip_all_right(history):
    d = dashboard(history, TODAY)
    # overall 7 of 13 right, so the prior is 7/13 worth 4 answers: autograd (1 of 4) -> 0.394,
    # devices (0 of 1) -> 0.430, broadcasting and shapes (3 of 4) -> 0.644 (alphabetical tie)
    assert [(r.key, r.right, r.total) for r in d.weakest_topics] == [
        ("autograd", 1, 4), ("devices", 0, 1), ("broadcasting", 3, 4), ("shapes", 3, 4)]
    prior = 7 / 13
    assert [round(stats.estimated_retention(r, prior), 3) for r in d.weakest_topics] == [0.394, 0.431, 0.644, 0.644]


def test_weakest_ranks_by_estimated_retention_skips_all_right_and_keeps_five():
    tags = [Retention(f"t{i}", right, total) for i, (right, total) in
            enumerate([(1, 2), (2, 4), (0, 3), (3, 3), (5, 10), (1, 3), (2, 9), (9, 10)])]
    # prior 23/44 worth 4 answers: t2 .299, t6 .315, t5 .441, t4 .506, t1 .511, t0 .515, t7 .792; t3 never wrong
    assert [r.key for r in stats.weakest(tags)] == ["t2", "t6", "t5", "t4", "t1"]
    assert "t3" not in [r.key for r in stats.weakest(tags, top=10)]


def test_streak_today_and_time_spent(history):
    d = dashboard(history, TODAY)
    assert d.streak == 4 == history.streak(TODAY)  # days 0, -1, -2, -3; nothing on day -4
    assert (d.reviews_today, d.seconds_today) == (1, 8.0)
    assert d.reviews_total == 13
    assert d.seconds_total == pytest.approx(100 + 10 + 15 + 15 + 7 + 20 + 5 + 12 + 30 + 6 + 9 + 8)
    tomorrow = dashboard(history, day(1))
    assert (tomorrow.streak, tomorrow.reviews_today, tomorrow.seconds_today) == (4, 0, 0.0)


def test_streak_longer_than_the_heatmap_comes_from_the_store(store):
    store.import_decks([parse_deck(ALPHA.encode(), "alpha.yaml")])
    store.db.executemany(
        """INSERT INTO reviews (deck_id, card_id, at, day, answer, verdict, grade, seconds)
           VALUES ('alpha', 'a1', 't', ?, '', 'right', 4, 1.0)""", [(day(-i).isoformat(),) for i in range(400)])
    for when, expected in [(TODAY, 400), (day(1), 400), (day(2), 0)]:
        assert dashboard(store, when).streak == store.streak(when) == expected
    store.db.execute("DELETE FROM reviews WHERE day = ?", (day(-100).isoformat(),))
    assert dashboard(store, TODAY).streak == store.streak(TODAY) == 100
    assert dashboard(store, day(1)).streak == 100 and dashboard(store, day(-101)).streak == 299


def test_forecast_counts_overdue_today_and_skips_suspended_removed_and_new(history):
    d = dashboard(history, TODAY)
    assert len(d.forecast) == 30 and d.forecast[0][0] == TODAY and d.forecast[-1][0] == day(29)
    due = {offset: n for offset, (_, n) in enumerate(d.forecast) if n}
    assert due == {0: 2, 1: 1, 4: 1}  # b1 (overdue since day -8) and b2 today; a1 tomorrow; a2 on day 4
    assert d.due_today == 2 and len(history.due_cards(TODAY)) == 2
    assert {offset: n for offset, (_, n) in enumerate(dashboard(history, day(1)).forecast) if n} == {0: 3, 3: 1}


def test_heatmap_has_one_cell_per_day_for_a_year(history):
    d = dashboard(history, TODAY)
    assert len(d.heatmap) == 365 and d.heatmap[0][0] == day(-364) and d.heatmap[-1][0] == TODAY
    cells = {(when - TODAY).days: n for when, n in d.heatmap if n}
    assert cells == {-40: 1, -10: 1, -9: 1, -6: 1, -5: 2, -3: 1, -2: 2, -1: 2, 0: 1}  # repeats included
    assert dict(d.heatmap)[day(-4)] == 0


def test_ease_and_interval_distributions_cover_reviewed_cards_not_removed(history):
    d = dashboard(history, TODAY)
    ease = {label: n for label, n in d.ease_distribution if n}
    # a1 2.6, a2 2.36, b1 2.5, b2 2.6, b3 2.5 (suspended, still counted); a3 is new, a4 removed
    assert ease == {"2.3": 1, "2.5": 2, "2.6": 2}
    assert [label for label, _ in d.ease_distribution] == [f"{t / 10:.1f}" for t in range(13, 30)] + ["3.0+"]
    assert dict(d.interval_distribution) == {"1d": 4, "2-3d": 0, "4-7d": 1, "8-14d": 0, "15-30d": 0, "1-3mo": 0, "3mo+": 0}


def test_bucket_edges(store):
    cards = "".join(f"  - {{id: e{i}, kind: recall, question: q, answer: x}}\n" for i in range(1, 5))
    store.import_decks([parse_deck(f"id: edges\ntitle: E\ndescription: D\ncards:\n{cards}".encode())])
    rows = [("e1", 1.3, 0), ("e2", 2.4, 2), ("e3", 2.95, 3), ("e4", 3.0, 4)]
    store.db.executemany("UPDATE cards SET ease = ?, interval = ?, due = '2026-01-01' WHERE card_id = ?",
                         [(e, i, c) for c, e, i in rows])
    d = dashboard(store, TODAY)
    assert {label: n for label, n in d.ease_distribution if n} == {"1.3": 1, "2.4": 1, "2.9": 1, "3.0+": 1}
    assert {label: n for label, n in d.interval_distribution if n} == {"1d": 1, "2-3d": 2, "4-7d": 1}
    for interval, label in [(7, "4-7d"), (8, "8-14d"), (14, "8-14d"), (15, "15-30d"), (30, "15-30d"),
                            (31, "1-3mo"), (90, "1-3mo"), (91, "3mo+"), (2000, "3mo+")]:
        store.db.execute("UPDATE cards SET interval = ?", (interval,))
        assert dict(dashboard(store, TODAY).interval_distribution)[label] == 4, interval


def test_empty_database(store):
    d = dashboard(store, TODAY)
    assert d.streak == d.reviews_total == d.reviews_today == 0 and d.seconds_total == 0
    assert sum(n for _, n in d.heatmap) == sum(n for _, n in d.forecast) == 0
    assert d.retention_by_deck == d.retention_by_tag == d.weakest_topics == []
    assert json.loads(json.dumps(d.to_json()))["heatmap"][-1] == {"day": TODAY.isoformat(), "reviews": 0}


def test_to_json_is_plain_data(history):
    data = json.loads(json.dumps(dashboard(history, TODAY).to_json()))
    assert data["today"] == TODAY.isoformat() and data["streak"] == 4
    assert (data["reviews_today"], data["seconds_today"], data["reviews_total"]) == (1, 8.0, 13)
    assert data["retention_by_deck"][0] == {"deck": "alpha", "title": "Alpha", "right": 4, "total": 5, "retention": 0.8}
    assert data["weakest_topics"][0] == {"tag": "autograd", "right": 1, "total": 4, "retention": 0.25}
    assert data["forecast"][0] == {"day": TODAY.isoformat(), "due": 2} and len(data["heatmap"]) == 365
    assert {"bucket": "2.6", "cards": 2} in data["ease_distribution"]
    assert data["interval_distribution"][0] == {"bucket": "1d", "cards": 4}


def test_dashboard_queries_read_indexes_not_tables(history):
    """Every query reads through an index: no full scan of cards or reviews, no sort for the queues."""
    sql: list[str] = []
    history.db.set_trace_callback(sql.append)
    dashboard(history, TODAY)
    history.due_cards(TODAY, limit=1)
    history.new_cards(limit=1)
    history.db.set_trace_callback(None)
    selects = [s for s in sql if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) >= 8
    for statement in selects:
        plan = [row[3] for row in history.db.execute("EXPLAIN QUERY PLAN " + statement)]
        for step in plan:
            assert not (step.startswith("SCAN") and "INDEX" not in step and "VIRTUAL TABLE" not in step
                        and step.split()[1] in ("reviews", "cards", "r", "c")), (statement, plan)
        if "LIMIT 1" in statement:
            assert not any("TEMP B-TREE" in step for step in plan), (statement, plan)


def test_cli_stats_json_carries_the_dashboard_and_table_shows_forecast_and_weak_topics(tmp_path, capsys, monkeypatch):
    db = tmp_path / "q.db"
    with Store(db) as s:
        s.import_decks([parse_deck(BETA.encode(), "beta.yaml")])
        now = datetime.now()
        for offset, card, grade in [(-2, "b1", 1), (-1, "b2", 4), (0, "b3", 1), (0, "b1", 4)]:
            s.record_review("beta", card, grade=grade, correct=grade >= 3, answer="", seconds=30.0,
                            now=now + timedelta(days=offset))
    assert main(["stats", "--db", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"today", "streak", "decks", "dashboard"} <= set(data)
    dash = data["dashboard"]
    assert dash["streak"] == data["streak"] == 3 and dash["today"] == data["today"]
    assert dash["reviews_today"] == 2 and dash["seconds_today"] == 60.0
    # prior 3 of 6 right: devices (0 of 1) -> 2/5 = 0.4 ranks below autograd (2 of 4) -> 4/8 = 0.5;
    # shapes (1 of 1) was never answered wrong, so it is not weak at all
    assert dash["weakest_topics"] == [{"tag": "devices", "right": 0, "total": 1, "retention": 0.0},
                                      {"tag": "autograd", "right": 2, "total": 4, "retention": 0.5}]
    assert sum(f["due"] for f in dash["forecast"]) == 3 and len(dash["heatmap"]) == 365

    assert main(["stats", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "due in the next 7 days" in out and "next 30 days:" in out
    weak = out[out.index("weakest topics"):]
    assert "autograd" in weak and "50%" in weak and "devices" in weak and "shapes" not in weak  # shapes: all right
