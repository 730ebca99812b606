"""Worker-side tracer: what a snippet's torch calls really did, as plain JSON-able data.

Runs inside the executor only (it imports torch). One `TorchFunctionMode` sees every torch call the
snippet makes at the top level (calls torch makes internally are not seen: the mode is off while it
handles one), so no card needs code of its own. The UI turns the data into a why-panel
(`quizzer/why.py`) without ever importing torch.

Tracing must never change an outcome: every call is passed through untouched (its exception
re-raised as is), recording failures are swallowed, and tensors are only held by weak reference.
"""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

MAX_CALLS = 200  # calls recorded in full; later ones are only counted
MAX_BYTES = 64 << 10  # the whole trace, as JSON
MAX_GRAD_EVENTS = 16  # backward() calls whose leaf gradients are recorded
MAX_LEAVES = 16
MAX_NAMED = 24
MAX_VALUES = 8  # elements of a gradient or value sample
MAX_PARAM_CHARS = 40
MAX_CHAIN = 8  # grad_fn nodes followed from the asked value

# Attribute reads and printing: seen by the mode, but they say nothing about what the code did.
QUIET = frozenset({"__get__", "__set__", "__repr__", "__str__", "__format__", "__len__", "__bool__", "__hash__",
                   "__iter__", "__array__", "__contains__", "__reduce_ex__", "__deepcopy__", "dim", "size",
                   "numel", "stride", "is_contiguous", "data_ptr", "storage_offset", "untyped_storage",
                   "element_size", "tolist", "item", "__index__", "__int__", "__float__", "__getstate__"})
PROPERTY_OPS = frozenset({"T", "mT", "H", "mH", "data", "real", "imag"})  # attribute reads that make a tensor


