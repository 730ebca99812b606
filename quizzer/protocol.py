"""What the app and the worker say to each other, and the limits both sides share. Never imports torch.

The worker runs untrusted snippets, so everything it sends is untrusted too: `from_wire` turns one
line into a typed message or a `ProtocolError`, never an exception, and outcome text is made
terminal-safe here, at the boundary, so no screen has to remember to do it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .terminal_text import visible

# -- limits: the one place they are set ---------------------------------------------------------
CARD_TIMEOUT = 5.0  # seconds a card may run when its deck does not say
START_TIMEOUT = 120.0  # a first torch import on a cold disk can be slow
SLACK = 15.0  # how long past a card's own timeout before the client assumes the worker is stuck
OUTPUT_CAP = 8_000  # characters of stdout/stderr kept per run
REPR_CAP = 600
DATA_CAP = 4_096  # elements of a tensor or list sent back as data
MESSAGE_LINES = 6
RESULT_CAP = 1 << 20  # bytes of one encoded message; a larger outcome is reported, not sent
MEMORY_HEADROOM = 2 << 30  # bytes a card may allocate (all its processes and files together)
FILE_SIZE_CAP = 64 << 20
SCRATCH_CAP = 512 << 20  # bytes of each private tmpfs (/tmp, /dev/shm, home) inside the sandbox
OUTCOME_CACHE = 512  # outcomes the client keeps for precomputed cards


def memory_headroom() -> int:
    """MEMORY_HEADROOM, or QUIZZER_MEMORY_MB where the learner (or a test) set it."""
    import os

    try:
        return max(64, int(os.environ["QUIZZER_MEMORY_MB"])) << 20
    except (KeyError, ValueError):
        return MEMORY_HEADROOM


class Status(str, Enum):
    """How a run ended. `str` so that `outcome.status == "value"` keeps working."""

    VALUE = "value"
    RAISED = "raised"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


class Event(str, Enum):
    READY = "ready"
    FAILED = "failed"
    RESPAWNED = "respawned"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Outcome:
    """What running a card really did. Text fields are terminal-safe (see `visible`)."""

    status: str
    value: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    detail: str = ""
    stdout: str = ""
    stderr: str = ""
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    device: str = ""
    round_trip: float = 0.0  # wall time from submit to outcome, as the client saw it
    extra: dict[str, Any] = field(default_factory=dict)  # fields a newer worker adds (e.g. a trace)

    @property
    def trace(self) -> dict[str, Any] | None:
        """What the snippet's torch calls did (drawn by quizzer/why.py); present only when asked for."""
        trace = self.extra.get("trace")
        return trace if isinstance(trace, dict) else None

    @property
    def ran(self) -> bool:
        """False when the run itself failed (timeout, memory, crash): nothing to grade against."""
        return self.status in (Status.VALUE, Status.RAISED)

    @property
    def raised(self) -> bool:
        return self.status == Status.RAISED

    def fingerprint(self) -> str:
        """What must be equal between two runs of a deterministic card."""
        if self.status == Status.RAISED and self.error is not None:
            return json.dumps(["raised", self.error.get("type"), self.error.get("message")])
        if self.status == Status.VALUE and self.value:
            keep = {k: self.value.get(k) for k in ("type", "shape", "dtype", "data", "repr") if k in self.value}
            return json.dumps(["value", keep], sort_keys=True)
        return json.dumps([str(self.status)])

    def describe(self) -> str:
        """One line for people: 'tensor of shape (2, 3), float32' / 'raised RuntimeError: ...'."""
        if self.status == Status.RAISED and self.error is not None:
            message = (self.error.get("message") or "").splitlines()
            return f"it raised {self.error['type']}" + (f": {message[0]}" if message else "")
        if self.status != Status.VALUE:
            return self.detail or str(self.status)
        if self.value is None:
            return "it ran without raising"
        return describe_value(self.value)


def describe_value(value: dict[str, Any]) -> str:
    kind = value.get("type")
    if kind in ("Tensor", "Parameter", "ndarray") and "shape" in value:
        shape = "(" + ", ".join(map(str, value["shape"])) + ("," if len(value["shape"]) == 1 else "") + ")"
        return f"{value['repr']}  — shape {shape}, {str(value.get('dtype', '')).replace('torch.', '')}"
    return str(value.get("repr", ""))


# -- messages from the worker -------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    device: str
    device_label: str
    device_name: str
    torch_version: str
    import_seconds: float = 0.0
    sandbox: str = ""  # "" when sandboxed, else why not ("sandbox off: <reason>")
    guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failed:
    error_type: str
    message: str


