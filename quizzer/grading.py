"""Reading the learner's answer and comparing it with what the run really did.

Parsers are forgiving about spelling (a shape may be `(5, 3)`, `5x3` or `torch.Size([5, 3])`) and
strict about meaning (a 1-element list is not a scalar). An answer that cannot be read is never
graded: the learner gets a hint and tries again.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

from .deck import Card
from .protocol import Outcome

# -------------------------------------------------------------------------------------------
# Answers
# -------------------------------------------------------------------------------------------
ERROR_WORDS = {"error", "err", "raises", "raise", "exception", "throws", "yes", "y", "fails", "it raises"}
NO_ERROR_WORDS = {"no", "n", "none", "ok", "fine", "nothing", "no error", "runs", "passes", "clean"}
TRUE_WORDS = {"y", "yes", "true", "t", "1"}
FALSE_WORDS = {"n", "no", "false", "f", "0"}
_EXC_NAME = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Z]\w*(?:Error|Exception|Warning|Interrupt|Exit|Iteration))$")

DTYPE_ALIASES = {
    "float": "float32", "float32": "float32", "single": "float32",
    "double": "float64", "float64": "float64",
    "half": "float16", "float16": "float16", "bfloat16": "bfloat16",
    "long": "int64", "int64": "int64", "int": "int32", "int32": "int32",
    "short": "int16", "int16": "int16", "int8": "int8", "char": "int8", "uint8": "uint8", "byte": "uint8",
    "bool": "bool", "boolean": "bool",
    "cfloat": "complex64", "complex64": "complex64", "cdouble": "complex128", "complex128": "complex128",
    "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
}

HINTS = {
    "shape": "read as a shape, e.g. (5, 3, 4, 1), 5x3x4x1 or () for a scalar; or 'error' if it raises",
    "dtype": "read as a dtype, e.g. float32, torch.int64, long; or 'error' if it raises",
    "bool": "answer y or n (yes/no, true/false); or 'error' if it raises",
    "value": "read as a value, e.g. 9, 3.5, [[1, 2], [3, 4]], tensor([1., 2.]), True, None; or 'error' if it raises",
    "raises": "answer 'no' if it runs cleanly, 'error' if it raises, or the exception's name, e.g. RuntimeError",
    "choice": "pick an option by its number, its letter or its text",
}


@dataclass(frozen=True)
class ErrorAnswer:
    name: str | None  # None: "it raises", without saying what

    def __str__(self) -> str:
        return f"it raises {self.name}" if self.name else "it raises"


@dataclass(frozen=True)
class NoError:
    def __str__(self) -> str:
        return "it runs without raising"


@dataclass(frozen=True)
class Num:
    """A number as typed, with the tolerance its digits imply ('0.31' means 0.305..0.315)."""

    value: float
    tol: float = 0.0

    def __str__(self) -> str:
        return repr(self.value)


class Unparsed(ValueError):
    pass


def parse_error(text: str) -> ErrorAnswer | None:
    t = text.strip().rstrip(".!")
    if t.lower() in ERROR_WORDS - {"yes", "y"}:
        return ErrorAnswer(None)
    m = _EXC_NAME.match(t)
    if m:
        return ErrorAnswer(m.group(1))
    return None


def parse_shape(text: str) -> tuple[int, ...]:
    t = text.strip()
    t = re.sub(r"^torch\.Size\s*\((.*)\)$", r"\1", t, flags=re.S).strip()
    if t.lower() in ("()", "[]", "scalar", "", "0-d", "0d"):
        return ()
    while len(t) >= 2 and t[0] + t[-1] in ("()", "[]"):
        t = t[1:-1].strip()
    if not t:
        return ()
    parts = [p for p in re.split(r"\s*(?:,|x|×|\*|\s)\s*", t) if p != ""]
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise Unparsed(HINTS["shape"])
    return tuple(int(p) for p in parts)


def parse_dtype(text: str) -> str:
    t = text.strip().lower()
    t = re.sub(r"^(torch|np|numpy)\.", "", t)
    t = re.sub(r"^dtype\(['\"]?(.*?)['\"]?\)$", r"\1", t)
    if t in DTYPE_ALIASES:
        return DTYPE_ALIASES[t]
    raise Unparsed(HINTS["dtype"])


def canonical_dtype(name: str) -> str:
    try:
        return parse_dtype(name)
    except Unparsed:
        return name.replace("torch.", "")


def parse_bool(text: str) -> bool:
    t = text.strip().lower().rstrip(".!")
    if t in TRUE_WORDS or t == "tensor(true)":
        return True
    if t in FALSE_WORDS or t == "tensor(false)":
        return False
    raise Unparsed(HINTS["bool"])


_TENSOR_KWARGS = re.compile(r",\s*(?:dtype|requires_grad|grad_fn|device|size)\s*=.*$", re.S)


def parse_value(text: str) -> Any:
    """A Python/torch literal; tensor(...) and array(...) wrappers and their keyword tails are dropped."""
    t = text.strip()
    m = re.fullmatch(r"(?:torch\.)?(?:tensor|array|np\.array|Parameter containing:\s*tensor)\s*\((.*)\)", t, flags=re.S)
    if m:
        t = _TENSOR_KWARGS.sub("", m.group(1)).strip()
    try:
        tree = ast.parse(t, mode="eval")
        return _literal(tree.body, t)
    except (SyntaxError, ValueError, RecursionError):
        raise Unparsed(HINTS["value"]) from None


_NAMES = {"nan": math.nan, "inf": math.inf, "True": True, "False": False, "None": None,
          "true": True, "false": False, "none": None}


def _literal(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, float):
            return Num(value, _typed_tolerance(ast.get_source_segment(source, node) or ""))
        if isinstance(value, (int, str, bool)) or value is None:
            return value
        raise ValueError("unsupported literal")
    if isinstance(node, ast.Name) and node.id in _NAMES:
        value = _NAMES[node.id]
        return Num(value) if isinstance(value, float) else value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal(node.operand, source)
        sign = -1 if isinstance(node.op, ast.USub) else 1
        if isinstance(inner, Num):
            return Num(sign * inner.value, inner.tol)
        if isinstance(inner, int) and not isinstance(inner, bool):
            return sign * inner
        raise ValueError("unsupported sign")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, source) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_key(_literal(k, source)): _literal(v, source) for k, v in zip(node.keys, node.values)}
    raise ValueError("unsupported expression")


def _key(k: Any) -> Any:
    return k.value if isinstance(k, Num) else k


def _typed_tolerance(token: str) -> float:
    m = re.fullmatch(r"[+-]?\d*\.(\d+)", token.strip())
    return 0.5 * 10 ** -len(m.group(1)) if m else 0.0


def parse_choice(text: str, choices: tuple[str, ...]) -> int:
    t = text.strip()
    if re.fullmatch(r"\d+", t) and 1 <= int(t) <= len(choices):
        return int(t) - 1
    if re.fullmatch(r"[a-zA-Z]", t) and ord(t.lower()) - 97 < len(choices):
        return ord(t.lower()) - 97
    norm = " ".join(t.split()).lower()
    for i, c in enumerate(choices):
        if " ".join(c.split()).lower() == norm:
            return i
    raise Unparsed(HINTS["choice"])


def parse_answer(kind: str, text: str, choices: tuple[str, ...] = ()) -> Any:
    """The answer as a typed value, or Unparsed(hint). Every executable kind may say 'it raises'."""
    if kind == "choice":
        return parse_choice(text, choices)
    if not text.strip():
        raise Unparsed(HINTS.get(kind, "type an answer"))
    if kind == "raises":
        t = text.strip().lower().rstrip(".!")
        if t in NO_ERROR_WORDS:
            return NoError()
        if t in ("yes", "y"):
            return ErrorAnswer(None)
    err = parse_error(text)
    if err is not None:
        return err
    parser = {"shape": parse_shape, "dtype": parse_dtype, "bool": parse_bool, "value": parse_value}.get(kind)
    if parser is None:
        raise Unparsed(HINTS.get(kind, "type an answer"))
    return parser(text)


# -------------------------------------------------------------------------------------------
# Truth from an outcome
# -------------------------------------------------------------------------------------------
class NotAskable(Exception):
    """The outcome is not something this kind of card can ask about: the card is broken."""


def truth_shape(outcome: Outcome) -> tuple[int, ...]:
    v = outcome.value or {}
    if "shape" not in v:
        raise NotAskable(f"a shape card's ask must give a tensor, array or torch.Size, got {v.get('type')}")
    return tuple(v["shape"])


def truth_dtype(outcome: Outcome) -> str:
    v = outcome.value or {}
    if "dtype" not in v:
        raise NotAskable(f"a dtype card's ask must give a tensor or a dtype, got {v.get('type')}")
    return canonical_dtype(v["dtype"])


def truth_bool(outcome: Outcome) -> bool:
    data = (outcome.value or {}).get("data")
    while isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, bool):
        raise NotAskable(f"a bool card's ask must give True or False, got {(outcome.value or {}).get('repr')}")
    return data


def truth_value(outcome: Outcome) -> Any:
    v = outcome.value or {}
    if "data" in v:
        return v["data"]
    if "dtype" in v and "shape" not in v:  # a dtype object: compare by its name
        return v["dtype"]
    raise NotAskable(f"a value card's ask must give plain data (numbers, lists, tensors, text), got {v.get('type')}")


def values_equal(said: Any, truth: Any) -> bool:
    if isinstance(said, Num) or (isinstance(said, int) and not isinstance(said, bool)):
        if isinstance(truth, bool) or not isinstance(truth, (int, float)):
            return False
        s = said.value if isinstance(said, Num) else float(said)
        tol = said.tol if isinstance(said, Num) else 0.0
        if math.isnan(s) or math.isnan(float(truth)):
            return math.isnan(s) and math.isnan(float(truth))
        if math.isinf(s) or math.isinf(float(truth)):
            return s == float(truth)
        return abs(s - truth) <= max(tol + 1e-12, 1e-5 * abs(truth), 1e-6)
    if isinstance(said, bool) or said is None:
        return said is truth or (isinstance(truth, bool) and said == truth and isinstance(said, bool))
    if isinstance(said, str):
        return isinstance(truth, str) and said.strip() == truth.strip()
    if isinstance(said, list):
        return isinstance(truth, list) and len(said) == len(truth) and all(map(values_equal, said, truth))
    if isinstance(said, dict):
        return isinstance(truth, dict) and set(map(str, said)) == set(map(str, truth)) and all(
            values_equal(said[k], truth.get(str(k), truth.get(k))) for k in said)
    return False


def error_matches(answer: ErrorAnswer, outcome: Outcome) -> bool:
    if not outcome.raised:
        return False
    return answer.name is None or answer.name in (outcome.error or {}).get("mro", [outcome.error.get("type")])


def matches(kind: str, answer: Any, outcome: Outcome) -> bool:
    """Does a parsed answer agree with the outcome? Raises NotAskable for a broken card."""
    if isinstance(answer, ErrorAnswer):
        return error_matches(answer, outcome)
    if isinstance(answer, NoError):
        return not outcome.raised
    if outcome.raised:
        return False
    if kind == "shape":
        return answer == truth_shape(outcome)
    if kind == "dtype":
        return answer == truth_dtype(outcome)
    if kind == "bool":
        return answer == truth_bool(outcome)
    if kind == "value":
        return values_equal(answer, truth_value(outcome))
    raise NotAskable(f"cannot compare a {kind} answer")


def option_matches(option: str, outcome: Outcome) -> bool:
    """Read a choice option every way it can be read; True if any reading agrees with the outcome."""
    t = option.strip()
    readings: list[tuple[str, Any]] = []
    if t.lower().rstrip(".!") in NO_ERROR_WORDS - {"n", "none"} or t.lower() in ("no error", "runs fine"):
        readings.append(("raises", NoError()))
    err = parse_error(t)
    if err is not None:
        readings.append(("raises", err))
    for kind, parser in (("dtype", parse_dtype), ("value", parse_value)):
        try:
            readings.append((kind, parser(t)))
        except Unparsed:
            pass
    if re.match(r"^(torch\.Size|\(|\[)|^\d+(\s*x\s*\d+)+$", t):
        try:
            readings.append(("shape", parse_shape(t)))
        except Unparsed:
            pass
    if t.lower() in ("true", "false", "yes", "no"):
        readings.append(("bool", t.lower() in ("true", "yes")))
    for kind, answer in readings:
        if outcome.raised and not isinstance(answer, ErrorAnswer):
            continue
        try:
            if matches(kind, answer, outcome):
                return True
        except NotAskable:
            continue
    return False


def right_choice(card: Card, outcome: Outcome) -> int:
    hits = [i for i, option in enumerate(card.choices) if option_matches(option, outcome)]
    if len(hits) != 1:
        which = "no option" if not hits else "options " + ", ".join(str(i + 1) for i in hits)
        raise NotAskable(f"{which} of the choice card matches the outcome ({outcome.describe()}); exactly one must")
    return hits[0]


# -------------------------------------------------------------------------------------------
# Verdicts
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    status: str  # right | wrong | unparsed | unrun | broken
    said: str = ""
    truth: str = ""
    hint: str = ""

    @property
    def correct(self) -> bool:
        return self.status == "right"

    @property
    def graded(self) -> bool:
        return self.status in ("right", "wrong")

    def sentence(self) -> str:
        if self.status == "unparsed":
            return self.hint
        if self.status in ("unrun", "broken"):
            return self.truth
        return f"you said {self.said}; {self.truth}"


def describe_answer(kind: str, answer: Any, choices: tuple[str, ...] = ()) -> str:
    if kind == "choice":
        return f"{answer + 1}. {choices[answer]}"
    if isinstance(answer, (ErrorAnswer, NoError)):
        return str(answer)
    if kind == "shape":
        return "(" + ", ".join(map(str, answer)) + ("," if len(answer) == 1 else "") + ")"
    if kind == "bool":
        return "yes" if answer else "no"
    if kind == "value":
        return _show(answer)
    return str(answer)


def _show(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(_show, v)) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_show(k)}: {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Num):
        return repr(v.value)
    return repr(v)


def describe_truth(kind: str, outcome: Outcome) -> str:
    """What really happened, in the terms the card asks about: 'it gave shape (5, 3)', 'it raised ...'."""
    if outcome.raised:
        return outcome.describe()
    v = outcome.value
    if v is None:
        return "it ran without raising"
    try:
        if kind == "shape":
            return "it gave shape " + describe_answer("shape", truth_shape(outcome))
        if kind == "dtype":
            return "it gave dtype " + (v.get("dtype") or "")
        if kind == "bool":
            return "it gave " + ("True" if truth_bool(outcome) else "False")
    except NotAskable:
        pass
    text = " ".join(str(v.get("repr", "")).split())
    return "it gave " + (text if len(text) <= 240 else text[:240] + "…")


def grade(card: Card, text: str, outcome: Outcome) -> Verdict:
    """Right or wrong, decided by the run; or why it cannot be graded."""
    if not outcome.ran:
        return Verdict("unrun", truth=f"the run failed: {outcome.describe()} — this card is not held against you")
    truth = describe_truth(card.kind, outcome)
    try:
        answer = parse_answer(card.kind, text, card.choices)
    except Unparsed as hint:
        if card.kind == "value" and text.strip() and isinstance((outcome.value or {}).get("data"), str):
            answer = text.strip().strip("'\"")  # text truth: an unquoted word is read as text
        else:
            return Verdict("unparsed", hint=str(hint))
    said = describe_answer(card.kind, answer, card.choices)
    try:
        if card.kind == "choice":
            right = right_choice(card, outcome)
            ok = answer == right
            truth = f"{truth} — the answer is {right + 1}. {card.choices[right]}"
        else:
            ok = matches(card.kind, answer, outcome)
    except NotAskable as exc:
        return Verdict("broken", said=said, truth=f"this card is broken ({exc}); it is not held against you")
    return Verdict("right" if ok else "wrong", said=said, truth=truth)
