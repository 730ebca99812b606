from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from quizzer.deck import Card
from quizzer.answers import Ambiguous, ErrorAnswer, Runs, Unparsed, parse_dtype, parse_shape, parse_value, values_equal
from quizzer.grading import grade, right_choice
from quizzer.kinds import option_matches, parse_answer
from quizzer.runner import Outcome


def tensor(data, shape, dtype="torch.float32"):
    return Outcome("value", value={"type": "Tensor", "repr": f"tensor({data})", "shape": shape, "dtype": dtype,
                                   "device": "cpu", "requires_grad": False, "data": data})


def raised(kind="RuntimeError", mro=("RuntimeError", "Exception", "BaseException"), message="The size of tensor a (2) must match"):
    return Outcome("raised", error={"type": kind, "module": "builtins", "mro": list(mro), "message": message})


def plain(data):
    return Outcome("value", value={"type": type(data).__name__, "repr": repr(data), "data": data})


def card(kind, choices=()):
    return Card("d", "c", kind, "q", "x = 1", "x", choices=tuple(choices))


shapes = st.lists(st.integers(0, 999), max_size=6).map(tuple)


@given(shapes)
def test_shape_spellings_round_trip(shape):
    spellings = [repr(shape), ", ".join(map(str, shape)), repr(list(shape)), f"torch.Size({list(shape)})",
                 "x".join(map(str, shape)), " ".join(map(str, shape))]
    for text in spellings:
        if text:
            assert parse_shape(text) == shape, text


@pytest.mark.parametrize("text", ["(5, 3, 4, 1)", "5,3,4,1", "[5,3,4,1]", "torch.Size([5, 3, 4, 1])", "5x3x4x1", " 5 × 3 × 4 × 1 "])
def test_documented_shape_spellings(text):
    assert parse_shape(text) == (5, 3, 4, 1)


@pytest.mark.parametrize("text", ["(5, a)", "5.5", "shape", "(-1, 2)"])
def test_bad_shapes_get_a_hint(text):
    with pytest.raises(Unparsed):
        parse_shape(text)
    with pytest.raises(Unparsed, match=r"type a shape, e.g. \(2, 3\), 2x3"):
        parse_answer("shape", text)


@pytest.mark.parametrize("alias,name", [("float", "float32"), ("float32", "float32"), ("torch.float32", "float32"),
                                        ("long", "int64"), ("int64", "int64"), ("torch.long", "int64"), ("double", "float64"),
                                        ("half", "float16"), ("Bool", "bool"), ("np.float64", "float64"), ("int", "int32")])
def test_dtype_aliases(alias, name):
    assert parse_dtype(alias) == name


@given(st.recursive(st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-10**6, 10**6),
                    lambda children: st.lists(children, min_size=1, max_size=3), max_leaves=12))
def test_values_round_trip_through_repr(value):
    assert values_equal(parse_value(repr(value)), value)


@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=5))
def test_tensor_repr_with_four_decimals_matches(values):
    text = "tensor([" + ", ".join(f"{v:.4f}" for v in values) + "], dtype=torch.float64)"
    assert values_equal(parse_value(text), values)


def test_tolerance_follows_the_digits_typed():
    assert values_equal(parse_value("0.31"), 0.3133)
    assert not values_equal(parse_value("0.3"), 0.3633)
    assert not values_equal(parse_value("3"), 3.4)  # an integer answer means exactly that number
    assert values_equal(parse_value("3"), 3.0) and values_equal(parse_value("9."), 9.0)
    assert values_equal(parse_value("nan"), math.nan) and values_equal(parse_value("-inf"), -math.inf)


def test_values_compare_by_shape_and_type():
    assert not values_equal(parse_value("[4.0]"), 4.0)  # a 1-element list is not a scalar
    assert not values_equal(parse_value("[[1, 2], [3, 4]]"), [1, 2, 3, 4])
    assert not values_equal(parse_value("1"), True) and not values_equal(parse_value("True"), 1)
    assert values_equal(parse_value("tensor([[9., 9.], [9., 9.]])"), [[9.0, 9.0], [9.0, 9.0]])
    assert values_equal(parse_value("None"), None) and values_equal(parse_value("'abc'"), "abc")
    assert values_equal(parse_value("(2, 3)"), [2, 3])


@pytest.mark.parametrize("text,expected", [("y", True), ("Yes", True), ("true", True), ("1", True),
                                           ("n", False), ("NO", False), ("false", False), ("0", False)])
def test_bool_words(text, expected):
    assert parse_answer("bool", text) is expected


def test_errors_and_no_errors():
    assert parse_answer("shape", "error") == ErrorAnswer(None)
    assert parse_answer("value", "torch.cuda.OutOfMemoryError") == ErrorAnswer("OutOfMemoryError")
    for text in ("runs", "ok", "no error", "fine", "It runs.", "works"):
        assert parse_answer("raises", text) == Runs(), text
    for text in ("error", "raises", "it raises", "Exception"):
        assert isinstance(parse_answer("raises", text), ErrorAnswer), text
    assert parse_answer("raises", "RuntimeError") == ErrorAnswer("RuntimeError")
    with pytest.raises(Unparsed, match="type runs, or raises"):
        parse_answer("raises", "maybe")


