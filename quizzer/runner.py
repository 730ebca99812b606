"""Client side of the worker: start it, send cards, get outcomes back. Never imports torch.

`Runner.submit(card)` returns a Future at once; the worker runs cards in order, so the study
screen can submit the current and the next card while the learner is still reading (precompute),
and pressing Enter only waits for what is left, usually nothing.

Everything the worker says is untrusted (a snippet runs inside it): lines are parsed by
`protocol.from_wire`, outcomes are matched to requests by id, and the only directory this side
ever removes is the one it created itself.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import (
    TimeoutError as FutureTimeout,  # not the builtin one before 3.11
)
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import IO, Any

from . import linux
from .deck import Card
from .errors import QuizzerError
from .protocol import (  # noqa: F401  (Outcome re-exported for older imports)
    CARD_TIMEOUT,
    OUTCOME_CACHE,
    RESULT_CAP,
    SLACK,
    START_TIMEOUT,
    Failed,
    Outcome,
    ProtocolError,
    Ready,
    Respawned,
    Result,
    Status,
    describe_value,
    from_wire,
)
from .settings import default_device

WORKROOT_PREFIX = "quizzer-"
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# `python -I` ignores the environment and the launch directory; quizzer itself is found by path, so a
# learner's random.py or torch.py next to where they typed `quizzer` is never imported by the worker.
BOOT = f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); from quizzer.worker import main; main(sys.argv[1:])"


@dataclass
class WorkerInfo:
    device: str = ""
    device_label: str = ""
    device_name: str = ""
    torch_version: str = ""
    start_seconds: float = 0.0
    import_seconds: float = 0.0
    sandbox_off: str = ""  # "" when snippets run in the sandbox, else the reason it is off
    guards: tuple[str, ...] = ()


class WorkerFailed(QuizzerError, RuntimeError):
    """The worker could not start or stopped for good; the message says why and what to try."""


@dataclass(frozen=True)
class Isolation:
    """How the worker is started: the `unshare` prefix, and why the full sandbox is off ("" if on)."""

    prefix: tuple[str, ...]
    off_reason: str


SANDBOX = ("unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--mount-proc", "--net",
           "--kill-child", "--")
NET_ONLY = ("unshare", "--user", "--map-root-user", "--net", "--")


@lru_cache(maxsize=4)
def isolation(setting: str = "1") -> Isolation:
    """The full sandbox where the kernel allows it; else a network namespace; else nothing, with why.
    `setting` is QUIZZER_ISOLATE ("0" turns the sandbox off)."""
    if setting == "0":
        return Isolation((), "turned off by QUIZZER_ISOLATE=0")
    if not sys.platform.startswith("linux"):
        return Isolation((), f"namespaces need Linux, this is {sys.platform}")
    if not shutil.which("unshare"):
        return Isolation((), "the unshare command is missing (util-linux)")
    reason = _probe(SANDBOX)
    if not reason:
        return Isolation(SANDBOX, "")
    return Isolation(NET_ONLY if not _probe(NET_ONLY) else (), reason)


def _probe(prefix: tuple[str, ...]) -> str:
    try:
        proc = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=5, cwd="/", check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unshare could not run ({exc})"
    if proc.returncode == 0:
        return ""
    lines = proc.stderr.strip().splitlines()
    return f"namespaces are not available here ({lines[0] if lines else f'exit code {proc.returncode}'})"


def private_paths() -> list[str]:
    """The learner's data the sandbox hides: the database's folder and quizzer's data folder."""
    from .store import default_db_path

    db = default_db_path().expanduser().resolve()
    paths = [db.parent, *database_files(db)]
    try:
        from platformdirs import user_data_dir

        paths.append(Path(user_data_dir("quizzer", appauthor=False)))
    except ImportError:
        pass
    return sorted({str(p) for p in paths})


def database_files(db: Path) -> list[Path]:
    """A SQLite database and its journal files: hidden one by one where their folder cannot be."""
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), db.with_name(db.name + "-journal")]