@dataclass(frozen=True)
class Respawned:
    seconds: float


@dataclass(frozen=True)
class Result:
    id: int
    outcome: Outcome
    respawned: bool


@dataclass(frozen=True)
class ProtocolError:
    """A line the worker should never have sent: reported, never raised."""

    reason: str


Message = Ready | Failed | Respawned | Result


def from_wire(line: bytes | str, device: str = "") -> Message | ProtocolError:
    """One line from the worker as a typed message, or why it is not one."""
    if len(line) > RESULT_CAP:
        return ProtocolError(f"message of {len(line):,} bytes is over the {RESULT_CAP:,} byte cap")
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ProtocolError("not JSON")
    if not isinstance(data, dict):
        return ProtocolError("not a JSON object")
    event = data.get("event")
    if event is not None:
        return _event(event, data)
    request_id = data.get("id")
    if type(request_id) is not int:
        return ProtocolError("an outcome without an integer id")
    outcome = _outcome(data, device, 0.0)
    if isinstance(outcome, ProtocolError):
        return outcome
    return Result(request_id, outcome, respawned=isinstance(data.get("respawn_seconds"), (int, float)))


def _event(event: Any, data: dict[str, Any]) -> Message | ProtocolError:
    if event == Event.READY:
        names = ("device", "device_label", "device_name", "torch_version")
        if not all(isinstance(data.get(k), str) for k in names):
            return ProtocolError("a ready event without device and torch fields")
        device, device_label, device_name, torch_version = (visible(data[k]) for k in names)
        sandbox, guards = data.get("sandbox"), data.get("guards", [])
        return Ready(device, device_label, device_name, torch_version,
                     import_seconds=_number(data.get("import_seconds")),
                     sandbox=visible(sandbox if isinstance(sandbox, str) else ""),
                     guards=tuple(visible(g) for g in guards if isinstance(g, str)) if isinstance(guards, list) else ())
    if event == Event.FAILED:
        error = data.get("error")
        if not isinstance(error, dict):
            error = {}
        return Failed(visible(str(error.get("type", "Error"))), visible(str(error.get("message", ""))))
    if event == Event.RESPAWNED:
        return Respawned(_number(data.get("seconds")))
    return ProtocolError(f"unknown event {str(event)[:40]!r}")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _text(value: Any) -> str:
    return visible(value) if isinstance(value, str) else ""


def _visible_all(value: Any) -> Any:
    """Every string inside (keys included) terminal-safe: a trace carries the snippet's own text."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, list):
        return [_visible_all(v) for v in value]
    if isinstance(value, dict):
        return {_visible_all(k): _visible_all(v) for k, v in value.items()}
    return value


def _outcome(data: dict[str, Any], device: str, round_trip: float) -> Outcome | ProtocolError:
    try:
        status = Status(data.get("status"))
    except ValueError:
        return ProtocolError(f"unknown status {str(data.get('status'))[:40]!r}")
    value, error = data.get("value"), data.get("error")
    if value is not None and not isinstance(value, dict):
        return ProtocolError("value is not an object")
    if status == Status.RAISED and not (isinstance(error, dict) and isinstance(error.get("type"), str)):
        return ProtocolError("a raised outcome without an error type")
    if error is not None and not isinstance(error, dict):
        return ProtocolError("error is not an object")
    if value is not None:
        value = {**value, **{k: _text(value[k]) for k in ("repr", "type", "dtype", "device") if k in value}}
    if error is not None:
        error = {**error, "type": _text(error.get("type")), "message": _text(error.get("message")),
                 "module": _text(error.get("module")),
                 "mro": [_text(m) for m in error.get("mro", []) if isinstance(m, str)]
                        if isinstance(error.get("mro"), list) else []}
    warnings = data.get("warnings")
    known = {"id", "status", "value", "error", "detail", "stdout", "stderr", "warnings", "seconds", "respawn_seconds",
             "left_children"}
    return Outcome(status=status, value=value, error=error, detail=_text(data.get("detail")),
                   stdout=_text(data.get("stdout")), stderr=_text(data.get("stderr")),
                   warnings=tuple(_text(w) for w in warnings if isinstance(w, str))
                            if isinstance(warnings, list) else (),
                   seconds=_number(data.get("seconds")), device=device, round_trip=round_trip,
                   extra={k: _visible_all(v) for k, v in data.items() if k not in known})
