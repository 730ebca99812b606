"""SM-2 (SuperMemo 2, P. Wozniak, 1987-1990) in small pure functions: what each grade would do.

Reference text: https://super-memory.com/english/ol/sm2.htm

Which reading of SM-2 this is
-----------------------------
quizzer implements the *text* of the algorithm, read literally, not SuperMemo's reference Pascal
code. The two differ, and each difference is a choice made here:

* Order of steps 3 and 5: the E-Factor is modified first, and I(n) = I(n-1) * EF uses the
  *modified* EF ("after each repetition modify the E-Factor"). The Pascal code
  (``SuperMemo2Plug``) computes I(n) with the *old* EF and only then updates it.
* q < 3, "start repetitions from the beginning without changing the E-Factor": repetitions go back
  to 0, the next interval is I(1) = 1 day, EF stays as it was. The Pascal code updates EF on
  every grade, q < 3 included (so a lapse also lowers EF, down to 1.3).
* Rounding: I(n) is rounded *up* to whole days (ceil); floating error below 1e-9 is ignored so
  that 6 * 2.5 stays 15, not 16. The Pascal code rounds to the nearest day. The EF values of the
  text are multiples of 0.02 from 2.5, so the float arithmetic here gives exactly what exact
  fractions give (tests/test_scheduler.py checks this against a `fractions` reading).
* Same-day repeats (items that scored < 4 come back in the same session until they score >= 4)
  are logged but do not move the schedule: only the first grade of a study day does.

What the text does not say, and quizzer decides
-----------------------------------------------
The text assumes every repetition happens on its due day. A learner can review early (studying
ahead, a topic session) or late (a holiday). Unhandled, early reviews inflate: reviewing a card
daily with grade 5 multiplies its interval by EF each day (1, 6, 17, 50, 150, ... 778,462 days
after 12 reviews, and the 13th overflowed the date) although the learner only ever proved a
one-day memory. So, for I(n) with n > 2 (the only
step that multiplies; I(1) and I(2) are fixed by the text):

* Early (fewer days elapsed since the last scheduled review than the interval): the new interval
  grows from the days that actually elapsed, never shrinks: max(I(n-1), ceil(elapsed * EF)).
  This is Anki's rule for reviews ahead of time ("early 3/4 reviews shouldn't decrease previous
  interval"). EF may go down (a hard answer is evidence) but not up: an easy answer before the
  due day proves less than one on it. Example: interval 15 due on day 15, reviewed on day 5
  with grade 4 -> max(15, ceil(5 * 2.5)) = 15 days from day 5, not 38.
* Late (more days elapsed than the interval) and remembered: part of the extra time counts, as
  in Anki: I(n-1) + delay * w with w = 1/4, 1/2, 1 for grades 3, 4, 5. The learner proved a
  longer memory than was asked for, but only a hard answer's worth of it for grade 3. Example:
  interval 10 due on day 10, reviewed on day 18 (delay 8) with grade 4 -> ceil((10 + 4) * 2.5)
  = 35 days instead of 25.
* Every interval is capped at `max_interval` days (QUIZZER_MAX_INTERVAL, default 36,500) and no
  due date goes past `date.max`: no sequence of grades and days can overflow.
* A card's schedule moves at most once per study day, and only forwards: a grade moves it when
  the study day is later than the card's last one (`today > last_day`). Flying west, a study day
  can come "before" the last one; such a grade is logged but moves nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import IntEnum
from fractions import Fraction

from .settings import DEFAULT_MAX_INTERVAL

START_EASE = 2.5
MIN_EASE = 1.3
MATURE_DAYS = 21

LATE_CREDIT = {3: Fraction(1, 4), 4: Fraction(1, 2), 5: Fraction(1)}  # share of the delay a late success earns


class Grade(IntEnum):
    """SM-2's quality of response, 0-5, named as the learner sees it."""

    BLACKOUT = 0
    WRONG = 1
    ALMOST = 2
    HARD = 3
    GOOD = 4
    EASY = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def passed(self) -> bool:
        """SM-2: q >= 3 is a successful recall; below is a lapse."""
        return self >= Grade.HARD


@dataclass(frozen=True)
class Sm2State:
    ease: float = START_EASE
    interval: int = 0  # days until the next repetition; 0 for a card never reviewed
    repetitions: int = 0  # successful repetitions in a row (n - 1 in SuperMemo's notation)
    lapses: int = 0


@dataclass(frozen=True)
class Schedule:
    """A card's whole schedule as stored: what a grade is computed from, and compared against."""

    state: Sm2State = Sm2State()
    due: date | None = None  # None: never reviewed
    last_day: date | None = None  # the study day of its newest answer


