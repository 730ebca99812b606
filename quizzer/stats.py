"""The stats dashboard as plain data: what `quizzer stats` prints and the TUI draws.

No UI imports here. `dashboard(store, today)` runs a handful of read-only queries (Store's
"stats dashboard" section) and shapes the answers; `Dashboard.to_json()` gives JSON-able data.
Those queries read rollup tables that the store keeps in step with every review, undo and
re-import (schema 4), so the cost is a few thousand rows whatever the size of the review log.

Choices, stated once:

* "Reviews" in the heatmap, today's count and time spent are every logged answer, same-day
  repeats included: they are the work done. Retention only counts `scheduled` answers (the first
  grade of a card's study day), as `Store.deck_stats` does: a repeat right after seeing the
  answer says little about memory.
* Windows are in study days and include `today`: the heatmap is the 365 days ending today, the
  retention window the 30 days ending today, the forecast the 30 days starting today (overdue
  cards count on today).
* Ease buckets are 0.1 wide from 1.3 (SM-2's floor) with everything from 3.0 up in "3.0+";
  interval buckets are 1d, 2-3d, 4-7d, 8-14d, 15-30d, 1-3mo (31-90d), 3mo+. Both cover cards
  reviewed at least once and not removed from their deck (suspended ones included).
* The streak is Store.streak's, read off the heatmap unless it spans the whole heatmap.
* Weakest topics are ranked by a Bayesian estimate of retention (`estimated_retention`), not raw
  accuracy: raw accuracy ranks 0 of 1 below 5 of 20, and a minimum answer count hides exactly the
  topics that fail. A topic with no wrong answer is never "weak".
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .scheduler import MIN_EASE
from .store import Store

HEATMAP_DAYS = 365
FORECAST_DAYS = 30
RECENT_DAYS = 30
WEAK_MIN_WRONG = 1  # a topic answered right every time is not weak, however few its answers
WEAK_PRIOR_ANSWERS = 4  # how many answers' worth of weight the learner's overall accuracy gets
WEAK_TOP = 5

EASE_FLOOR_TENTHS = round(MIN_EASE * 10)  # 13
EASE_TOP_TENTHS = 30  # "3.0+"
EASE_LABELS = [f"{t / 10:.1f}" for t in range(EASE_FLOOR_TENTHS, EASE_TOP_TENTHS)] + [f"{EASE_TOP_TENTHS / 10:.1f}+"]
INTERVAL_BUCKETS: list[tuple[str, int | None]] = [
    ("1d", 1), ("2-3d", 3), ("4-7d", 7), ("8-14d", 14), ("15-30d", 30), ("1-3mo", 90), ("3mo+", None)]


@dataclass(frozen=True)
class Retention:
    """Scheduled answers in the recent window for one deck or tag."""

    key: str  # deck id or tag
    right: int
    total: int
    title: str | None = None  # deck title; None for tags

    @property
    def retention(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def wrong(self) -> int:
        return self.total - self.right


@dataclass(frozen=True)
class Dashboard:
    today: date
    heatmap: list[tuple[date, int]]  # HEATMAP_DAYS entries, oldest first, zeros included
    forecast: list[tuple[date, int]]  # FORECAST_DAYS entries from today; today includes overdue
    retention_by_deck: list[Retention]  # decks with scheduled answers in the window, by deck id
    retention_by_tag: list[Retention]  # tags with scheduled answers in the window, by tag
    weakest_topics: list[Retention]  # worst estimated retention first, at most WEAK_TOP, each with a wrong answer
    ease_distribution: list[tuple[str, int]]  # (bucket label, cards), every bucket present
    interval_distribution: list[tuple[str, int]]
    streak: int
    reviews_today: int
    seconds_today: float
    seconds_total: float
    reviews_total: int

    @property
    def due_today(self) -> int:
        return self.forecast[0][1] if self.forecast else 0

    def to_json(self) -> dict:
        def retention(items: list[Retention], key: str) -> list[dict]:
            out = []
            for r in items:
                item: dict[str, Any] = {key: r.key}
                if key == "deck":
                    item["title"] = r.title
                item.update(right=r.right, total=r.total, retention=round(r.retention, 4))
                out.append(item)
            return out

        return {
            "today": self.today.isoformat(),
            "streak": self.streak,
            "reviews_today": self.reviews_today,
            "seconds_today": round(self.seconds_today, 3),
            "seconds_total": round(self.seconds_total, 3),
            "reviews_total": self.reviews_total,
            "heatmap": [{"day": d.isoformat(), "reviews": n} for d, n in self.heatmap],
            "forecast": [{"day": d.isoformat(), "due": n} for d, n in self.forecast],
            "retention_by_deck": retention(self.retention_by_deck, "deck"),
            "retention_by_tag": retention(self.retention_by_tag, "tag"),
            "weakest_topics": retention(self.weakest_topics, "tag"),
            "ease_distribution": [{"bucket": b, "cards": n} for b, n in self.ease_distribution],
            "interval_distribution": [{"bucket": b, "cards": n} for b, n in self.interval_distribution],
        }


def dashboard(store: Store, today: date) -> Dashboard:
    """Everything the stats screen shows, for the study day `today`."""
    with store.snapshot():
        return _dashboard(store, today)


def _dashboard(store: Store, today: date) -> Dashboard:
    first_shown = today - timedelta(days=HEATMAP_DAYS - 1)
    per_day = dict(store.reviews_per_day(first_shown, today))
    heatmap = [(d, per_day.get(d, 0)) for d in _days(first_shown, HEATMAP_DAYS)]
    reviews_today, seconds_today = store.review_totals(today)
    reviews_total, seconds_total = store.review_totals()

    due = store.due_forecast(today, FORECAST_DAYS)
    forecast = [(d, due.get(d, 0)) for d in _days(today, FORECAST_DAYS)]

    since = today - timedelta(days=RECENT_DAYS - 1)
    by_deck = [Retention(r["deck"], r["right"], r["total"], r["title"]) for r in store.retention_by_deck(since, today)]
    by_tag = [Retention(r["tag"], r["right"], r["total"]) for r in store.retention_by_tag(since, today)]

    return Dashboard(
        today=today, heatmap=heatmap, forecast=forecast,
        retention_by_deck=by_deck, retention_by_tag=by_tag, weakest_topics=weakest(by_tag),
        **_distributions(store), streak=streak(store, today, heatmap),
        reviews_today=reviews_today, seconds_today=seconds_today,
        seconds_total=seconds_total, reviews_total=reviews_total)


def streak(store: Store, today: date, heatmap: list[tuple[date, int]]) -> int:
    """Store.streak(today), read off the heatmap (which ends today) when the streak breaks inside
    it, as it nearly always does: that saves Store.streak's one lookup per day of the streak. Same
    rule: consecutive days with a review, ending today, or yesterday while today has none yet."""
    counts = [n for _, n in heatmap]
    if not counts[-1]:
        counts.pop()  # today is still open
    for length, n in enumerate(reversed(counts)):
        if not n:
            return length
    return store.streak(today)  # unbroken for the whole heatmap: ask the full log


def weakest(by_tag: list[Retention], top: int = WEAK_TOP) -> list[Retention]:
    """Topics most likely to be forgotten, worst first: ranked by `estimated_retention`, which
    pulls a topic with few answers towards the learner's overall accuracy (1 wrong of 1 is not
    proof of a weak topic). A topic never answered wrong is never listed. Ties go to the topic
    with more answers (more evidence), then alphabetically."""
    right = sum(r.right for r in by_tag)
    total = sum(r.total for r in by_tag)
    prior = right / total if total else 0.0
    ranked = sorted((r for r in by_tag if r.wrong >= WEAK_MIN_WRONG),
                    key=lambda r: (estimated_retention(r, prior), -r.total, r.key))
    return ranked[:top]


def estimated_retention(r: Retention, prior: float, weight: int = WEAK_PRIOR_ANSWERS) -> float:
    """Posterior mean of a topic's retention under a Beta prior worth `weight` answers at `prior`
    accuracy: (right + weight*prior) / (total + weight). With many answers it is the plain
    accuracy; with few, it stays near the learner's overall accuracy."""
    return (r.right + weight * prior) / (r.total + weight)


def _distributions(store: Store) -> dict[str, list[tuple[str, int]]]:
    ease = [0] * len(EASE_LABELS)
    interval = [0] * len(INTERVAL_BUCKETS)
    bounds = [b for _, b in INTERVAL_BUCKETS if b is not None]
    for value, days, count in store.ease_interval_counts():
        tenths = int(value * 10 + 1e-6)  # a float a hair below an edge (2.3999999999) is on the edge
        ease[min(max(tenths, EASE_FLOOR_TENTHS), EASE_TOP_TENTHS) - EASE_FLOOR_TENTHS] += count
        interval[bisect_left(bounds, days)] += count
    return {"ease_distribution": list(zip(EASE_LABELS, ease, strict=True)),
            "interval_distribution": [(label, n) for (label, _), n in zip(INTERVAL_BUCKETS, interval, strict=True)]}


def _days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]
