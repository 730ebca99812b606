"""One study session: the order cards come in, what each grade would do, undo. No UI, no torch.

Order: cards drilled earlier today and not yet right (graded below 4 and not re-graded 4 or 5
since), then reviews that are due (most overdue first), then new cards up to the daily limit. A
card graded below 4 comes back later in the same session (SM-2's last step) until it scores 4 or 5;
those repeats are logged but do not move its schedule. Drills are read from the review log, so they
survive quitting and a jump to a topic session.

A session has one study day, fixed when it starts (never before the newest day in the review log):
an answer at 00:01 in a session begun at 23:59 belongs to the day it started on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from .scheduler import Grade, Scheduled, allowed_grades, check_grade, next_states, repeat_today, suggested_grade
from .settings import max_interval
from .store import CardState, Review, Store, StoreError, study_day

AGAIN_GAP = 3  # a failed card comes back after this many other cards
DEFAULT_NEW_BATCH = 10  # new cards offered past the limit when the learner asked for none per day


class Source(StrEnum):
    """Why a card is in the queue (a str: the study screen keys its labels by the value)."""

    REVIEW = "review"
    NEW = "new"
    AGAIN = "again"


@dataclass
class QueueItem:
    state: CardState
    source: Source

    @property
    def key(self) -> tuple[str, str]:
        return self.state.card.key


@dataclass(frozen=True)
class GradeOption:
    """One grade the learner may give the current card, and what it would do."""

    scheduled: Scheduled
    default: bool  # the grade Enter gives

    @property
    def grade(self) -> Grade:
        return self.scheduled.grade

    @property
    def label(self) -> str:
        return self.scheduled.grade.label

    @property
    def interval(self) -> str:
        """Anki-style time until the card is due after this grade: '1d', '6d', '2mo'."""
        return format_days(self.scheduled.days)


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


@dataclass(frozen=True)
class _Suspended:
    """A suspend, kept so that undo can take it back like a grade."""

    item: QueueItem


@dataclass
class StudySession:
    store: Store
    deck_ids: list[str] | None = None
    new_limit: int = 20
    limit: int | None = None
    queue: list[QueueItem] = field(default_factory=list)
    done: list[_Done] = field(default_factory=list)
    undoable: list[_Done | _Suspended] = field(default_factory=list)  # newest last: what ctrl+z takes back
    day: date | None = None  # the study day; default: today's, never before the newest logged day
    tags: list[str] | None = None  # a topic session: only cards with one of these tags
    max_interval: int = field(default_factory=max_interval)
    new_held_back: int = 0  # new cards of the selection left out by the daily limit (offer them explicitly)

    def __post_init__(self) -> None:
        if self.day is None:
            latest = self.store.latest_review_day()
            self.day = max(study_day(), latest) if latest else study_day()
        if not self.queue:
            self.load()

    # -- building the queue -------------------------------------------------------------------
    def load(self, ahead_days: int = 0, extra_new: int = 0) -> None:
        """Fill the queue: today's unfinished drills, due reviews, then new cards up to the daily limit
        plus `extra_new` asked for explicitly; `ahead_days` studies cards due soon (early reviews
        do not inflate: see scheduler)."""
        today = self.today
        drills = self._wanted(self.store.drill_cards(today, self.deck_ids))
        due = self._wanted(self.store.due_cards(today + timedelta(days=ahead_days), self.deck_ids))
        quota = max(0, self.new_limit - self.store.new_cards_introduced(today)) + max(0, extra_new)
        if self.tags:  # tags live in the card data: filter the deck's new cards, then apply the quota
            fresh = self._wanted(self.store.new_cards(self.deck_ids))
        else:
            fresh = self.store.new_cards(self.deck_ids, limit=quota) if quota else []
        self.new_held_back = max(0, len(fresh) - quota) if self.tags else 0
        items = [QueueItem(s, Source.AGAIN) for s in drills] + [QueueItem(s, Source.REVIEW) for s in due]
        items += [QueueItem(s, Source.NEW) for s in fresh[:quota]]
        items = _first_of_each(items)  # a drill may also be due: it stays a drill
        self.queue = items[: self.limit] if self.limit else items

    def load_tags(self, tags: list[str], limit: int | None = 20) -> None:
        """Study just these topics: their unfinished drills and due cards first, then new ones within
        the daily new-card limit (`new_held_back` says how many more there are to offer). Cards
        already answered right today are not drilled again."""
        self.tags, self.limit = list(tags), limit
        self.load()

    @property
    def new_batch(self) -> int:
        """How many new cards to offer past today's limit: as many as the learner asked for per day."""
        return self.new_limit if self.new_limit > 0 else DEFAULT_NEW_BATCH

    def new_available(self, cap: int = 1000) -> int:
        """Never-reviewed cards left in this session's decks (and topics), counted up to `cap`."""
        if self.tags:
            return min(cap, len(self._wanted(self.store.new_cards(self.deck_ids))))
        return len(self.store.new_cards(self.deck_ids, limit=cap))

    def _wanted(self, states: list[CardState]) -> list[CardState]:
        if not self.tags:
            return states
        wanted = set(self.tags)
        return [s for s in states if wanted & set(s.card.tags)]

    @property
    def today(self) -> date:
        assert self.day is not None
        return self.day

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
        out: dict[str, int] = {Source.NEW: 0, Source.AGAIN: 0, Source.REVIEW: 0}
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

    def options(self, correct: bool | None, seconds: float = 0.0) -> tuple[GradeOption, ...]:
        """The grades the current card may get, each with what it would do, and the default marked.

        `correct` is the run's verdict; None for a recall card, where the learner judges (every grade
        open, default good)."""
        item = self.current
        if item is None:
            return ()
        states = next_states(item.state.schedule, self.today, self.max_interval)
        default = suggested_grade(correct, seconds)
        return tuple(GradeOption(states[g], g == default) for g in allowed_grades(correct))

    # -- acting -------------------------------------------------------------------------------
    def answer(self, grade: GradeOption | int, *, correct: bool | None = None, answer: str, seconds: float,
               device: str | None = None, torch_version: str | None = None) -> Review:
        """Record the chosen option (or grade) for the current card. `correct=None` (a recall card):
        the grade itself says right (3-5) or wrong (0-2). If the card was graded elsewhere since it
        was read, StoreError is raised, nothing is recorded and the card is re-read in place."""
        item = self.current
        if item is None:
            raise ValueError("no card to answer: the session is finished")
        chosen = grade.scheduled if isinstance(grade, GradeOption) else None
        checked = check_grade(chosen.grade if chosen else grade, correct)  # the run decides right or wrong
        if chosen is None:
            chosen = next_states(item.state.schedule, self.today, self.max_interval)[checked]
        verdict = checked.passed if correct is None else correct
        try:
            review = self.store.record_review(*item.key, grade=checked, correct=verdict, answer=answer, seconds=seconds,
                                              device=device, torch_version=torch_version, chosen=chosen)
        except StoreError:
            self.queue[0] = QueueItem(self.store.card_state(*item.key), item.source)
            raise
        self.queue.pop(0)
        requeued = repeat_today(checked)
        if requeued:
            fresh = self.store.card_state(*item.key)
            self.queue.insert(min(AGAIN_GAP, len(self.queue)), QueueItem(fresh, Source.AGAIN))
        self.done.append(_Done(item, review, seconds, requeued))
        self.undoable.append(self.done[-1])
        return review

    def skip(self) -> None:
        """Take the current card out of this session without grading it (e.g. its run failed)."""
        if self.queue:
            self.queue.pop(0)

    def suspend(self) -> None:
        if self.queue:
            item = self.queue[0]
            self.store.set_suspended(*item.key, True)
            self.queue = [i for i in self.queue if i.key != item.key]
            self.undoable.append(_Suspended(item))

    def undo(self) -> QueueItem | None:
        """Take back the last grade or suspend: the card is restored as it was and asked again now."""
        if not self.undoable:
            return None
        last = self.undoable[-1]
        if isinstance(last, _Suspended):
            self.store.set_suspended(*last.item.key, False)
            self.undoable.pop()
            restored = QueueItem(self.store.card_state(*last.item.key), last.item.source)
            self.queue.insert(0, restored)
            return restored
        self.store.undo_last_review(expect=last.item.key)  # raises, changing nothing, if it is not ours
        self.undoable.pop()
        self.done.pop()
        if last.requeued:
            for i, item in enumerate(self.queue):
                if item.key == last.item.key and item.source == Source.AGAIN:
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


def _first_of_each(items: list[QueueItem]) -> list[QueueItem]:
    """`items` in order, each card only at its first place."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            out.append(item)
    return out


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
    minutes, secs = divmod(round(seconds), 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
