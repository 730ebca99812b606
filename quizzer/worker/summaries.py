"""Value and error summaries: everything sent back is plain JSON, so the app never needs torch."""

from __future__ import annotations

from typing import Any

from ..protocol import DATA_CAP, MESSAGE_LINES, REPR_CAP


def summarize_value(value: Any) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"type": type(value).__name__, "repr": safe_repr(value)}
    if isinstance(value, torch.Tensor):
        out.update(shape=list(value.shape), dtype=str(value.dtype), device=str(value.device),
                   requires_grad=bool(value.requires_grad))
        out["data"], out["truncated"] = _tensor_data(value)
    elif type(value).__module__ == "numpy" and hasattr(value, "shape") and hasattr(value, "dtype"):
        out.update(shape=list(value.shape), dtype=str(value.dtype))
        out["data"], out["truncated"] = _tensor_data(value)
    elif isinstance(value, torch.Size):
        out.update(shape=list(value), data=list(value))
    elif isinstance(value, torch.dtype) or _is_numpy_dtype(value):
        out.update(dtype=str(value))
    else:
        data, ok = _plain(value, [DATA_CAP])
        if ok:
            out["data"] = data
            if isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                out["shape"] = list(value)
    return out


def _is_numpy_dtype(value: Any) -> bool:
    import numpy

    return isinstance(value, numpy.dtype)


def summarize_error(exc: BaseException) -> dict[str, Any]:
    cls = type(exc)
    try:
        message = str(exc)
    except BaseException as inner:  # a __str__ that raises is still an outcome
        message = f"<message unavailable: {type(inner).__name__}>"
    lines = message.strip().splitlines()[:MESSAGE_LINES]
    return {"type": cls.__name__, "module": cls.__module__, "mro": [c.__name__ for c in cls.__mro__],
            "message": "\n".join(lines)[:REPR_CAP * 2]}


def safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException as exc:
        return f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= REPR_CAP else text[:REPR_CAP] + "…"


def safe_type_name(value: Any) -> str:
    try:
        return str(type(value).__name__)
    except BaseException:
        return "object"


def _tensor_data(value: Any) -> tuple[Any, bool]:
    try:
        numel = value.numel() if hasattr(value, "numel") else value.size
        dtype = str(getattr(value, "dtype", ""))
        # object arrays hold arbitrary Python objects (4096 strings of 10 KB is a 40 MB list): no data
        if numel > DATA_CAP or dtype.startswith(("torch.complex", "complex")) or dtype == "object":
            return None, True
        if hasattr(value, "detach"):
            import torch

            value = value.detach().cpu()
            if value.is_quantized or value.layout != torch.strided:  # sparse, quantized: no plain list
                return None, True
        data = value.tolist()
        if dtype.startswith(("<U", "<S", "|S", "str", "bytes")):  # numpy strings: cap each like a repr
            return _plain(data, [DATA_CAP])[0], False
        return data, False
    except Exception:
        return None, True


def _plain(value: Any, budget: list[int]) -> tuple[Any, bool]:
    """Python data as JSON-able data, with nested tensors as lists; False when it isn't plain."""
    budget[0] -= 1
    if budget[0] < 0:
        return None, False
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
            return str(value), True
        return (value[:REPR_CAP] if isinstance(value, str) else value), True
    if isinstance(value, (list, tuple)):
        items = []
        for v in value:
            item, ok = _plain(v, budget)
            if not ok:
                return None, False
            items.append(item)
        return items, True
    if hasattr(value, "tolist") and hasattr(value, "shape"):  # tensor / array inside a list
        data, truncated = _tensor_data(value)
        return data, not truncated
    return None, False
