"""Client side of the worker: start it, send cards, get outcomes back. Never imports torch.

`Runner.submit(card)` returns a Future at once; the worker runs cards in order, so the study
screen can submit the current and the next card while the learner is still reading (precompute),
and pressing Enter only waits for what is left, usually nothing.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout  # not the builtin one before 3.11
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .deck import Card

START_TIMEOUT = 120.0  # a first torch import on a cold disk can be slow
SLACK = 15.0  # how long past a card's own timeout before we assume the worker itself is stuck


@dataclass(frozen=True)
class Outcome:
    """What running a card really did. `status` is value | raised | timeout | memory | crashed."""

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
    trace: dict[str, Any] | None = None  # what the torch calls did (quizzer/why.py draws it); only when asked

    @property
    def ran(self) -> bool:
        """False when the run itself failed (timeout, memory, crash): nothing to grade against."""
        return self.status in ("value", "raised")

    @property
    def raised(self) -> bool:
        return self.status == "raised"

    def fingerprint(self) -> str:
        """What must be equal between two runs of a deterministic card."""
        if self.status == "raised":
            return json.dumps(["raised", self.error.get("type"), self.error.get("message")])
        if self.status == "value" and self.value:
            keep = {k: self.value.get(k) for k in ("type", "shape", "dtype", "data", "repr") if k in self.value}
            return json.dumps(["value", keep], sort_keys=True)
        return json.dumps([self.status])

    def describe(self) -> str:
        """One line for people: 'tensor of shape (2, 3), float32' / 'raised RuntimeError: ...'."""
        if self.status == "raised":
            message = (self.error.get("message") or "").splitlines()
            return f"it raised {self.error['type']}" + (f": {message[0]}" if message else "")
        if self.status != "value":
            return self.detail or self.status
        if self.value is None:
            return "it ran without raising"
        return describe_value(self.value)

    @classmethod
    def from_json(cls, data: dict[str, Any], device: str = "", round_trip: float = 0.0) -> "Outcome":
        return cls(status=data.get("status", "crashed"), value=data.get("value"), error=data.get("error"),
                   detail=data.get("detail", ""), stdout=data.get("stdout", ""), stderr=data.get("stderr", ""),
                   warnings=tuple(data.get("warnings", ())), seconds=float(data.get("seconds", 0.0)),
                   device=device, round_trip=round_trip, trace=data.get("trace"))


def describe_value(value: dict[str, Any]) -> str:
    kind = value.get("type")
    if kind in ("Tensor", "Parameter", "ndarray") and "shape" in value:
        shape = "(" + ", ".join(map(str, value["shape"])) + ("," if len(value["shape"]) == 1 else "") + ")"
        return f"{value['repr']}  — shape {shape}, {value.get('dtype', '').replace('torch.', '')}"
    return value.get("repr", "")


@dataclass
class WorkerInfo:
    device: str = ""
    device_label: str = ""
    device_name: str = ""
    torch_version: str = ""
    start_seconds: float = 0.0
    import_seconds: float = 0.0


class WorkerFailed(RuntimeError):
    pass


@lru_cache(maxsize=1)
def isolation_prefix() -> tuple[str, ...]:
    """`unshare` into a fresh user + network namespace where the kernel allows it, else nothing."""
    if os.environ.get("QUIZZER_ISOLATE", "1") == "0" or not shutil.which("unshare"):
        return ()
    prefix = ("unshare", "--user", "--map-root-user", "--net", "--")
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return prefix if ok else ()


def default_device() -> str:
    return os.environ.get("QUIZZER_DEVICE", "auto") or "auto"


class Runner:
    """One worker process on one device. Thread-safe; outcomes are cached per card version."""

    def __init__(self, device: str | None = None):
        self.device_choice = device or default_device()
        self.info = WorkerInfo()
        self.ready = threading.Event()
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Future, float, float]] = {}
        self._cache: dict[tuple, Future] = {}
        self._proc: subprocess.Popen | None = None
        self.respawns = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "Runner":
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._spawn()
        return self

    def _spawn(self) -> None:
        self.ready.clear()
        self.failure = None
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [*isolation_prefix(), sys.executable, "-m", "quizzer.worker", "--device", self.device_choice]
        self._started_at = time.perf_counter()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      env=env, start_new_session=True)
        threading.Thread(target=self._read, args=(self._proc,), daemon=True, name="quizzer-runner").start()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> WorkerInfo:
        self.start()
        if not self.ready.wait(timeout):
            raise WorkerFailed(f"the worker did not start within {timeout:g} s")
        if self.failure:
            raise WorkerFailed(self.failure)
        return self.info

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            kill_session(proc.pid)
        self._fail_pending("the worker was stopped")

    def __enter__(self) -> "Runner":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running cards ------------------------------------------------------------------------
    def submit(self, card: Card, *, fresh: bool = False, trace: bool = False) -> Future:
        """Queue a card; the same card version is run once unless `fresh` (e.g. a determinism check).
        `trace` also records what its torch calls did (a separate cache entry)."""
        key = (card.deck_id, card.id, card.code_hash, card.timeout, trace)
        with self._lock:
            if not fresh and key in self._cache and not self._cache[key].cancelled():
                return self._cache[key]
        future = self.submit_code(card.code, card.ask, timeout=card.timeout, trace=trace)
        if not fresh:
            with self._lock:
                self._cache[key] = future
        return future

    def submit_code(self, code: str, ask: str | None = None, *, timeout: float = 5.0, trace: bool = False) -> Future:
        self.start()
        future: Future = Future()
        with self._lock:
            request_id = next(self._ids)
            self._pending[request_id] = (future, time.perf_counter(), timeout)
            proc = self._proc
        request = {"id": request_id, "code": code, "ask": ask, "timeout": timeout}
        if trace:
            request["trace"] = True
        line = json.dumps(request) + "\n"
        try:
            proc.stdin.write(line.encode())
            proc.stdin.flush()
        except (OSError, ValueError):
            self._restart_after_failure("the worker stopped unexpectedly")
        return future

    def run(self, card: Card, *, fresh: bool = False, trace: bool = False) -> Outcome:
        """Blocking run; a worker that stops answering is restarted and the card reported as crashed."""
        future = self.submit(card, fresh=fresh, trace=trace)
        try:
            return future.result(timeout=card.timeout + SLACK + (0 if self.ready.is_set() else START_TIMEOUT))
        except FutureTimeout:
            self._restart_after_failure("the worker stopped answering")
            return future.result()

    # -- plumbing -----------------------------------------------------------------------------
    def _read(self, proc: subprocess.Popen) -> None:
        workroot = ""
        for raw in proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            event = message.get("event")
            if event in ("ready", "failed"):
                workroot = message.get("workroot") or ""
            if event == "ready":
                self.info = WorkerInfo(
                    device=message["device"], device_label=message["device_label"], device_name=message["device_name"],
                    torch_version=message["torch_version"], import_seconds=message.get("import_seconds", 0.0),
                    start_seconds=time.perf_counter() - self._started_at)
                self.ready.set()
            elif event == "failed":
                error = message.get("error") or {}
                self.failure = f"the worker could not start on {self.device_choice}: {error.get('type')}: {error.get('message')}"
                self.ready.set()
            elif event == "respawned":
                self.respawns += 1
            elif "id" in message:
                if "respawn_seconds" in message:
                    self.respawns += 1
                with self._lock:
                    entry = self._pending.pop(message["id"], None)
                if entry:
                    future, sent, _ = entry
                    future.set_result(Outcome.from_json(message, self.info.device, time.perf_counter() - sent))
        # EOF: the worker is gone. Anything still pending will never be answered.
        kill_session(proc.pid)
        if os.path.basename(workroot).startswith("quizzer-"):  # left behind when the worker was killed
            shutil.rmtree(workroot, ignore_errors=True)
        with self._lock:
            current = self._proc is proc
            if current:
                self._proc = None
        if not current:  # replaced already: whoever replaced it failed what it had pending, and the
            return       # ready flag and pending cards now belong to the new worker
        if not self.ready.is_set():
            self.failure = self.failure or "the worker exited during start-up"
            self.ready.set()
        self._fail_pending("the worker process ended")

    def _fail_pending(self, why: str) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._cache = {k: f for k, f in self._cache.items() if f.done()}
        for future, _, _ in pending.values():
            if not future.done():
                future.set_result(Outcome(status="crashed", detail=why, device=self.info.device))

    def _restart_after_failure(self, why: str) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, 9)
            except OSError:
                proc.kill()
            kill_session(proc.pid)
        self._fail_pending(why)


def kill_session(sid: int) -> None:
    """SIGKILL what is left of a worker's session (Linux /proc; a no-op elsewhere).

    The zygote kills what its executor leaves behind, but a snippet can kill the zygote first; its
    children then live on under init. They keep the worker's session id (the worker is started with
    start_new_session), and that id cannot be reused while any of them is alive.
    """
    try:
        if sid <= 1 or sid == os.getsid(0):
            return
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()  # state ppid pgrp session ...
            if int(fields[3]) == sid:
                os.kill(int(name), 9)
        except (OSError, ValueError, IndexError):
            continue
