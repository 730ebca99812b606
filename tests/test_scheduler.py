from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from quizzer.scheduler import (
    MIN_EASE, Grade, Schedule, Sm2State, allowed_grades, check_grade, next_ease, next_states,
    repeat_today, review, suggested_grade,
)


def run(grades, state=Sm2State()):
    out = []
    for q in grades:
        state = review(state, q)
        out.append((round(state.ease, 2), state.interval, state.repetitions, state.lapses))
    return out


def test_worked_example_by_hand():
    # EF: 2.5 -q4-> 2.5 -q5-> 2.6 -q3-> 2.46 ; I: 1, 6, ceil(6*2.46 = 14.76) = 15
    # q2: lapse, repetitions restart, EF unchanged; then 1, 6, ceil(6*2.46) = 15, ceil(15*2.56 = 38.4) = 39
    assert run([4, 5, 3, 2, 4, 4, 4, 5]) == [
        (2.5, 1, 1, 0), (2.6, 6, 2, 0), (2.46, 15, 3, 0),
        (2.46, 1, 0, 1),
        (2.46, 1, 1, 1), (2.46, 6, 2, 1), (2.46, 15, 3, 1), (2.56, 39, 4, 1),
    ]


def test_ease_formula_for_each_quality():
    assert [next_ease(2.5, q) for q in range(6)] == [1.7, 1.96, 2.18, 2.36, 2.5, 2.6]


def test_ease_floor_reached_by_repeated_hard_answers():
    # 2.5 - 0.14 * k until it would drop below 1.3: 2.36, 2.22, ..., 1.38, then 1.3 and stays
    eases = [e for e, *_ in run([3] * 11)]
    assert eases[:9] == [2.36, 2.22, 2.08, 1.94, 1.8, 1.66, 1.52, 1.38, 1.3]
    assert eases[9:] == [1.3, 1.3]


def test_interval_rounds_up_but_not_on_float_noise():
    # 6 * 2.5 is exactly 15: float noise must not round it to 16
    assert review(Sm2State(ease=2.5, interval=6, repetitions=2), 4).interval == 15
    assert review(Sm2State(ease=1.3, interval=6, repetitions=2), 3).interval == 8  # 6 * 1.3 = 7.8 -> 8


def test_quality_out_of_range_is_refused():
    with pytest.raises(ValueError):
        review(Sm2State(), 6)


def test_same_session_repeat_rule_and_grade_ranges():
    assert [repeat_today(q) for q in range(6)] == [True, True, True, True, False, False]
    assert allowed_grades(True) == (3, 4, 5) and allowed_grades(False) == (0, 1, 2)
    assert suggested_grade(False, 1.0) == 1
    assert [suggested_grade(True, s) for s in (2, 12, 60)] == [5, 4, 3]


@given(st.lists(st.integers(0, 5), max_size=40))
def test_ease_never_below_floor(grades):
    state = Sm2State()
    for q in grades:
        state = review(state, q)
        assert state.ease >= MIN_EASE
        assert state.interval >= 1


@given(st.lists(st.integers(3, 5), min_size=1, max_size=30))
def test_intervals_never_shrink_while_answers_pass(grades):
    state, last = Sm2State(), 0
    for q in grades:
        state = review(state, q)
        assert state.interval >= last
        last = state.interval


@given(st.integers(0, 2), st.floats(1.3, 3.0))
def test_lapse_keeps_ease(q, ease):
    state = review(Sm2State(ease=ease, interval=30, repetitions=5), q)
    assert state.ease == ease and state.interval == 1 and state.repetitions == 0


# -- one home for what a grade does: Grade, next_states -----------------------------------------



D0 = date(2026, 3, 2)


def reviewed(ease=2.5, interval=6, repetitions=2, last_day=D0, lapses=0):
    """A card last scheduled on `last_day`, due `interval` days later."""
    return Schedule(Sm2State(ease, interval, repetitions, lapses), last_day + timedelta(days=interval), last_day)


def test_grade_names_match_their_labels():
    assert {int(g): g.label for g in Grade} == {0: "blackout", 1: "wrong", 2: "almost", 3: "hard", 4: "good", 5: "easy"}
    assert [g.passed for g in Grade] == [False, False, False, True, True, True]


def test_next_states_of_a_new_card_on_a_given_day():
    states = next_states(Schedule(), D0)
    assert set(states) == set(Grade) and all(s.moves and s.today == D0 for s in states.values())
    assert [(s.after.state.interval, s.after.due, s.after.last_day) for s in states.values()] == [(1, D0 + timedelta(days=1), D0)] * 6
    assert [s.after.state.lapses for s in states.values()] == [1, 1, 1, 0, 0, 0]
    assert states[Grade.EASY].after.state.ease == 2.6 and states[Grade.BLACKOUT].after.state.ease == 2.5


def test_on_time_review_gives_the_texts_intervals():
    # interval 6 set on 2 March, reviewed on 8 March: 6 * 2.36 = 14.16 -> 15, 6 * 2.5 = 15, 6 * 2.6 = 15.6 -> 16
    states = next_states(reviewed(), date(2026, 3, 8))
    assert [states[g].after.state.interval for g in (Grade.HARD, Grade.GOOD, Grade.EASY)] == [15, 15, 16]
    assert states[Grade.GOOD].after.due == date(2026, 3, 23)
    assert states[Grade.WRONG].after.state == Sm2State(2.5, 1, 0, 1)


def test_same_day_repeat_and_a_day_that_went_backwards_move_nothing():
    card = reviewed(last_day=D0)
    for day in (D0, D0 - timedelta(days=1)):  # same study day; flying west, the day before
        states = next_states(card, day)
        assert all(not s.moves and s.after == card and s.before == card for s in states.values())
        assert states[Grade.GOOD].days == (card.due - day).days