def remove_stale_workroots(tmp: str | None = None) -> list[str]:
    """Remove `quizzer-<pid>-*` folders whose run is dead (an app killed with SIGKILL leaves them)."""
    removed: list[str] = []
    base = Path(tmp or tempfile.gettempdir())
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        parts = entry.name.split("-")
        if len(parts) < 3 or parts[0] + "-" != WORKROOT_PREFIX or not parts[1].isdigit() or not entry.is_dir():
            continue
        if not linux.pid_alive(int(parts[1])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    return removed


class Runner:
    """One worker process on one device. Thread-safe; outcomes are cached per card version."""

    def __init__(self, device: str | None = None, *, hide: Iterable[str] = ()):
        self.device_choice = device or default_device()
        self.hide = sorted({*private_paths(), *map(str, hide)})
        self.info = WorkerInfo()
        self.ready = threading.Event()
        self.failure: str | None = None
        self.malformed: list[str] = []  # why each rejected worker line was rejected (last few)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Future, float, float]] = {}
        self._running_keys: dict[tuple, int] = {}
        self._cache: OrderedDict[tuple, Future] = OrderedDict()
        self._proc: subprocess.Popen | None = None
        self._workroot = ""
        self.respawns = 0
        self._isolate = os.environ.get("QUIZZER_ISOLATE", "1")  # the guards are decided now, probed later

    # -- lifecycle ----------------------------------------------------------------------------
    @cached_property
    def _iso(self) -> Isolation:
        """Probed once, at the first spawn (probing runs `unshare`: not on the way to the first card),
        from the setting read when the runner was made; a restarted worker gets the same guards."""
        return isolation(self._isolate)

    @property
    def sandbox_off(self) -> str:
        """'' when snippets run in the sandbox, else one line saying why not (shown once by the UI)."""
        reason = self._iso.off_reason or self.info.sandbox_off
        return f"sandbox off: {reason}" if reason else ""

    @property
    def sandboxed(self) -> bool:
        """Whether snippets run in the full sandbox (namespaces set up, file system private)."""
        return self.ready.is_set() and not self.failure and not self.sandbox_off

    def start(self) -> Runner:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._spawn()
        return self

    def _spawn(self) -> None:
        self.ready.clear()
        self.failure = None
        remove_stale_workroots()
        iso = self._iso
        # sandboxed, the worker's files live in its private /tmp: nothing of it on the real disk
        self._workroot = "" if iso.prefix == SANDBOX else tempfile.mkdtemp(prefix=f"{WORKROOT_PREFIX}{os.getpid()}-")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "QUIZZER_HOST_PROCESSES": str(len(linux.pids()))}
        cmd = [*iso.prefix, sys.executable, "-I", "-B", "-c", BOOT, "--device", self.device_choice,
               *(("--workroot", self._workroot) if self._workroot else ()),
               *(a for p in self.hide for a in ("--hide", p))]
        if iso.prefix != SANDBOX:
            cmd.append("--no-sandbox")
        self._started_at = time.perf_counter()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      env=env, cwd="/", start_new_session=True)
        threading.Thread(target=self._read, args=(self._proc, self._workroot), daemon=True,
                         name="quizzer-runner").start()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> WorkerInfo:
        self.start()
        if not self.ready.wait(timeout):
            raise WorkerFailed(f"the worker did not start within {timeout:g} s")
        if self.failure:
            raise WorkerFailed(self.failure)
        return self.info

    def close(self) -> None:
        """Stop at once: kill the worker's whole session (with the sandbox, its init takes every
        snippet process with it). Never waits on the worker's cooperation."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            _kill_worker(proc)
        self._fail_pending("the worker was stopped")

    def __enter__(self) -> Runner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running cards ------------------------------------------------------------------------
    def submit(self, card: Card, *, fresh: bool = False, trace: bool = False) -> Future:
        """Queue a card; the same card version is run once unless `fresh` (e.g. a determinism check).
        `trace` also records what its torch calls did, for the why-panel (a separate cache entry)."""
        key = _key(card, trace)
        with self._lock:
            cached = self._cache.get(key)
            if not fresh and cached is not None and not cached.cancelled():
                self._cache.move_to_end(key)
                return cached
        future = self.submit_code(card.code, card.ask, timeout=card.timeout, trace=trace)
        with self._lock:
            self._running_keys[key] = getattr(future, "request_id", 0)
            if not fresh:
                self._cache[key] = future
                while len(self._cache) > OUTCOME_CACHE:
                    self._cache.popitem(last=False)
        return future

    def submit_code(self, code: str, ask: str | None = None, *, timeout: float = CARD_TIMEOUT,
                    trace: bool = False) -> Future:
        self.start()
        future: Future = Future()
        with self._lock:
            request_id = next(self._ids)
            future.request_id = request_id  # type: ignore[attr-defined]
            self._pending[request_id] = (future, time.perf_counter(), timeout)
            proc = self._proc
        request: dict[str, Any] = {"id": request_id, "code": code, "ask": ask, "timeout": timeout}
        if trace:
            request["trace"] = True
        self._send(proc, request)
        return future

    def cancel(self, card: Card) -> bool:
        """Stop this card's runs if queued or still going (the learner skipped it); True if any was."""
        asked = False
        for key in (_key(card, False), _key(card, True)):
            with self._lock:
                request_id = self._running_keys.pop(key, None)
                if request_id is None or request_id not in self._pending:
                    continue
                self._cache.pop(key, None)
                proc = self._proc
            self._send(proc, {"cancel": request_id})
            asked = True
        return asked

    def _send(self, proc: subprocess.Popen | None, message: dict) -> None:
        import json

        try:
            assert proc is not None and proc.stdin is not None
            proc.stdin.write((json.dumps(message) + "\n").encode())
            proc.stdin.flush()
        except (OSError, ValueError, AssertionError):
            self._restart_after_failure("the worker stopped unexpectedly")

    def run(self, card: Card, *, fresh: bool = False, trace: bool = False) -> Outcome:
        """Blocking run; a worker that stops answering is restarted and the card reported as crashed."""
        future = self.submit(card, fresh=fresh, trace=trace)
        try:
            return future.result(timeout=card.timeout + SLACK + (0 if self.ready.is_set() else START_TIMEOUT))
        except FutureTimeout:
            self._restart_after_failure("the worker stopped answering")
            return future.result()

    # -- plumbing -----------------------------------------------------------------------------
    def _reject(self, why: str) -> None:
        self.malformed = [*self.malformed[-9:], why]

    def _read(self, proc: subprocess.Popen, workroot: str) -> None:
        assert proc.stdout is not None
        for raw in _bounded_lines(proc.stdout, RESULT_CAP):
            message = from_wire(raw, self.info.device) if raw is not None else ProtocolError("line over the size cap")
            if isinstance(message, ProtocolError):
                self._reject(message.reason)
            elif isinstance(message, Ready):
                if self.ready.is_set():
                    self._reject("a second ready event")
                    continue
                self.info = WorkerInfo(
                    device=message.device, device_label=message.device_label, device_name=message.device_name,
                    torch_version=message.torch_version, import_seconds=message.import_seconds,
                    start_seconds=time.perf_counter() - self._started_at, sandbox_off=message.sandbox,
                    guards=message.guards)
                self.ready.set()
            elif isinstance(message, Failed):
                if self.ready.is_set():
                    self._reject("a failed event after start-up")
                    continue
                self.failure = (f"the worker could not start on {self.device_choice}: "
                                f"{message.error_type}: {message.message}")
                self.ready.set()
            elif isinstance(message, Respawned):
                self.respawns += 1
            elif isinstance(message, Result):
                with self._lock:
                    entry = self._pending.pop(message.id, None)
                if entry is None:
                    self._reject(f"an outcome for id {message.id}, which is not pending")
                    continue
                if message.respawned:
                    self.respawns += 1
                future, sent, _ = entry
                outcome = replace(message.outcome, round_trip=time.perf_counter() - sent)
                if not future.done():
                    future.set_result(outcome)
        # EOF: the worker is gone. Anything still pending will never be answered.
        _kill_worker(proc)
        if workroot:
            shutil.rmtree(workroot, ignore_errors=True)  # ours: created by _spawn, never a path the worker named
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
            self._cache = OrderedDict((k, f) for k, f in self._cache.items() if f.done())
        for future, _, _ in pending.values():
            if not future.done():
                future.set_result(Outcome(status=Status.CRASHED, detail=why, device=self.info.device))

    def _restart_after_failure(self, why: str) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            _kill_worker(proc)
        self._fail_pending(why)


def _key(card: Card, trace: bool = False) -> tuple:
    return (card.deck_id, card.id, card.code_hash, card.timeout, trace)


def _bounded_lines(stream: IO[bytes], cap: int):
    """Lines of at most `cap` bytes; a longer one is read to its end and yielded as None."""
    while True:
        line = stream.readline(cap + 1)
        if not line:
            return
        if len(line) > cap and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield line


def _kill_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the worker's process group, then anything left in its session, then reap it."""
    if proc.pid <= 1:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        try:
            proc.kill()
        except OSError:
            pass
    linux.kill_session(proc.pid)
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        pass
    try:  # stdout stays open: the reader thread owns it and ends at EOF
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
