"""Reading what a learner typed: shapes, dtypes, values, booleans, "it runs" and "it raises".

Parsers are forgiving about spelling (a shape may be `(5, 3)`, `5x3` or `torch.Size([5, 3])`) and
strict about meaning (a 1-element list is not a scalar). A text that cannot be read raises
`Unparsed`; the card kind's registry entry (`kinds.py`) turns that into a hint for the learner.
Nothing here knows about cards or outcomes.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

ERROR_WORDS = frozenset({"error", "err", "raises", "raise", "exception", "throws", "fails", "it raises",
                         "an error", "it fails", "crashes"})
RUNS_WORDS = frozenset({"runs", "run", "ok", "okay", "fine", "no error", "works", "it runs", "it works",
                        "passes", "clean", "runs fine", "no exception", "nothing"})
YES_NO_WORDS = frozenset({"y", "yes", "n", "no"})
TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0"})
_EXC_NAME = re.compile(r"^(?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Warning|Interrupt|Exit|Iteration))$")

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


class Unparsed(ValueError):
    """The text cannot be read as an answer of the expected form; never graded."""


class Ambiguous(Unparsed):
    """The text can be read more than one way (a bare 'yes' on a runs-or-raises card)."""


@dataclass(frozen=True)
class ErrorAnswer:
    name: str | None  # None: "it raises", without saying what

    def __str__(self) -> str:
        return f"it raises {self.name}" if self.name else "it raises"


@dataclass(frozen=True)
class Runs:
    """The learner's belief that the snippet runs without raising."""

    def __str__(self) -> str:
        return "it runs without raising"


@dataclass(frozen=True)
class Num:
    """A number as typed, with the tolerance its digits imply ('0.31' means 0.305..0.315)."""

    value: float
    tol: float = 0.0

    def __str__(self) -> str:
        return repr(self.value)


def _words(text: str) -> str:
    return " ".join(text.strip().lower().rstrip(".!").split())


def parse_error(text: str) -> ErrorAnswer | None:
    """'error', 'raises', 'RuntimeError', 'torch.cuda.OutOfMemoryError'; None if it says neither."""
    t = text.strip().rstrip(".!")
    if _words(t) in ERROR_WORDS:
        return ErrorAnswer(None)
    m = _EXC_NAME.match(t)
    return ErrorAnswer(m.group(1)) if m else None


def parse_runs_or_raises(text: str) -> Runs | ErrorAnswer:
    """A runs-or-raises answer. A bare yes/no is refused: "Does it run?" and "Does it raise?"
    read it in opposite ways, and a belief must never be graded backwards."""
    words = _words(text)
    if words in RUNS_WORDS:
        return Runs()
    err = parse_error(text)
    if err is not None:
        return err
    if words in YES_NO_WORDS:
        raise Ambiguous("yes/no")
    raise Unparsed("raises")


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
        raise Unparsed("shape")
    return tuple(int(p) for p in parts)


def parse_dtype(text: str) -> str:
    t = text.strip().lower()
    t = re.sub(r"^(torch|np|numpy)\.", "", t)
    t = re.sub(r"^dtype\(['\"]?(.*?)['\"]?\)$", r"\1", t)
    if t in DTYPE_ALIASES:
        return DTYPE_ALIASES[t]
    raise Unparsed("dtype")


def canonical_dtype(name: str) -> str:
    try:
        return parse_dtype(name)
    except Unparsed:
        return name.replace("torch.", "")


def parse_bool(text: str) -> bool:
    t = _words(text)
    if t in TRUE_WORDS or t == "tensor(true)":
        return True
    if t in FALSE_WORDS or t == "tensor(false)":
        return False
    raise Unparsed("bool")


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
        raise Unparsed("value") from None


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
        if any(k is None for k in node.keys):
            raise ValueError("unsupported ** in a dict")
        return {_key(_literal(k, source)): _literal(v, source)
                for k, v in zip(node.keys, node.values, strict=True) if k is not None}
    raise ValueError("unsupported expression")


def _key(k: Any) -> Any:
    return k.value if isinstance(k, Num) else k


def _typed_tolerance(token: str) -> float:
    m = re.fullmatch(r"[+-]?\d*\.(\d+)", token.strip())
    return 0.5 * 10 ** -len(m.group(1)) if m else 0.0


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


def show_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def show_value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(show_value, v)) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{show_value(k)}: {show_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Num):
        return repr(v.value)
    return repr(v)