def test_early_review_does_not_inflate_the_interval():
    # interval 6 from 2 March (due 8 March), reviewed 5 days early on 3 March (1 day elapsed):
    # on time grade 3 would give 15 days; early it gives max(6, ceil(1 * 2.36)) = 6, due 9 March
    states = next_states(reviewed(), date(2026, 3, 3))
    hard = states[Grade.HARD].after
    assert (hard.state.interval, hard.state.ease, hard.due) == (6, 2.36, date(2026, 3, 9))
    easy = states[Grade.EASY].after  # an early easy answer may not raise EF: max(6, ceil(1 * 2.5)) = 6
    assert (easy.state.interval, easy.state.ease) == (6, 2.5)
    # interval 15 from 2 March, reviewed on 12 March (10 of 15 days): max(15, ceil(10 * 2.5)) = 25, not 38
    assert next_states(reviewed(interval=15, repetitions=3), date(2026, 3, 12))[Grade.GOOD].after.state.interval == 25
    assert next_states(reviewed(interval=15, repetitions=3), date(2026, 3, 17))[Grade.GOOD].after.state.interval == 38


def test_late_review_credits_part_of_the_delay():
    # interval 10 from 2 March (due 12 March), reviewed on 20 March: 8 days late
    states = next_states(reviewed(interval=10, repetitions=3), date(2026, 3, 20))
    assert states[Grade.HARD].after.state.interval == 29  # (10 + 8/4) * 2.36 = 28.32 -> 29
    assert states[Grade.GOOD].after.state.interval == 35  # (10 + 8/2) * 2.5 = 35
    assert states[Grade.EASY].after.state.interval == 47  # (10 + 8) * 2.6 = 46.8 -> 47
    assert states[Grade.WRONG].after.state.interval == 1  # a late lapse is a lapse
    on_time = next_states(reviewed(interval=10, repetitions=3), date(2026, 3, 12))
    assert on_time[Grade.GOOD].after.state.interval == 25


def test_daily_easy_reviews_of_one_card_do_not_explode():
    # the issue: studied daily with grade 5, intervals went 1, 6, 17, 50, 150, ... 778462 and overflowed
    card, intervals = Schedule(), []
    for day in range(40):
        card = next_states(card, D0 + timedelta(days=day))[Grade.EASY].after
        intervals.append(card.state.interval)
    assert intervals == [1] + [6] * 39 and card.state.ease == 2.7


def test_maximum_interval_caps_growth_and_dates_never_overflow():
    card, day = Schedule(), D0
    for _ in range(12):  # always on the due day, always easy
        card = next_states(card, day, max_interval=36_500)[Grade.EASY].after
        day = card.due
    assert card.state.interval == 36_500
    late = date.max - timedelta(days=3)
    assert next_states(reviewed(interval=30, repetitions=5, last_day=late - timedelta(days=30)), late)[Grade.EASY].after.due == date.max
    assert review(Sm2State(2.5, 50, 4), 5, max_interval=100).interval == 100


def test_grades_must_be_integers_that_agree_with_the_verdict():
    assert check_grade(4, True) is Grade.GOOD and check_grade(0, None) is Grade.BLACKOUT
    for bad, correct in [(3.5, None), (5, False), (2, True), (6, None), (True, None), ("4", True)]:
        with pytest.raises(ValueError):
            check_grade(bad, correct)
    assert suggested_grade(None, 1.0) == Grade.GOOD  # a revealed recall card: good, never easy


days_apart = st.integers(min_value=-400, max_value=200_000)


@given(st.dates(), st.lists(st.tuples(days_apart, st.integers(0, 5)), max_size=40), st.integers(1, 100_000))
def test_any_grades_on_any_days_never_raise(start, steps, cap):
    card, day = Schedule(), start
    for gap, q in steps:
        day = date.fromordinal(min(max(day.toordinal() + gap, 1), date.max.toordinal()))  # any day, even backwards
        before = card
        result = next_states(card, day, max_interval=cap)[Grade(q)]
        card = result.after
        assert result.moves == (before.last_day is None or day > before.last_day)
        assert card.state.ease >= MIN_EASE and 1 <= card.state.interval <= cap
        assert card.due is not None and (card.due >= day or not result.moves)
        assert before.last_day is None or card.last_day >= before.last_day  # never goes backwards


# -- differential test: the float implementation against an exact reading of the text ----------

def text_reading(grades, max_interval):
    """SM-2's text with exact fractions: EF first (q >= 3 only), I(n) = ceil(I(n-1) * EF'), capped."""
    ef, interval, n, out = Fraction(5, 2), 0, 0, []
    for q in grades:
        if q < 3:
            n, interval = 0, 1
        else:
            d = 5 - q
            ef = max(Fraction(13, 10), ef + Fraction(1, 10) - d * (Fraction(8, 100) + d * Fraction(2, 100)))
            n += 1
            interval = 1 if n == 1 else 6 if n == 2 else min(math.ceil(interval * ef), max_interval)
        out.append((ef, interval, n))
    return out


@given(st.lists(st.integers(0, 5), max_size=60), st.sampled_from([36_500, 1_000, 50]))
def test_float_implementation_matches_exact_fractions(grades, cap):
    state, got = Sm2State(), []
    for q in grades:
        state = review(state, q, max_interval=cap)
        got.append((state.ease, state.interval, state.repetitions))
    assert got == [(float(ef), i, n) for ef, i, n in text_reading(grades, cap)]
