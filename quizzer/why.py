"""Why the run did what it did: a trace (from `quizzer/worker/tracing.py`) -> a why-panel -> Rich tables.

Torch-free and Textual-free, so the CLI (`quizzer explain`) and the TUI share it. `build(trace)`
picks the one pattern that explains the run (the failing call first, then the call that made the
asked value, then what else happened) and lays it out as small `Sheet`s; `render(why)` draws them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import Enum
from itertools import pairwise
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text


class PanelKind(str, Enum):
    BROADCAST = "broadcasting"
    VIEW = "views"
    AUTOGRAD = "autograd"
    DTYPE = "dtypes"
    DEVICE = "devices"
    LOSS = "losses"
    NAMED = "named tensors"


@dataclass(frozen=True)
class Sheet:
    """One small table: plain strings, so the panel is also JSON. Cells starting with ✗ are drawn red."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: tuple[int, ...] = ()  # indices of right-aligned columns


@dataclass(frozen=True)
class Why:
    kind: PanelKind
    headline: str
    sheets: tuple[Sheet, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


Call = dict[str, Any]
Info = dict[str, Any]

ELEMENTWISE = frozenset({
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "truediv",
    "floordiv", "remainder", "fmod", "mod", "pow", "rsub", "radd", "rmul", "rtruediv", "rdiv", "rpow", "rfloordiv",
    "eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum", "where", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "and", "or", "xor", "rand", "ror", "rxor", "lshift", "rshift",
    "atan2", "hypot", "copysign", "addcmul", "addcdiv", "lerp", "masked_fill", "copy", "clamp", "fmax", "fmin",
})
VIEWS = frozenset({"view", "view_as", "transpose", "t", "T", "mT", "permute", "expand", "expand_as", "reshape",
                   "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze", "narrow", "contiguous", "swapaxes",
                   "movedim", "unfold", "as_strided", "select", "getitem", "detach", "repeat", "clone"})
CASTS = frozenset({"to", "type", "float", "double", "half", "bfloat16", "long", "int", "short", "bool", "byte",
                   "char", "type_as"})
BRIDGE = frozenset({"from_numpy", "numpy", "as_tensor", "tensor", "asarray", "cuda", "cpu"})
LOSSES = re.compile(r"loss|cross_entropy|nll|kl_div|hinge")
BACKWARD = frozenset({"backward", "grad"})
FACTORIES = frozenset({"tensor", "zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn",
                       "randint", "zeros_like", "ones_like", "rand_like", "randn_like", "randint_like", "new_ones",
                       "new_zeros", "new_full", "new_tensor", "as_tensor", "mean", "sum"})
DTYPE_ERROR = re.compile(r"dtype|not implemented for '|can't be cast|result type", re.IGNORECASE)


def op_name(call: Call) -> str:
    """'Tensor.__iadd__' -> 'add', 'torch.add' -> 'add', 'Tensor.add_' -> 'add'."""
    base = call["fn"].rpartition(".")[2]
    base = re.sub(r"^__i?r?(\w+?)__$", r"\1", base) if base.startswith("__") else base
    return base.rstrip("_") or base


def in_place(call: Call) -> bool:
    base = call["fn"].rpartition(".")[2]
    return base.startswith("__i") or (base.endswith("_") and not base.endswith("__"))


# ------------------------------------------------------------------------------------------------
# Choosing the pattern
# ------------------------------------------------------------------------------------------------
def classify(call: Call) -> PanelKind | None:
    """Which pattern a single call shows, or None when it is unremarkable."""
    op, tensors = op_name(call), call.get("args", [])
    if op in BACKWARD and call["fn"] in ("Tensor.backward", "torch.autograd.backward", "torch.autograd.grad"):
        return PanelKind.AUTOGRAD
    if LOSSES.search(op):
        return PanelKind.LOSS
    devices = {t.get("device") for t in tensors} | {call.get("result", {}).get("device")}
    devices.discard(None)
    if op in BRIDGE and (op != "tensor" or any(t.get("type") == "ndarray" for t in tensors)):
        return PanelKind.DEVICE
    if len({d for d in devices if d != "numpy"}) > 1 or _error_mentions(call, "device"):
        return PanelKind.DEVICE
    if "error" in call and DTYPE_ERROR.search(call["error"].get("message", "")):
        return PanelKind.DTYPE
    if op in VIEWS and not (op == "getitem" and not call.get("result", {}).get("shape")):
        return PanelKind.VIEW  # (indexing down to one element is not a story about views)
    if op in CASTS:
        return PanelKind.DTYPE
    if op in ELEMENTWISE:
        shapes = [tuple(t["shape"]) for t in tensors if "shape" in t]
        if len(set(shapes)) > 1 or _error_mentions(call, "size") or _error_mentions(call, "shape"):
            return PanelKind.BROADCAST
        if _promotes(call):
            return PanelKind.DTYPE
    return None


def _error_mentions(call: Call, word: str) -> bool:
    return word in (call.get("error") or {}).get("message", "").lower()


def _promotes(call: Call) -> bool:
    dtypes = {t.get("dtype") for t in call.get("args", [])}
    result = call.get("result", {}).get("dtype")
    return len(dtypes) > 1 or bool(result and dtypes and result not in dtypes) or _error_mentions(call, "dtype")


def pick(trace: dict[str, Any]) -> tuple[PanelKind, Call | None]:
    """The pattern that explains the run, and the call it is about."""
    calls = trace.get("calls", [])
    for call in calls:
        if "error" in call:
            kind = classify(call)
            if kind is not None:
                return kind, call
    asked = (trace.get("value") or {}).get("id")
    if asked:
        for call in reversed(calls):
            if call.get("result", {}).get("id") == asked and "error" not in call:
                kind = classify(call)
                if kind is not None and kind is not PanelKind.AUTOGRAD:
                    return kind, call
                if kind is None and op_name(call) in FACTORIES and not _grad_tracked(trace):
                    return PanelKind.DTYPE, call  # where the asked tensor's dtype came from
                break
    if any(op_name(c) in BACKWARD and classify(c) is PanelKind.AUTOGRAD for c in calls) or _grad_tracked(trace):
        return PanelKind.AUTOGRAD, None
    for call in reversed(calls):
        kind = classify(call)
        if kind is not None:
            return kind, call
    if any(n.get("type") == "ndarray" for n in trace.get("named", [])):
        return PanelKind.DEVICE, None
    return PanelKind.NAMED, None


def _grad_tracked(trace: dict[str, Any]) -> bool:
    named = trace.get("named", [])
    value = trace.get("value") or {}
    return any(n.get("requires_grad") for n in named) or bool(value.get("requires_grad"))


def build(trace: dict[str, Any] | None) -> Why | None:
    """The why-panel for a trace; None when there is no trace to explain."""
    if not trace or "calls" not in trace:
        return None
    kind, call = pick(trace)
    names = _names(trace)
    why = BUILDERS[kind](trace, call, names)
    notes = why.notes
    if trace.get("dropped"):
        notes += (f"{trace['dropped']} later calls not recorded",)
    return Why(why.kind, why.headline, why.sheets, notes)


def _names(trace: dict[str, Any]) -> dict[str, str]:
    """Tensor id -> the snippet's variable name for it (the asked value is 'ask')."""
    names: dict[str, str] = {}
    for entry in trace.get("named", []):
        if "id" in entry:
            names.setdefault(entry["id"], entry["name"])
    value = trace.get("value") or {}
    if value.get("id"):
        names.setdefault(value["id"], "ask")
    return names


def _label(info: Info, names: dict[str, str], fallback: str) -> str:
    return names.get(info.get("id", ""), fallback)


def _shape(shape: list[int] | None) -> str:
    if shape is None:
        return "–"
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _fn(call: Call) -> str:
    params = ", ".join([p for p in call.get("params", []) if not p.endswith("=None")][:4])
    return f"{call['fn']}({params})" if params else call["fn"]


def _outcome_row(call: Call) -> str:
    error = call.get("error")
    if error:
        return f"✗ {call['fn']} raised {error['type']}"  # the message itself is in the outcome above
    return ""


# ------------------------------------------------------------------------------------------------
# One builder per pattern
# ------------------------------------------------------------------------------------------------
def broadcast(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    assert call is not None
    operands = [t for t in call.get("args", []) if "shape" in t]
    result = call.get("result") if "error" not in call else None
    width = max([len(t["shape"]) for t in operands] + [len(result["shape"]) if result and "shape" in result else 0])
    columns = ("", *(f"dim {i - width}" for i in range(width)))
    rows = []
    for i, t in enumerate(operands):
        label = _label(t, names, f"arg {t['arg']}")
        if i == 0 and in_place(call):
            label += " (in place)"
        rows.append((label, *_right_aligned(t["shape"], width)))
    if result and "shape" in result:
        rows.append(("= " + _label(result, names, "result"), *_right_aligned(result["shape"], width)))
    marks, bad = _mismatch_marks([t["shape"] for t in operands], width, in_place(call))
    rows.append(("check", *marks))
    sheet = Sheet(f"{_fn(call)}: shapes lined up from the right", columns, tuple(rows), tuple(range(1, width + 1)))
    if bad:
        sizes = [str(t["shape"][bad[0] - width]) for t in operands if len(t["shape"]) >= width - bad[0]]
        headline = f"dim {bad[0] - width} does not match ({' vs '.join(sizes)}): sizes must be equal, or one of them 1"
        if in_place(call) and "error" in call and not _mismatch_marks([t["shape"] for t in operands], width, False)[1]:
            headline = "in place, the result must keep the first operand's shape; broadcasting would grow it"
    else:
        headline = "size-1 and missing dims stretch; each result dim takes the larger size"
    notes = (_outcome_row(call),) if "error" in call else ()
    return Why(PanelKind.BROADCAST, headline, (sheet,), tuple(n for n in notes if n))


def _right_aligned(shape: list[int], width: int) -> list[str]:
    return [""] * (width - len(shape)) + [str(s) for s in shape]


def _mismatch_marks(shapes: list[list[int]], width: int, inplace: bool) -> tuple[list[str], list[int]]:
    """Per column: '' (all equal), '↑ 1→n' (stretched), '✗' (cannot broadcast); and the bad columns."""
    marks, bad = [], []
    for col in range(width):
        sizes = [s[col - width + len(s)] for s in shapes if col - width + len(s) >= 0]
        big = {n for n in sizes if n != 1}
        first = shapes[0][col - width + len(shapes[0])] if shapes and col - width + len(shapes[0]) >= 0 else None
        if len(big) > 1:
            marks.append("✗")
            bad.append(col)
        elif inplace and (first is None or (big and first not in big)):
            marks.append("✗ self")
            bad.append(col)
        elif big and (len(sizes) < len(shapes) or 1 in sizes):
            marks.append(f"↑ →{next(iter(big))}")
        else:
            marks.append("")
    return marks, bad


def view(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    assert call is not None
    source: Info = next((t for t in call.get("args", []) if "shape" in t), {})
    result = call.get("result") if "error" not in call else None
    rows = [_layout_row(_label(source, names, "input"), source)]
    if result and "shape" in result:
        same = result.get("id") == source.get("id")
        rows.append(_layout_row("(the same tensor)" if same else _label(result, names, "result"), result))
    sheet = Sheet(_fn(call), ("tensor", "shape", "stride", "contiguous", "storage"), tuple(rows))
    notes: list[str] = []
    if result and "memory" in result:
        shares = result.get("memory") == source.get("memory")
        headline = (f"{op_name(call)} returned a view: it shares storage with its input" if shares else
                    f"{op_name(call)} returned a copy in new storage")
    elif "error" in call:
        headline = f"{op_name(call)} re-reads the same memory with a new shape and strides; it never moves data"
        if _error_mentions(call, "stride"):
            for i, j in _unmergeable(source.get("shape", []), source.get("stride", [])):
                s, st = source["shape"], source["stride"]
                notes.append(f"dims {i} and {j} (sizes {s[i]}, {s[j]}; strides {st[i]}, {st[j]}) cannot be merged: "
                             f"stride {st[i]} ≠ {st[j]} × {s[j]} = {st[j] * s[j]}")
            notes.append("call .contiguous() first (a copy laid out row by row), or use .reshape()")
        notes.insert(0, _outcome_row(call))
    else:
        headline = f"{op_name(call)}"
    return Why(PanelKind.VIEW, headline, (sheet,), tuple(notes))


def _layout_row(name: str, t: Info) -> tuple[str, ...]:
    contiguous = t.get("contiguous")
    return (name, _shape(t.get("shape")), _shape(t.get("stride")) if "stride" in t else "–",
            "–" if contiguous is None else ("yes" if contiguous else "✗ no"), t.get("memory", "–"))


def _unmergeable(shape: list[int], stride: list[int]) -> list[tuple[int, int]]:
    """Neighbouring dims (size > 1) that are not laid out one after the other in memory."""
    dims = [i for i, n in enumerate(shape) if n != 1]
    return [(i, j) for i, j in pairwise(dims)
            if i < len(stride) and j < len(stride) and stride[i] != stride[j] * shape[j]]


def autograd(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    leaves = _leaves(trace, names)
    rows = tuple((name, _shape(t.get("shape")), _yes(t.get("requires_grad")), _yes(t.get("is_leaf")),
                  t.get("grad_fn", "None")) for name, t in leaves)
    sheets = [Sheet("tensors", ("tensor", "shape", "requires_grad", "is_leaf", "grad_fn"), rows)]
    grad_rows = _grad_rows(trace, names)
    if grad_rows:
        leaf_names = [n for n, t in leaves if t.get("is_leaf") and t.get("requires_grad")][:4] or ["grad"]
        sheets.append(Sheet(".grad after each backward()", ("backward", *(f"{n}.grad" for n in leaf_names)),
                            tuple(_align_grads(grad_rows, leaf_names))))
    chain = (trace.get("value") or {}).get("grad_fn_chain")
    notes = []
    if chain:
        notes.append("grad_fn chain of the asked value: " + " ← ".join(chain))
    freed = any("second time" in (c.get("error") or {}).get("message", "") for c in trace.get("calls", []))
    if freed:
        headline = "the first backward() freed the graph's saved values; a second one through it raises"
    elif len([r for r in grad_rows if "" not in r[1]]) > 1:
        headline = "each backward() adds into .grad: gradients accumulate until zeroed"
    elif grad_rows:
        headline = "backward() fills .grad of the leaves that require grad"
    else:
        headline = "only leaves that require grad get a .grad; results of ops carry a grad_fn"
    return Why(PanelKind.AUTOGRAD, headline, tuple(sheets), tuple(notes))


def _yes(flag: Any) -> str:
    return "–" if flag is None else ("yes" if flag else "no")


def _leaves(trace: dict[str, Any], names: dict[str, str]) -> list[tuple[str, Info]]:
    """The named tensors, then other leaves that require grad (e.g. a module's parameters)."""
    seen: dict[str, tuple[str, Info]] = {}
    for t in trace.get("named", []):
        if "id" in t:
            seen.setdefault(t["id"], (t["name"], t))
    value = trace.get("value") or {}
    if value.get("id") and value["id"] not in seen:
        seen[value["id"]] = ("ask", value)
    for call in trace.get("calls", []):
        for t in call.get("args", []):
            if t.get("is_leaf") and t.get("requires_grad") and t.get("id") not in seen:
                seen[t["id"]] = (names.get(t["id"], f"leaf {t['id']}"), t)
    return list(seen.values())[:8]


def _grad_rows(trace: dict[str, Any], names: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """One row per backward() call: #n and each leaf's grad, or the error it raised."""
    events = iter(trace.get("grads", []))
    rows: list[tuple[str, dict[str, str]]] = []
    n = 0
    for call in trace.get("calls", []):
        if call["fn"] not in ("Tensor.backward", "torch.autograd.backward"):
            continue
        n += 1
        if "error" in call:
            message = call["error"]["message"]
            why = "graph already freed" if "second time" in message else message[:50]
            rows.append((f"#{n}", {"": f"✗ {call['error']['type']}: {why}"}))
            continue
        event = next(events, None)
        grads = {names.get(leaf["id"], f"leaf {leaf['id']}"): _values(leaf.get("grad"))
                 for leaf in (event or {}).get("leaves", [])}
        rows.append((f"#{n}", grads))
    return rows


def _align_grads(rows: list[tuple[str, dict[str, str]]], leaf_names: list[str]) -> list[tuple[str, ...]]:
    out = []
    for label, grads in rows:
        if "" in grads:
            out.append((label, grads[""], *([""] * (len(leaf_names) - 1))))
        else:
            out.append((label, *(grads.get(n, "None") for n in leaf_names)))
    return out


def _values(sample: dict[str, Any] | None) -> str:
    if sample is None:
        return "None"
    values = ", ".join(_num(v) for v in sample["values"][:4]) + (
        ", …" if sample.get("more") or len(sample["values"]) > 4 else "")
    return values if not sample["shape"] else f"[{values}]"


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def dtype(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    assert call is not None
    rows = [(_label(t, names, f"arg {t['arg']}"), "tensor", t.get("dtype", "?")) for t in call.get("args", [])]
    rows += [(p, "Python " + _python_kind(p), "–") for p in call.get("params", []) if _python_kind(p)]
    result = call.get("result", {})
    if "error" in call:
        rows.append(("= result", "", "✗"))
    else:
        rows.append(("= " + _label(result, names, "result"),
                     result.get("type", "tensor") if "dtype" not in result else "tensor",
                     result.get("dtype", "–")))
    if not call.get("args") and op_name(call) in FACTORIES:
        rows = [("data", "Python", ", ".join(call.get("params", [])) or "–"), rows[-1]]
        headline = "with no dtype= given, the data decides: ints → int64, floats → float32, bools → bool"
    elif op_name(call) in CASTS:
        headline = "a cast makes a new tensor of the asked dtype (the same one, when nothing changes)"
    elif "error" in call:
        headline = "this op does not take these dtypes (together, or at all); it does not promote them"
    elif op_name(call) in ("div", "true_divide", "truediv", "divide") and "float" in str(result.get("dtype")) \
            and not any("float" in str(t.get("dtype")) for t in call.get("args", [])):
        headline = "true division (/) always gives a float, even between integers; // keeps integers"
    else:
        headline = "mixed operands are promoted to a common dtype: tensors outrank Python numbers of the same kind"
    sheet = Sheet(_fn(call), ("operand", "kind", "dtype"), tuple(rows))
    return Why(PanelKind.DTYPE, headline, (sheet,), (_outcome_row(call),) if "error" in call else ())


def _python_kind(param: str) -> str:
    if re.fullmatch(r"-?\d+", param):
        return "int"
    if re.fullmatch(r"-?(\d+\.\d*|\d*\.\d+|\d+)(e-?\d+)?|inf|nan", param):
        return "float"
    if param in ("True", "False"):
        return "bool"
    return ""


def devices(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    infos: dict[str, tuple[str, Info]] = {}
    for t in trace.get("named", []):
        infos[t["name"]] = (t["name"], t)
    if call is not None:
        for t in [*call.get("args", []), call.get("result", {})]:
            if "shape" in t:
                name = _label(t, names, f"arg {t.get('arg', '')}".strip() if "arg" in t else "result")
                infos.setdefault(name, (name, t))
    rows = tuple((name, "ndarray" if t.get("type") == "ndarray" else "tensor", t.get("device", "–"),
                  _shape(t.get("shape")), t.get("dtype", "–"), t.get("memory", "–"))
                 for name, t in list(infos.values())[:8])
    sheet = Sheet(_fn(call) if call else "tensors and arrays",
                  ("name", "kind", "device", "shape", "dtype", "memory"), rows)
    notes = list(_sharing(list(infos.values())))
    if call is not None and "error" in call:
        notes.insert(0, _outcome_row(call))
        headline = "an op runs on one device: every tensor it gets must already be there"
    elif any(t.get("type") == "ndarray" for _, t in infos.values()):
        headline = "from_numpy, .numpy() and as_tensor share memory with the array; torch.tensor copies"
    else:
        headline = "each tensor lives on one device; .to() returns the same tensor when it is already there"
    return Why(PanelKind.DEVICE, headline, (sheet,), tuple(notes))


def _sharing(items: list[tuple[str, Info]]) -> list[str]:
    """'t shares memory with a' for each array-tensor pair (same memory label = overlapping memory)."""
    arrays = [(n, t) for n, t in items if t.get("type") == "ndarray"]
    tensors = [(n, t) for n, t in items if t.get("type") != "ndarray"]
    lines = []
    for an, a in arrays:
        for tn, t in tensors:
            if "memory" in a and "memory" in t:
                lines.append(f"{tn} {'shares' if a['memory'] == t['memory'] else 'does not share'} memory with {an}")
    return lines[:4]


def loss(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    assert call is not None
    roles = {"0": "input", "1": "target", "input": "input", "target": "target", "weight": "weight"}
    rows = [(roles.get(t["arg"], t["arg"]), _label(t, names, "–"), _shape(t.get("shape")), t.get("dtype", "?"))
            for t in call.get("args", [])]
    result = call.get("result", {})
    if "error" not in call:
        rows.append(("= loss", _label(result, names, "–"), _shape(result.get("shape")), result.get("dtype", "?")))
    sheet = Sheet(_fn(call), ("role", "tensor", "shape", "dtype"), tuple(rows))
    notes = (_outcome_row(call),) if "error" in call else ()
    headline = ("the loss checks its input and target shapes and dtypes as it received them" if "error" in call else
                "what the loss received: input and target shapes and dtypes")
    return Why(PanelKind.LOSS, headline, (sheet,), notes)


def named(trace: dict[str, Any], call: Call | None, names: dict[str, str]) -> Why:
    rows = tuple((t["name"], _shape(t.get("shape")), t.get("dtype", "–"), t.get("device", "–"),
                  _yes(t.get("requires_grad")))
                 for t in trace.get("named", [])[:10])
    sheet = Sheet("the snippet's tensors after the run", ("name", "shape", "dtype", "device", "requires_grad"), rows)
    headline = "" if rows else "the snippet made no tensors to show"
    return Why(PanelKind.NAMED, headline, (sheet,) if rows else ())


BUILDERS = {PanelKind.BROADCAST: broadcast, PanelKind.VIEW: view, PanelKind.AUTOGRAD: autograd,
            PanelKind.DTYPE: dtype, PanelKind.DEVICE: devices, PanelKind.LOSS: loss, PanelKind.NAMED: named}


# ------------------------------------------------------------------------------------------------
# Drawing
# ------------------------------------------------------------------------------------------------
def render(why: Why | None) -> RenderableType:
    """The panel as Rich renderables; fits 80 columns."""
    if why is None:
        return Text("no trace of this run", style="dim")
    parts: list[RenderableType] = [Text(f"why · {why.kind.value}", style="bold")]
    if why.headline:
        parts.append(Text(why.headline))
    for sheet in why.sheets:
        parts.append(Text(sheet.title, style="italic"))
        parts.append(_table(sheet))
    for note in why.notes:
        parts.append(Text(note, style="bold red" if note.startswith("✗") else ""))
    return Group(*parts)


def _table(sheet: Sheet) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False, show_edge=False)
    for i, col in enumerate(sheet.columns):
        table.add_column(col, justify="right" if i in sheet.right else "left", overflow="fold")
    for row in sheet.rows:
        table.add_row(*(Text(cell, style="bold red" if cell.startswith("✗") else "") for cell in row))
    return table
