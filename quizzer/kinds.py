"""What each kind of card means, in one place: how an answer is read, what the truth is, how the
two are compared and shown, and what the learner is told about typing it.

The deck loader, grading, `quizzer check`, the study screen, the help screen and the deck-format
doc all read this registry, so adding a kind is one entry here (and its examples in the doc, which a
test checks).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from .answers import (
    Ambiguous,
    ErrorAnswer,
    Num,
    Runs,
    Unparsed,
    canonical_dtype,
    parse_bool,
    parse_dtype,
    parse_error,
    parse_runs_or_raises,
    parse_shape,
    parse_value,
    show_shape,
    show_value,
    values_equal,
)

if TYPE_CHECKING:  # only annotations: the protocol is not needed to show a card
    from .protocol import Outcome


class Kind(StrEnum):
    SHAPE = "shape"
    RAISES = "raises"
    VALUE = "value"
    DTYPE = "dtype"
    BOOL = "bool"
    CHOICE = "choice"
    RECALL = "recall"


class Control(Enum):
    """How the learner answers: typing, picking an option, a single key, or revealing the back."""

    TYPE = "type"
    PICK = "pick"
    KEYS = "keys"
    REVEAL = "reveal"


class NotAskable(Exception):
    """The outcome is not something this kind of card can ask about: the card is broken."""


# -- truths ------------------------------------------------------------------------------------
def _value(outcome: Outcome) -> dict[str, Any]:
    return outcome.value or {}


def truth_shape(outcome: Outcome) -> tuple[int, ...]:
    v = _value(outcome)
    if "shape" not in v:
        raise NotAskable(f"a shape card's ask must give a tensor, array or torch.Size, got {v.get('type')}")
    return tuple(v["shape"])


def truth_dtype(outcome: Outcome) -> str:
    v = _value(outcome)
    if "dtype" not in v:
        raise NotAskable(f"a dtype card's ask must give a tensor or a dtype, got {v.get('type')}")
    return canonical_dtype(v["dtype"])


def truth_bool(outcome: Outcome) -> bool:
    data = _value(outcome).get("data")
    while isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, bool):
        raise NotAskable(f"a bool card's ask must give True or False, got {_value(outcome).get('repr')}")
    return data


def truth_value(outcome: Outcome) -> Any:
    v = _value(outcome)
    if "data" in v:
        return v["data"]
    if "dtype" in v and "shape" not in v:  # a dtype object: compare by its name
        return v["dtype"]
    raise NotAskable(f"a value card's ask must give plain data (numbers, lists, tensors, text), got {v.get('type')}")


def _truth_runs(outcome: Outcome) -> Runs:
    return Runs()  # reached only when the snippet did not raise


def _no_truth(outcome: Outcome) -> Any:
    raise NotAskable("this kind of card is not compared with a run")


# -- the registry ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    control: Control
    parse: Callable[[str], Any]  # learner text -> answer; raises Unparsed
    truth: Callable[[Outcome], Any]  # a clean run -> what the card asks about; raises NotAskable
    same: Callable[[Any, Any], bool]  # (answer, truth) -> right?
    show: Callable[[Any], str]  # an answer or a truth, as the verdict prints it
    noun: str  # what the learner types: "a shape"
    hint: str  # shown for an answer that cannot be read
    examples: tuple[str, ...]  # spellings for the help screen, the doc and placeholders
    says_error: bool = True  # may the learner answer "error" / an exception name?
    needs_ask: bool = True  # the truth is the value of `ask`

    @property
    def runs(self) -> bool:
        return self.control is not Control.REVEAL


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


ERROR_TAIL = "; or error / the exception's name if it raises"

KINDS: dict[Kind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(Kind.SHAPE, Control.TYPE, parse_shape, truth_shape, _eq, show_shape, "a shape",
                 "type a shape, e.g. (2, 3), 2x3, torch.Size([2, 3]) or () for a scalar" + ERROR_TAIL,
                 ("(2, 3)", "4x1x5", "torch.Size([7])", "()", "6 2")),
        KindSpec(Kind.VALUE, Control.TYPE, parse_value, truth_value, values_equal, show_value, "a value",
                 "type a value, e.g. 9, 0.5, [[1, 2], [3, 4]], tensor([1., 2.]), True, None" + ERROR_TAIL,
                 ("9", "[[1, 2], [3, 4]]", "0.25", "tensor([1., 2.])", "None", "'abc'")),
        KindSpec(Kind.DTYPE, Control.TYPE, parse_dtype, truth_dtype, _eq, str, "a dtype",
                 "type a dtype, e.g. float16, torch.int8, double, uint8" + ERROR_TAIL,
                 ("float16", "torch.int8", "double", "uint8", "bool", "complex64")),
        KindSpec(Kind.RAISES, Control.TYPE, parse_runs_or_raises, _truth_runs, _eq, str,
                 "runs, or raises", "type runs, or raises / the exception's name (e.g. KeyError)",
                 ("runs", "ok", "raises", "error", "KeyError", "TypeError", "IndexError"),
                 says_error=False, needs_ask=False),
        KindSpec(Kind.BOOL, Control.KEYS, parse_bool, truth_bool, _eq, lambda b: "True" if b else "False",
                 "yes or no", "press y (yes / true) or n (no / false); e if you think it raises",
                 ("y", "n", "e")),
        KindSpec(Kind.CHOICE, Control.PICK, lambda text: text, _no_truth, _eq, str, "an option",
                 "type an option's letter (b), number (2) or text, or pick one with ↑/↓",
                 ("b", "2", "torch.int64"), says_error=False),
        KindSpec(Kind.RECALL, Control.REVEAL, lambda text: text, _no_truth, _eq, str, "",
                 "press space to see the answer, then grade yourself", ("space",),
                 says_error=False, needs_ask=False),
    )
}


def spec(kind: str) -> KindSpec:
    return KINDS[Kind(kind)]


# -- answers -----------------------------------------------------------------------------------
def parse_answer(kind: str, text: str, choices: tuple[str, ...] = ()) -> Any:
    """The learner's text as a typed answer; raises Unparsed (with the kind's hint as message)."""
    s = spec(kind)
    if not text.strip():
        raise Unparsed(s.hint)
    try:
        if s.kind is Kind.CHOICE:
            return parse_choice(text, choices)
        if s.says_error and (err := parse_error(text)) is not None:
            return err
        return s.parse(text)
    except Ambiguous as exc:
        raise Ambiguous(_ambiguity(s, str(exc), len(choices))) from None
    except Unparsed:
        raise Unparsed(s.hint) from None


def _ambiguity(s: KindSpec, what: str, options: int) -> str:
    if s.kind is Kind.RAISES:
        return "yes or no could mean either here: type runs, or raises / the exception's name"
    letters = ", ".join(chr(97 + i) for i in range(options))
    return f"'{what}' could mean more than one option: type its letter ({letters})"


def matches(kind: str, answer: Any, outcome: Outcome) -> bool:
    """Does a parsed answer agree with a clean run? Raises NotAskable for a broken card."""
    if isinstance(answer, ErrorAnswer):
        return outcome.raised and (answer.name is None or answer.name in (outcome.error or {}).get(
            "mro", [(outcome.error or {}).get("type")]))
    if isinstance(answer, Runs):
        return not outcome.raised
    if outcome.raised:
        return False
    s = spec(kind)
    return s.same(answer, s.truth(outcome))


def show_answer(kind: str, answer: Any, choices: tuple[str, ...] = ()) -> str:
    if isinstance(answer, (ErrorAnswer, Runs)):
        return str(answer)
    if kind == Kind.CHOICE:
        return choice_label(answer, choices[answer])
    return spec(kind).show(answer)


# -- choice cards ------------------------------------------------------------------------------
def choice_label(index: int, option: str) -> str:
    """How an option is listed and named everywhere: 'b) torch.int64'."""
    return f"{chr(97 + index)}) {option}"


def readings(text: str) -> list[tuple[str, Any]]:
    """Every way an option (or what the learner typed for one) can be read."""
    t = text.strip()
    found: list[tuple[str, Any]] = []
    try:  # the raises kind's own reading: "runs", "no error", "raises", "RuntimeError", ...
        found.append(("raises", parse_runs_or_raises(t)))
    except Unparsed:
        pass
    for kind, parser in (("dtype", parse_dtype), ("value", parse_value)):
        try:
            found.append((kind, parser(t)))
        except Unparsed:
            pass
    if re.match(r"^(torch\.Size|\(|\[)|^\d+(\s*x\s*\d+)+$", t):
        try:
            found.append(("shape", parse_shape(t)))
        except Unparsed:
            pass
    if t.lower() in ("true", "false", "yes", "no"):
        found.append(("bool", t.lower() in ("true", "yes")))
    return found


def _plain(v: Any) -> Any:
    if isinstance(v, Num):
        return v.value
    if isinstance(v, list):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _plain(x)) for k, x in v.items()))
    return v


def _same_reading(a: list[tuple[str, Any]], b: list[tuple[str, Any]]) -> bool:
    plain_b = {(kind, repr(_plain(v))) for kind, v in b}
    return any((kind, repr(_plain(v))) in plain_b for kind, v in a)


def parse_choice(text: str, choices: tuple[str, ...]) -> int:
    """The option the learner means: its letter, its number, or its text read like the options.

    A number that is also another option's text ('2' when the options are 1, 2, 3 in a different
    order) is ambiguous and refused rather than guessed."""
    t = " ".join(text.split())
    n = len(choices)
    norm = [" ".join(c.split()) for c in choices]
    exact = [i for i, c in enumerate(norm) if c.lower() == t.lower()]
    if re.fullmatch(r"[a-zA-Z]\)?", t) and ord(t[0].lower()) - 97 < n:
        return ord(t[0].lower()) - 97
    if re.fullmatch(r"\d+", t) and 1 <= int(t) <= n:
        position = int(t) - 1
        by_text = exact or [i for i, c in enumerate(choices) if _same_reading(readings(t), readings(c))]
        if by_text and by_text != [position]:
            raise Ambiguous(t)
        return position
    if len(exact) == 1:
        return exact[0]
    said = readings(t)
    hits = [i for i, c in enumerate(choices) if said and _same_reading(said, readings(c))]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise Ambiguous(t)
    raise Unparsed("choice")


def option_matches(option: str, outcome: Outcome) -> bool:
    """Read a choice option every way it can be read; True if any reading agrees with the run."""
    for kind, answer in readings(option):
        if outcome.raised and not isinstance(answer, ErrorAnswer):
            continue
        try:
            if matches(kind, answer, outcome):
                return True
        except NotAskable:
            continue
    return False


# -- what the learner is shown before answering ----------------------------------------------
def placeholder(kind: str, expects: tuple[str, ...] = ()) -> str:
    """The answer box's placeholder: the syntax, with examples that are never the card's answer."""
    s = spec(kind)
    if s.kind is Kind.RAISES:
        exc = _examples(s, expects, start=4, count=1)
        return "runs · raises · or the exception's name" + (f", e.g. {exc[0]}" if exc else "")
    if s.kind is Kind.CHOICE:
        return "the option's letter, number or text — or ↑/↓ then Enter"
    shown = _examples(s, expects, start=0, count=2)
    return f"{s.noun.removeprefix('a ')}, e.g. {' or '.join(shown)} — or 'error'"


def _examples(s: KindSpec, expects: tuple[str, ...], start: int, count: int) -> list[str]:
    """Examples that cannot give the answer away: none reads as any of the card's `expect`s."""
    banned = [e for e in expects if e]
    out = []
    for example in s.examples[start:]:
        if not any(_reads_as(s, example, e) for e in banned):
            out.append(example)
        if len(out) == count:
            break
    return out


def _reads_as(s: KindSpec, example: str, expect: str) -> bool:
    if example.strip().lower() == expect.strip().lower():
        return True
    try:
        a, b = parse_answer(s.kind, example), parse_answer(s.kind, expect)
    except Unparsed:
        return False
    if isinstance(b, ErrorAnswer) or isinstance(a, ErrorAnswer):
        return isinstance(a, ErrorAnswer) and isinstance(b, ErrorAnswer) and a.name == b.name
    return repr(_plain(a)) == repr(_plain(b))