@dataclass(frozen=True)
class Scheduled:
    """What one grade does to a schedule read on study day `today`."""

    grade: Grade
    before: Schedule  # the schedule this was computed from: the store refuses if the card moved on
    after: Schedule
    today: date
    moves: bool  # False for a same-day repeat (or a day before the card's last): logged only

    @property
    def days(self) -> int:
        """Days from today until the card is due after this grade."""
        due = self.after.due
        return (due - self.today).days if due else 0


def next_ease(ease: float, quality: int) -> float:
    """EF' = EF + (0.1 - (5-q)(0.08 + (5-q)0.02)), never below 1.3."""
    _check_quality(quality)
    d = 5 - quality
    return max(MIN_EASE, round(ease + (0.1 - d * (0.08 + d * 0.02)), 6))


def review(state: Sm2State, quality: int, elapsed: int | None = None,
           max_interval: int = DEFAULT_MAX_INTERVAL) -> Sm2State:
    """The state after one repetition graded `quality` (0-5), `elapsed` days after the last one.

    `elapsed=None` means on time (the text's assumption); see the module docstring for early and
    late repetitions."""
    _check_quality(quality)
    if quality < 3:
        return replace(state, interval=1, repetitions=0, lapses=state.lapses + 1)
    ease = next_ease(state.ease, quality)
    n = state.repetitions + 1
    if n == 1:
        interval = 1
    elif n == 2:
        interval = 6
    else:
        previous = max(1, min(state.interval, max_interval))
        gap = previous if elapsed is None else max(0, elapsed)
        if gap < previous:  # early: grow from what elapsed, never shrink; EF may only go down
            ease = min(ease, state.ease)
            interval = max(previous, _ceil(gap * ease))
        else:  # on time, or late: a share of the delay counts
            credited = previous + (gap - previous) * LATE_CREDIT[quality]
            interval = _ceil(float(credited) * ease)
    return Sm2State(ease=ease, interval=max(1, min(interval, max_interval)), repetitions=n, lapses=state.lapses)


def next_states(schedule: Schedule, today: date, max_interval: int = DEFAULT_MAX_INTERVAL) -> dict[Grade, Scheduled]:
    """For every grade, the schedule it would leave on study day `today` (as Anki's next_states)."""
    moves = schedule.last_day is None or today > schedule.last_day
    if not moves:  # a same-day repeat (or a day that went backwards): logged, schedule unchanged
        return {g: Scheduled(g, schedule, schedule, today, False) for g in Grade}
    elapsed = _elapsed(schedule, today)
    out = {}
    for g in Grade:
        state = review(schedule.state, g, elapsed, max_interval)
        out[g] = Scheduled(g, schedule, Schedule(state, _add_days(today, state.interval), today), today, True)
    return out


def repeat_today(quality: int) -> bool:
    """SM-2's last step: an item graded below 4 is asked again before the session ends."""
    return quality < Grade.GOOD


def allowed_grades(correct: bool | None) -> tuple[Grade, ...]:
    """The run decides right or wrong; the learner only says how hard it was. None: the learner
    judges (a recall card), so every grade is open."""
    if correct is None:
        return tuple(Grade)
    return (Grade.HARD, Grade.GOOD, Grade.EASY) if correct else (Grade.BLACKOUT, Grade.WRONG, Grade.ALMOST)


def suggested_grade(correct: bool | None, seconds: float) -> Grade:
    """Default grade: a right answer given fast was easy, a slow one was hard; a wrong one is 1.

    A revealed recall card (`correct=None`) defaults to good, never easy: the learner saw the
    answer before judging, so speed says nothing about it."""
    if correct is None:
        return Grade.GOOD
    if not correct:
        return Grade.WRONG
    if seconds < 8:
        return Grade.EASY
    if seconds < 25:
        return Grade.GOOD
    return Grade.HARD


def check_grade(grade: object, correct: bool | None) -> Grade:
    """`grade` as a Grade if it is an integer 0-5 that agrees with the verdict; ValueError if not."""
    _check_quality(grade)
    g = Grade(grade)  # type: ignore[arg-type]
    if g not in allowed_grades(correct):
        raise ValueError(f"grade {int(g)} is not allowed for a {'right' if correct else 'wrong'} answer")
    return g


def _elapsed(schedule: Schedule, today: date) -> int | None:
    """Days since the last scheduled review; None for a card never reviewed."""
    if schedule.last_day is not None:
        return (today - schedule.last_day).days
    if schedule.due is not None:
        return (today - schedule.due).days + schedule.state.interval
    return None


def _add_days(day: date, days: int) -> date:
    """`day + days`, stopping at date.max instead of raising OverflowError."""
    room = (date.max - day).days
    return date.max if days >= room else day + timedelta(days=days)


def _ceil(value: float) -> int:
    return math.ceil(value - 1e-9)


def _check_quality(quality: object) -> None:
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 5:
        raise ValueError(f"SM-2 quality must be an integer 0-5, got {quality!r}")
