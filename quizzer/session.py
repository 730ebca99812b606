"""One study session: the order cards come in, what a grade does, undo. No UI, no torch.

Order: reviews that are due (most overdue first), then new cards up to the daily limit. A card
graded below 4 comes back later in the same session (SM-2's last step) until it scores 4 or 5;
those repeats are logged but do not move its schedule (the store decides that by study day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from .scheduler import allowed_grades, repeat_today, review as sm2_review
from .store import CardState, Review, Store, study_day

AGAIN_GAP = 3  # a failed card comes back after this many other cards


@dataclass
class QueueItem:
    state: CardState
    source: str  # "review" | "new" | "again"

    @property
    def key(self) -> tuple[str, str]:
        return self.state.card.key


@dataclass
class SessionSummary:
    reviewed: int
    right: int
    seconds: float
    next_due: date | None
    streak: int

    @property
    def accuracy(self) -> float | None:
        return self.right / self.reviewed if self.reviewed else None


@dataclass
class _Done:
    item: QueueItem
    review: Review
    seconds: float
    requeued: bool


@dataclass
class StudySession:
    store: Store
    deck_ids: list[str] | None = None
    new_limit: int = 20
    limit: int | None = None
    queue: list[QueueItem] = field(default_factory=list)
    done: list[_Done] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.queue:
            self.load()

    # -- building the queue -------------------------------------------------------------------
    def load(self, ahead_days: int = 0, extra_new: int = 0) -> None:
        """Fill the queue: due reviews, then new cards; `ahead_days` studies cards due soon."""
        today = self.today
        due = self.store.due_cards(today + timedelta(days=ahead_days), self.deck_ids)
        quota = max(0, self.new_limit - self.store.new_cards_introduced(today)) + extra_new
        new = self.store.new_cards(self.deck_ids, limit=quota) if quota else []
        items = [QueueItem(s, "review") for s in due] + [QueueItem(s, "new") for s in new]
        self.queue = items[: self.limit] if self.limit else items

    def load_tags(self, tags: list[str], limit: int = 20) -> None:
        """Study just these topics: their due cards, then the rest ahead of schedule, then new ones."""
        wanted = set(tags)
        reviewed = self.store.due_cards(date.max, self.deck_ids)  # every reviewed card, soonest due first
        new = self.store.new_cards(self.deck_ids)
        items = [QueueItem(s, "review") for s in reviewed if wanted & set(s.card.tags)]
        items += [QueueItem(s, "new") for s in new if wanted & set(s.card.tags)]
        self.queue = items[:limit]

    @property
    def today(self) -> date:
        return study_day()

    # -- reading ------------------------------------------------------------------------------
    @property
    def current(self) -> QueueItem | None:
        return self.queue[0] if self.queue and self._left(0) else None

    @property
    def upcoming(self) -> QueueItem | None:
        return self.queue[1] if len(self.queue) > 1 and self._left(1) else None

    def _left(self, ahead: int) -> bool:
        """Whether the card `ahead` places on is within `limit` cards shown (repeats count)."""
        return self.limit is None or len(self.done) + ahead < self.limit

    def counts(self) -> dict[str, int]:
        out = {"new": 0, "again": 0, "review": 0}
        for item in self.queue:
            out[item.source] += 1
        return out

    @property
    def position(self) -> int:
        return len(self.done) + 1

    @property
    def total(self) -> int:
        total = len(self.done) + len(self.queue)
        return total if self.limit is None else min(total, self.limit)

    def interval_preview(self, grade: int) -> str:
        """What grading the current card `grade` would do, Anki-style: '1d', '6d', '2mo'."""
        item = self.current
        if item is None:
            return ""
        state = item.state
        if state.last_day == self.today:  # a same-day repeat: the schedule was already set today
            days = (state.due - self.today).days if state.due else 1
        else:
            days = sm2_review(state.state, grade).interval
        return format_days(days)

    # -- acting -------------------------------------------------------------------------------
    def answer(self, *, grade: int, correct: bool, answer: str, seconds: float, device: str | None = None,
               torch_version: str | None = None) -> Review:
        if grade not in allowed_grades(correct):  # the run decides right or wrong, never the grade
            raise ValueError(f"grade {grade} is not allowed for a {'right' if correct else 'wrong'} answer")
        item = self.queue.pop(0)
        review = self.store.record_review(*item.key, grade=grade, correct=correct, answer=answer, seconds=seconds,
                                          device=device, torch_version=torch_version)
        requeued = repeat_today(grade)
        if requeued:
            fresh = self.store.card_state(*item.key)
            self.queue.insert(min(AGAIN_GAP, len(self.queue)), QueueItem(fresh, "again"))
        self.done.append(_Done(item, review, seconds, requeued))
        return review

    def skip(self) -> None:
        """Take the current card out of this session without grading it (e.g. its run failed)."""
        if self.queue:
            self.queue.pop(0)

    def suspend(self) -> None:
        if self.queue:
            item = self.queue.pop(0)
            self.store.set_suspended(*item.key, True)
            self.queue = [i for i in self.queue if i.key != item.key]

    def undo(self) -> QueueItem | None:
        """Take back the last grade: the card's SM-2 state is restored and it is asked again now."""
        if not self.done:
            return None
        last = self.done[-1]
        self.store.undo_last_review(expect=last.item.key)  # raises, changing nothing, if it is not ours
        self.done.pop()
        if last.requeued:
            for i, item in enumerate(self.queue):
                if item.key == last.item.key and item.source == "again":
                    del self.queue[i]
                    break
        restored = QueueItem(self.store.card_state(*last.item.key), last.item.source)
        self.queue.insert(0, restored)
        return restored

    def summary(self) -> SessionSummary:
        reviewed = len(self.done)
        right = sum(1 for d in self.done if d.review.verdict == "right")
        return SessionSummary(reviewed, right, sum(d.seconds for d in self.done),
                              self.store.next_due_date(self.deck_ids), self.store.streak(self.today))


def format_days(days: int) -> str:
    if days <= 0:
        return "today"
    if days < 30:
        return f"{days}d"
    if days < 365:
        return f"{days / 30:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365:.1f}y".replace(".0y", "y")


def format_duration(seconds: float) -> str:
    """'45 s', '12 min 34 s', '2 h 05 min'."""
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
