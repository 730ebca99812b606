from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from quizzer.scheduler import (
    MIN_EASE, Sm2State, allowed_grades, next_ease, repeat_today, review, suggested_grade,
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
