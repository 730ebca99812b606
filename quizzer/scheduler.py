"""SM-2, as published by P. Wozniak (SuperMemo 2, 1987-1990), in small pure functions.

Reference text: https://super-memory.com/english/ol/sm2.htm

Where that text is ambiguous, the choice made here is stated in the docstring and tested:

* Order of steps 3 and 5: the E-Factor is modified first, and the next interval I(n) = I(n-1) * EF
  uses the *modified* EF ("after each repetition modify the E-Factor"; the interval to the next
  repetition is only fixed once this repetition has been assessed).
* "Start repetitions from the beginning without changing the E-Factor" (q < 3): repetitions go back
  to 0, the next interval is I(1) = 1 day, EF stays as it was.
* Rounding: I(n) is rounded *up* to whole days (ceil), as the issue asks; floating error below
  1e-9 is ignored so that 6 * 2.5 stays 15, not 16.
* Same-day repeats (items that scored < 4 come back in the same session until they score >= 4)
  are logged but do not move the schedule: only the first grade of a study day does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

START_EASE = 2.5
MIN_EASE = 1.3
MATURE_DAYS = 21

AGAIN, HARD_WRONG, WRONG = 0, 1, 2
HARD, GOOD, EASY = 3, 4, 5
GRADE_NAMES = {0: "blackout", 1: "wrong", 2: "almost", 3: "hard", 4: "good", 5: "easy"}


@dataclass(frozen=True)
class Sm2State:
    ease: float = START_EASE
    interval: int = 0  # days until the next repetition; 0 for a card never reviewed
    repetitions: int = 0  # successful repetitions in a row (n - 1 in SuperMemo's notation)
    lapses: int = 0


def next_ease(ease: float, quality: int) -> float:
    """EF' = EF + (0.1 - (5-q)(0.08 + (5-q)0.02)), never below 1.3."""
    _check_quality(quality)
    d = 5 - quality
    return max(MIN_EASE, round(ease + (0.1 - d * (0.08 + d * 0.02)), 6))


def review(state: Sm2State, quality: int) -> Sm2State:
    """The state after one scheduled repetition graded `quality` (0-5)."""
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
        interval = math.ceil(state.interval * ease - 1e-9)
    return Sm2State(ease=ease, interval=interval, repetitions=n, lapses=state.lapses)


def repeat_today(quality: int) -> bool:
    """SM-2's last step: an item graded below 4 is asked again before the session ends."""
    return quality < 4


def allowed_grades(correct: bool) -> tuple[int, ...]:
    """The run decides right or wrong; the learner only says how hard it was."""
    return (HARD, GOOD, EASY) if correct else (AGAIN, HARD_WRONG, WRONG)


def suggested_grade(correct: bool, seconds: float) -> int:
    """Default grade: a right answer given fast was easy, a slow one was hard; a wrong one is 1."""
    if not correct:
        return HARD_WRONG
    if seconds < 8:
        return EASY
    if seconds < 25:
        return GOOD
    return HARD


def _check_quality(quality: int) -> None:
    if not isinstance(quality, int) or not 0 <= quality <= 5:
        raise ValueError(f"SM-2 quality must be an integer 0-5, got {quality!r}")