class Tracer(TorchFunctionMode):
    """Records calls while active; `result()` gives the trace once the snippet is done."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.dropped = 0
        self.grads: list[dict[str, Any]] = []
        self._labels: dict[int, tuple[weakref.ref, str]] = {}  # id(tensor) -> (ref, "t3")
        self._leaves: dict[str, weakref.ref] = {}  # label -> leaf that requires grad
        self._memory: list[tuple[int, int, str]] = []  # (start, end, "m2"): storages and arrays seen
        self._backwards = 0
        self._described: dict[str, tuple[tuple, dict[str, Any]]] = {}  # label -> (version key, description)

    # -- the hook -------------------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            name = _NAMES.get(func) or _remember_name(func)
        except TypeError:  # an unhashable callable
            name = _func_name(func)
        if name.rpartition(".")[2] in QUIET:
            try:
                return func(*args, **kwargs)
            except BaseException as exc:  # `.item()` on two elements, say: the failing call is the story
                self._safe(lambda failed=exc: self._append({**self._describe_call(name, args, kwargs),
                                                            "error": _error(failed)}))
                raise
        if len(self.calls) >= MAX_CALLS and name != "Tensor.backward":
            self.dropped += 1
            return func(*args, **kwargs)
        record = self._safe(lambda: self._describe_call(name, args, kwargs))
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            if record is not None:
                record["error"] = _error(exc)
                self._append(record)
            raise
        if record is not None:
            record["result"] = self._safe(lambda: self._describe(result)) or {"type": "?"}
            self._append(record)
        if name in ("Tensor.backward", "torch.autograd.backward"):
            self._safe(self._record_grads)
        return result

    def _append(self, record: dict[str, Any]) -> None:
        if len(self.calls) < MAX_CALLS:
            self.calls.append(record)
        else:
            self.dropped += 1

    @staticmethod
    def _safe(fn):
        try:
            return fn()
        except Exception:  # a tensor subclass or odd argument must not break the snippet's run
            return None

    # -- describing -----------------------------------------------------------------------------
    def _describe_call(self, name: str, args: tuple, kwargs: dict) -> dict[str, Any]:
        tensors: list[dict[str, Any]] = []
        params: list[str] = []
        for i, arg in enumerate(args):
            self._sort_arg(str(i), arg, tensors, params)
        for key, arg in kwargs.items():
            self._sort_arg(key, arg, tensors, params)
        return {"fn": name, "args": tensors, "params": params}

    def _sort_arg(self, where: str, arg: Any, tensors: list, params: list) -> None:
        if isinstance(arg, torch.Tensor):
            tensors.append({"arg": where, **self._tensor(arg)})
        elif isinstance(arg, (list, tuple)) and arg and all(isinstance(a, torch.Tensor) for a in arg[:8]):
            for j, a in enumerate(arg[:8]):
                tensors.append({"arg": f"{where}[{j}]", **self._tensor(a)})
        elif type(arg).__module__ == "numpy" and hasattr(arg, "__array_interface__"):
            tensors.append({"arg": where, **self._array(arg)})
        else:
            text = _short(arg)
            params.append(text if where.isdigit() else f"{where}={text}")

    def _describe(self, value: Any) -> dict[str, Any]:
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
            return {"type": type(value).__name__, "items": [self._tensor(v) for v in value[:4]]}
        if type(value).__module__ == "numpy" and hasattr(value, "__array_interface__"):
            return self._array(value)
        return {"type": type(value).__name__, "repr": _short(value)}

    def _tensor(self, t: torch.Tensor) -> dict[str, Any]:
        """A tensor's description; re-used while its version, storage and shape are unchanged, because
        a snippet passes the same few tensors to call after call."""
        label = self._label(t)
        try:
            key = (t._version, t.requires_grad, t.data_ptr(), t.shape)
        except RuntimeError:  # inference tensors keep no version counter
            return self._describe_tensor(t, label)
        cached = self._described.get(label)
        if cached is not None and cached[0] == key:
            if t.requires_grad and label not in self._leaves and t.retains_grad:
                self._leaves[label] = weakref.ref(t)  # retain_grad() changes no version
            return dict(cached[1])
        out = self._describe_tensor(t, label)
        self._described[label] = (key, out)
        return dict(out)

    def _describe_tensor(self, t: torch.Tensor, label: str) -> dict[str, Any]:
        device = t.device
        out: dict[str, Any] = {"id": label, "shape": list(t.shape),
                               "dtype": _DTYPES.get(t.dtype) or _dtype_name(t.dtype),
                               "device": _DEVICES.get(device) or _device_name(device),
                               "requires_grad": bool(t.requires_grad), "is_leaf": bool(t.is_leaf)}
        if t.layout == torch.strided and not t.is_quantized and t.device.type != "meta":
            out["stride"] = list(t.stride())
            out["contiguous"] = bool(t.is_contiguous())
            out["memory"] = self._tensor_memory(t)
        if t.grad_fn is not None:
            out["grad_fn"] = type(t.grad_fn).__name__
        if t.requires_grad and (t.is_leaf or t.retains_grad):
            self._leaves.setdefault(out["id"], weakref.ref(t))
        return out

    def _array(self, a: Any) -> dict[str, Any]:
        start = a.__array_interface__["data"][0]
        return {"type": "ndarray", "shape": list(a.shape), "dtype": str(a.dtype), "device": "numpy",
                "stride": [s // max(1, a.itemsize) for s in a.strides],
                "memory": self._memory_label(start, max(1, a.nbytes))}

    def _tensor_memory(self, t: torch.Tensor) -> str:
        storage = t.untyped_storage()
        return self._memory_label(storage.data_ptr(), max(1, storage.nbytes()))

    def _memory_label(self, start: int, size: int) -> str:
        """Same label for overlapping memory: how 'shares storage' is seen without raw addresses."""
        end = start + size
        for s, e, label in self._memory:
            if start < e and s < end:
                return label
        label = f"m{len(self._memory) + 1}"
        if len(self._memory) < 256:
            self._memory.append((start, end, label))
        return label

    def _label(self, t: torch.Tensor) -> str:
        """A short stable name per tensor object ('t1', 't2'); weak, so no tensor outlives the snippet."""
        entry = self._labels.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        label = f"t{len(self._labels) + 1}"
        try:
            self._labels[id(t)] = (weakref.ref(t), label)
        except TypeError:
            pass
        return label

    def _record_grads(self) -> None:
        self._backwards += 1
        if len(self.grads) >= MAX_GRAD_EVENTS:
            return
        leaves = []
        for label, ref in list(self._leaves.items())[:MAX_LEAVES]:
            t = ref()
            if t is None:
                continue
            leaves.append({"id": label, "grad": _sample(t.grad)})
        self.grads.append({"backward": self._backwards, "leaves": leaves})

    # -- after the run --------------------------------------------------------------------------
    def result(self, namespace: dict[str, Any], base: dict[str, Any], value: Any = None,
               asked: bool = False) -> dict[str, Any]:
        """The trace: calls, leaf gradients after each backward, the named tensors, the asked value."""
        started = time.perf_counter()
        with torch._C.DisableTorchFunction():
            named = []
            for key, obj in list(namespace.items()):
                if key.startswith("_") or (key in base and base[key] is obj):
                    continue
                if isinstance(obj, torch.Tensor) or (type(obj).__module__ == "numpy"
                                                      and hasattr(obj, "__array_interface__")):
                    entry = self._safe(lambda o=obj: self._describe(o))
                    if entry is not None:
                        named.append({"name": key, **entry})
                if len(named) >= MAX_NAMED:
                    break
            trace: dict[str, Any] = {"version": 1, "calls": self.calls, "dropped": self.dropped, "grads": self.grads,
                                     "named": named}
            if asked:
                trace["value"] = self._safe(lambda: self._describe(value)) or {"type": "?"}
                if isinstance(value, torch.Tensor):
                    trace["value"]["grad_fn_chain"] = _chain(value.grad_fn)
        trace = _cap(trace)
        trace["build_seconds"] = round(time.perf_counter() - started, 6)  # what the trace costs after the run
        return trace


_DEVICES: dict[Any, str] = {}  # str(device) costs microseconds; a card touches a handful of devices
_DTYPES: dict[Any, str] = {}


def _device_name(device: Any) -> str:
    _DEVICES[device] = name = str(device)
    return name


def _dtype_name(dtype: Any) -> str:
    _DTYPES[dtype] = name = str(dtype).replace("torch.", "")
    return name


_NAMES: dict[Any, str] = {}  # a card makes the same few calls many times; naming one costs string work


def _remember_name(func: Any) -> str:
    name = _func_name(func)
    if len(_NAMES) < 4096:
        _NAMES[func] = name
    return name


def _func_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    qual = getattr(func, "__qualname__", "") or ""
    module = getattr(func, "__module__", "") or ""
    if name == "__get__":  # a property: Tensor.shape.__get__ and friends
        attr = getattr(getattr(func, "__self__", None), "__name__", "attr")
        return f"Tensor.{attr}" if attr in PROPERTY_OPS else f"Tensor.{attr}.__get__"
    if qual.startswith(("TensorBase.", "Tensor.", "_TensorBase.")):
        return "Tensor." + name
    if module.startswith("torch.nn.functional"):
        return "F." + name
    if module.startswith("torch.autograd"):
        return "torch.autograd." + name
    if module.startswith("torch._tensor"):
        return "Tensor." + name
    return "torch." + name


def _short(value: Any, depth: int = 0) -> str:
    """A short repr that never walks a big argument (`torch.tensor(list(range(10**6)))` stays cheap)."""
    try:
        if isinstance(value, torch.dtype):
            text = str(value).replace("torch.", "")
        elif isinstance(value, torch.Size):
            text = str(tuple(value))
        elif isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            inner = "…" if depth > 2 else ", ".join(_short(v, depth + 1) for v in value[:4])
            more = f", … {len(value)} items" if len(value) > 4 else ""
            text = ("[{}{}]" if isinstance(value, list) else "({}{})").format(inner, more)
        elif isinstance(value, (bool, int, float, complex, type(None), slice, torch.device, type(...))):
            text = repr(value)
        elif isinstance(value, str):
            text = repr(value[:MAX_PARAM_CHARS])
        else:  # an object whose repr may be slow, huge or raise: its type says enough
            text = f"<{type(value).__name__}>"
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 1] + "…"


def _error(exc: BaseException) -> dict[str, str]:
    try:
        message = str(exc).strip().splitlines()
    except Exception:
        message = []
    return {"type": type(exc).__name__, "message": (message[0] if message else "")[:300]}


def _sample(t: Any) -> dict[str, Any] | None:
    if t is None:
        return None
    try:
        flat = t.detach().reshape(-1)[:MAX_VALUES].cpu().tolist()
        return {"shape": list(t.shape), "values": [round(v, 6) if isinstance(v, float) else v for v in flat],
                "more": t.numel() > MAX_VALUES}
    except Exception:
        return {"shape": list(getattr(t, "shape", [])), "values": [], "more": True}


def _chain(node: Any) -> list[str]:
    """grad_fn names from the value back towards its leaves, first input first."""
    names: list[str] = []
    while node is not None and len(names) < MAX_CHAIN:
        names.append(type(node).__name__)
        nexts = [n for n, _ in getattr(node, "next_functions", ()) if n is not None]
        node = nexts[0] if nexts else None
    return names


def _cap(trace: dict[str, Any]) -> dict[str, Any]:
    """Keep the trace under MAX_BYTES by dropping the latest calls first."""
    size = len(json.dumps(trace, default=str))
    while size > MAX_BYTES and trace["calls"]:
        keep = max(0, len(trace["calls"]) * 3 // 4 - 1)
        trace["dropped"] += len(trace["calls"]) - keep
        trace["calls"] = trace["calls"][:keep]
        size = len(json.dumps(trace, default=str))
    if size > MAX_BYTES:
        trace["named"], trace["grads"] = trace["named"][:4], trace["grads"][:4]
    return trace
