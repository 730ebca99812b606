"""The zygote: imports torch once, never runs a torch op, and forks executors.

It talks to the app (JSON lines on stdin / a private copy of stdout), forwards each card to the
executor, and enforces the timeout, the memory cap and the result size from outside the snippet's
reach. When a snippet hangs, blows a cap, leaves a process or thread behind or kills its process,
the zygote kills the executor's whole process group (and every orphan) and forks a new one.
Everything the executor sends is checked: only an outcome carrying the id of the card that is
running is forwarded, rebuilt from known fields, never an event.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections import deque
from typing import Any

from .. import linux
from ..protocol import CARD_TIMEOUT, Event, Status, memory_headroom
from . import sandbox
from .channel import Lines, LineTooLong, send

RESERVED = ("event", "id", "respawn_seconds", "left_children")
MEMORY_POLL = 0.1  # seconds between two sums of the sandbox's memory


class MemoryCapExceeded(Exception):
    pass


class ExecutorExited(Exception):
    """The executor ended while a child it forked still holds the result pipe open (so no EOF)."""


class Cancelled(Exception):
    """The app cancelled the card that is running (the learner skipped it)."""


class Requests:
    """The app's requests, read ahead while a card runs so that a cancel can reach it."""

    def __init__(self, fd: int):
        self.lines = Lines(fd)
        self.queue: deque[dict[str, Any]] = deque()
        self.cancelled: set[int] = set()
        self.closed = False

    def _take(self, line: str | None) -> None:
        if line is None:
            self.closed = True
            return
        message = json.loads(line)
        if "cancel" in message:
            self.cancelled.add(message["cancel"])
        else:
            self.queue.append(message)

    def poll(self) -> None:
        while not self.closed and self.lines.pending():
            self._take(self.lines.next_line(None))

    def next(self) -> dict[str, Any] | None:
        while not self.queue and not self.closed:
            self._take(self.lines.next_line(None))
        return self.queue.popleft() if self.queue else None