@pytest.mark.parametrize("text", ["y", "n", "yes", "no", "Yes", "NO."])
def test_a_bare_yes_or_no_on_a_raises_card_is_ambiguous_not_graded(text):
    """'Does it run?' and 'Does it raise?' read yes in opposite ways: never grade it."""
    with pytest.raises(Ambiguous, match="type runs, or raises"):
        parse_answer("raises", text)
    for outcome in (raised(), plain(None)):
        v = grade(card("raises"), text, outcome)
        assert v.status == "unparsed" and not v.graded and "runs" in v.hint


def test_choice_by_number_letter_or_text():
    opts = ("(2, 3)", "RuntimeError", "torch.int64")
    assert [parse_answer("choice", t, opts) for t in ("2", "b", " runtimeerror ", "C")] == [1, 1, 1, 2]
    with pytest.raises(Unparsed):
        parse_answer("choice", "4", opts)


@pytest.mark.parametrize("typed,index", [("b", 1), ("B", 1), ("b)", 1), ("2", 1), ("int64", 1), ("torch.int64", 1),
                                         ("long", 1), ("a", 0), ("1", 0), ("int32", 0), ("c", 2), ("float", 2)])
def test_choice_reads_letters_numbers_and_text_as_the_list_shows_them(typed, index):
    opts = ("torch.int32", "torch.int64", "torch.float32")
    assert parse_answer("choice", typed, opts) == index
    right = tensor([1], [1], "torch.int64")
    assert grade(card("choice", opts), typed, right).correct is (index == 1)


@pytest.mark.parametrize("typed", ["d", "4", "int8", "banana", ""])
def test_a_choice_that_names_no_option_gets_a_hint(typed):
    opts = ("torch.int32", "torch.int64", "torch.float32")
    v = grade(card("choice", opts), typed, tensor([1], [1], "torch.int64"))
    assert v.status == "unparsed" and v.hint


def test_a_number_that_is_also_another_options_text_is_ambiguous():
    opts = ("3", "1", "2")  # typing 2: the second option, or the option that reads 2?
    with pytest.raises(Ambiguous):
        parse_answer("choice", "2", opts)
    assert parse_answer("choice", "c", opts) == 2 and parse_answer("choice", "1", ("1", "5")) == 0


def test_verdict_tells_both_sides():
    v = grade(card("shape"), "(5, 3, 4, 1)", raised())
    assert v.status == "wrong"
    assert v.sentence() == "you said (5, 3, 4, 1); it raised RuntimeError: The size of tensor a (2) must match"
    assert grade(card("shape"), "error", raised()).correct
    assert grade(card("raises"), "Exception", raised()).correct  # a base class counts
    assert not grade(card("raises"), "TypeError", raised()).correct
    assert not grade(card("raises"), "runs", raised()).correct
    assert grade(card("raises"), "runs", plain(None)).correct
    assert grade(card("raises"), "raises", raised()).said == "it raises"
    assert not grade(card("raises"), "raises", plain(None)).correct


def test_each_kind_against_real_shaped_outcomes():
    t = tensor([[1.0, 2.0]], [1, 2])
    assert grade(card("shape"), "1x2", t).correct and not grade(card("shape"), "(2,)", t).correct
    assert grade(card("dtype"), "float", t).correct and not grade(card("dtype"), "double", t).correct
    assert grade(card("value"), "[[1, 2]]", t).correct and not grade(card("value"), "[1, 2]", t).correct
    assert grade(card("bool"), "yes", tensor(True, [], "torch.bool")).correct
    assert grade(card("value"), "AddBackward0", plain("AddBackward0")).correct


def test_unparseable_answer_is_not_graded():
    v = grade(card("shape"), "five by three", tensor([], [5, 3]))
    assert v.status == "unparsed" and not v.graded and "type a shape" in v.sentence()


def test_failed_runs_and_broken_cards_are_not_held_against_the_learner():
    v = grade(card("shape"), "(2,)", Outcome("timeout", detail="timed out after 5 s"))
    assert v.status == "unrun" and not v.graded and "timed out after 5 s" in v.sentence()
    v = grade(card("shape"), "(2,)", plain(3))
    assert v.status == "broken" and not v.graded


def test_choice_right_option_comes_from_the_outcome():
    c = card("choice", ["(2, 3)", "(3, 2)", "RuntimeError"])
    assert right_choice(c, tensor([[0] * 3] * 2, [2, 3])) == 0
    assert right_choice(c, raised()) == 2
    assert grade(c, "c", raised()).correct and not grade(c, "1", raised()).correct
    assert grade(c, "1", tensor([[0] * 3] * 2, [2, 3])).truth.endswith("the answer is a) (2, 3)")
    assert grade(c, "1", tensor([[0] * 3] * 2, [2, 3])).said == "a) (2, 3)"
    assert option_matches("torch.int64", tensor([1], [1], "torch.int64"))
    assert option_matches("no error", plain(None)) and not option_matches("no error", raised())


def test_ambiguous_choice_is_broken():
    c = card("choice", ["6", "(6,)"])  # "6" is read as a value, "(6,)" as a shape: only the shape fits
    assert right_choice(c, tensor([0, 1, 2, 3, 4, 5], [6])) == 1
    both = card("choice", ["True", "yes"])
    assert grade(both, "1", plain(True)).status == "broken"