class Zygote:
    def __init__(self, device_choice: str, out_fd: int, workroot: str, in_sandbox: bool):
        self.device_choice = device_choice
        self.out_fd = out_fd
        self.workroot = tempfile.mkdtemp(prefix="quizzer-", dir=workroot)
        self.in_sandbox = in_sandbox
        self.pid = 0
        self.workdir = ""
        self.req_w = -1
        self.results = Lines(-1)
        self.memory_cap = 0
        self.base_anon = 0
        self.requests: Requests | None = None
        self.current = -1
        self._next_memory_check = 0.0

    def spawn(self) -> dict[str, Any]:
        from .executor import executor_main

        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        workdir = self.workdir = tempfile.mkdtemp(dir=self.workroot)
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                linux.die_with_parent()
                os.close(req_w)
                os.close(res_r)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.close(self.out_fd)
                if self.in_sandbox:
                    sandbox.drop_capabilities()
                executor_main(req_r, res_w, self.device_choice, workdir)
            finally:
                os._exit(1)
        os.close(req_r)
        os.close(res_w)
        self.pid, self.req_w, self.results = pid, req_w, Lines(res_r)
        start = time.monotonic()
        try:
            line = self.results.next_line(start + 120)
            hello = json.loads(line) if line else None
        except (TimeoutError, LineTooLong, ValueError):
            hello = None
        if not isinstance(hello, dict):
            hello = {"event": Event.FAILED.value,
                     "error": {"type": "RuntimeError", "message": "executor died at start"}}
        hello["start_seconds"] = time.monotonic() - start
        self.base_anon = linux.anon_bytes(pid)
        self.memory_cap = self._memory() + memory_headroom()
        return hello

    # -- memory: one cap for every process of the card ---------------------------------------------
    def _memory(self) -> int:
        """With the sandbox: every process in it plus its tmpfs files. A process forked by the
        executor starts with the executor's private pages counted again, so each other process
        counts only what it holds above the executor's start-up size (a fork bomb of sleepers is
        a timeout, three children of 1.5 GiB are a memory outcome). Without: the executor's RSS."""
        if not self.in_sandbox:
            return linux.rss_bytes(self.pid)
        total = linux.anon_bytes(self.pid)
        for pid in linux.pids():
            if pid not in (1, self.pid):
                total += max(0, linux.anon_bytes(pid) - self.base_anon)
        return total + sandbox.scratch_usage()

    def _check_memory(self) -> None:
        now = time.monotonic()
        if now < self._next_memory_check:
            return
        self._next_memory_check = now + MEMORY_POLL
        if self.memory_cap and self._memory() > self.memory_cap:
            raise MemoryCapExceeded

    # -- killing -----------------------------------------------------------------------------------
    def kill(self) -> None:
        """Kill the executor's process group and every orphan it left; close its pipes."""
        if self.pid:
            self._kill_group()
            self._reap()
            self.pid = 0
        self._sweep()
        for fd in (self.req_w, self.results.fd):
            if fd >= 0:
                os.close(fd)
        self.req_w, self.results = -1, Lines(-1)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = ""
        if self.in_sandbox:
            _clear_scratch(self.workroot)

    def _kill_group(self) -> None:
        """Call before reaping the executor: until then its pid, and so its group id, cannot be reused."""
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        if self.in_sandbox:  # everything but us is the card's: kill(-1) from init reaches all of it
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass

    def _await_exit(self, deadline: float) -> None:
        """Let an executor that closed its pipe exit by itself (its status is the outcome)."""
        while hasattr(os, "waitid") and time.monotonic() < deadline and not self._exited():
            time.sleep(0.005)

    def strays(self) -> list[int]:
        """Children of the zygote other than the executor: orphans a snippet left behind."""
        return [p for p in linux.children() if p != self.pid]

    def _sweep(self) -> None:
        for _ in range(100):  # each round kills one generation; their children come to us next
            strays = self.strays()
            if not strays:
                return
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for pid in strays:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass

    def _reap(self) -> int | None:
        try:
            _, status = os.waitpid(self.pid, 0)
            return status
        except ChildProcessError:
            return None

    def _watch(self) -> None:
        """Polled while a card runs."""
        self._check_memory()
        if self.requests is not None:
            self.requests.poll()
            if self.current in self.requests.cancelled or self.requests.closed:
                raise Cancelled  # skipped, or the app is gone: nobody waits for this card
        if self._exited():
            raise ExecutorExited

    def _exited(self) -> bool:
        """Whether the executor has ended, without reaping it (its pid must stay reserved)."""
        if not hasattr(os, "waitid"):
            return False
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    # -- one card ------------------------------------------------------------------------------------
    def run(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The outcome, and whether the executor must be replaced."""
        timeout = float(request.get("timeout") or CARD_TIMEOUT)
        started = time.monotonic()
        deadline = started + timeout
        self.current = request["id"]
        self._next_memory_check = 0.0
        try:
            self.results.drain()
            send(self.req_w, request)
            while True:  # lines for another id are forged: skip them, the deadline still holds
                line = self.results.next_line(deadline, watch=self._watch)
                if line is None:
                    break
                outcome = _parse(line, request["id"])
                if outcome is not None:
                    return outcome, bool(outcome.pop("left_children", False)) or bool(self.strays())
        except TimeoutError:
            return {"status": Status.TIMEOUT.value, "detail": f"timed out after {timeout:g} s",
                    "seconds": timeout}, True
        except MemoryCapExceeded:
            return {"status": Status.MEMORY.value,
                    "detail": f"used more than {self.memory_cap >> 20:,} MiB of memory",
                    "seconds": time.monotonic() - started}, True
        except LineTooLong:
            return {"status": Status.CRASHED.value, "detail": "the outcome is too large to send back",
                    "seconds": time.monotonic() - started}, True
        except Cancelled:
            return {"status": Status.CANCELLED.value, "detail": "skipped before it finished",
                    "seconds": time.monotonic() - started}, True
        except (BrokenPipeError, ExecutorExited):
            pass
        self._await_exit(deadline)
        self._kill_group()  # the children it forked must not outlive it
        status = self._reap()
        self.pid = 0 if status is not None else self.pid
        return {"status": Status.CRASHED.value, "detail": describe_exit(status),
                "seconds": time.monotonic() - started}, True


def _parse(line: str, request_id: int) -> dict[str, Any] | None:
    """The executor's outcome for `request_id`, with reserved fields removed; None if it is not one."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("id") != request_id or "event" in message:
        return None
    left = bool(message.get("left_children"))
    outcome = {k: v for k, v in message.items() if k not in RESERVED}
    outcome["left_children"] = left
    return outcome


def _clear_scratch(keep: str) -> None:
    """Empty the sandbox's tmpfs folders between executors: files from one card never reach another."""
    for folder in (*sandbox.SCRATCH, os.path.expanduser("~")):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if path == keep or os.path.ismount(path) or sandbox.holds_mount(path):
                continue  # the zygote's own work folder, or where the Python environment is bound
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def describe_exit(status: int | None) -> str:
    if status is None:
        return "the snippet killed its process"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"the snippet killed its process (signal {name})"
    return f"the snippet ended its process (exit code {os.WEXITSTATUS(status)})"


def serve(zygote: Zygote, out_fd: int, hello_extra: dict[str, Any]) -> None:
    hello = zygote.spawn()
    hello.update(hello_extra)
    send(out_fd, hello)
    if hello.get("event") != Event.READY.value:
        return
    requests = zygote.requests = Requests(0)
    while True:
        request = requests.next()
        if request is None:
            break
        if request["id"] in requests.cancelled:
            send(out_fd, {"id": request["id"], "status": Status.CANCELLED.value, "detail": "skipped before it ran"})
            continue
        if zygote.pid == 0:
            hello = zygote.spawn()
            send(out_fd, {"event": Event.RESPAWNED.value, "seconds": hello["start_seconds"]})
        outcome, replace = zygote.run(request)
        outcome["id"] = request["id"]
        if zygote.in_sandbox and not replace:
            _clear_scratch(zygote.workroot)  # files in /tmp, /dev/shm, home live and die with their card
        if replace:
            t = time.monotonic()
            zygote.kill()
            zygote.spawn()
            outcome["respawn_seconds"] = time.monotonic() - t
        send(out_fd, outcome)
