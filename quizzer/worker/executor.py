"""The executor: forked from the zygote, runs cards one at a time. Snippet code runs here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

from .. import linux
from ..protocol import FILE_SIZE_CAP, OUTPUT_CAP, REPR_CAP, Status, memory_headroom
from .channel import Lines, encode_capped, send, write_line
from .summaries import safe_repr, safe_type_name, summarize_error, summarize_value


class CappedText:
    """A text stream that keeps the first OUTPUT_CAP characters and counts the rest."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.total = 0

    def write(self, s: str) -> int:
        n = len(s)
        self.total += n
        if self.kept < OUTPUT_CAP:
            piece = s[: OUTPUT_CAP - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return n

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        out = "".join(self.parts)
        if self.total > self.kept:
            out += f"\n… {self.total - self.kept:,} more characters not shown"
        return out


def pick_device(choice: str):
    import torch

    if choice in ("auto", "", None):
        if torch.cuda.is_available():
            choice = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            choice = "mps"
        else:
            choice = "cpu"
    device = torch.device(choice)
    torch.zeros(1, device=device).add_(1)  # create the context now, not during the first card
    return device


def device_info(device) -> dict[str, Any]:
    import torch

    name = "cpu"
    label = str(device)
    if device.type == "cuda":
        index = device.index or 0
        name = torch.cuda.get_device_name(index)
        label = f"cuda:{index} · {name}"
    elif device.type == "mps":
        name = label = "mps · Apple GPU"
    return {"device": device.type, "device_label": label, "device_name": name, "torch_version": torch.__version__}


def run_card(request: dict[str, Any], namespace_base: dict[str, Any]) -> dict[str, Any]:
    """Execute one card: `code`, then `ask`; the outcome is its value or the exception raised."""
    import warnings

    import torch

    torch.manual_seed(0)
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    ns = dict(namespace_base)
    out, err = CappedText(), CappedText()
    saved = sys.stdout, sys.stderr
    value: Any = None
    error: BaseException | None = None
    tracer = _trace_hook(request)  # a no-op context unless the request asks for a trace
    sys.stdout, sys.stderr = out, err
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with tracer:
                    exec(compile(request.get("code") or "", "<card code>", "exec"), ns)
                    if request.get("ask"):
                        value = eval(compile(request["ask"], "<card ask>", "eval"), ns)
                if ns["device"].type == "cuda":
                    torch.cuda.synchronize()  # surface asynchronous CUDA errors inside this card
            except BaseException as exc:  # SystemExit and KeyboardInterrupt are outcomes too
                error = exc
    finally:
        seconds = time.perf_counter() - start
        sys.stdout, sys.stderr = saved
    outcome: dict[str, Any] = {"seconds": seconds, "stdout": out.text(), "stderr": err.text(),
                               "warnings": [_first_line(w.message) for w in caught[:5]]}
    if error is not None:
        outcome.update(status=Status.RAISED.value, error=summarize_error(error))
    elif request.get("ask"):
        try:
            summary = summarize_value(value)
        except BaseException as exc:  # e.g. a list subclass whose __iter__ raises: keep what is safe
            summary = {"type": safe_type_name(value), "repr": safe_repr(value), "summary_failed": safe_type_name(exc)}
        outcome.update(status=Status.VALUE.value, value=summary)
    else:
        outcome.update(status=Status.VALUE.value, value=None)
    if request.get("trace"):
        outcome["trace"] = _trace_result(tracer, ns, namespace_base, value, bool(request.get("ask")))
    return outcome


# -- the why-panel's trace: asked per request, and never changes the outcome ------------------
def _trace_hook(request: dict[str, Any]) -> Any:
    import contextlib

    if not request.get("trace"):
        return contextlib.nullcontext()
    from .tracing import Tracer

    return Tracer()


def _trace_result(tracer: Any, ns: dict[str, Any], base: dict[str, Any], value: Any, asked: bool) -> dict[str, Any]:
    try:
        return tracer.result(ns, base, value, asked)
    except Exception as exc:  # a broken trace costs the panel, never the outcome
        return {"version": 1, "failed": safe_type_name(exc)}


def _first_line(message: Any) -> str:
    try:
        return str(message).strip().splitlines()[0][:REPR_CAP]
    except Exception:
        return "<warning>"


def set_limits(device_type: str) -> None:
    import resource

    for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, FILE_SIZE_CAP)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    if device_type == "cpu":  # CUDA reserves huge address ranges; the zygote's memory watch covers it
        size = linux.vsize_bytes()
        if size:
            try:
                resource.setrlimit(resource.RLIMIT_AS, (size + memory_headroom(), size + memory_headroom()))
            except (OSError, ValueError):
                pass
    try:  # bound a fork bomb: a few dozen processes above what the user already runs. The limit
        # counts the user's processes on the whole machine, which the sandbox cannot see: the app
        # counted them for us before starting it.
        running = max(len(linux.pids()), int(os.environ.get("QUIZZER_HOST_PROCESSES", "0") or 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (running + 64, running + 64))
    except (OSError, ValueError):
        pass


def executor_main(req_fd: int, res_fd: int, device_choice: str, workdir: str) -> None:
    import numpy
    import torch

    pid = os.getpid()
    torch.set_num_threads(1)  # forking after a parallel op can hang the child (OpenMP)
    try:
        device = pick_device(device_choice)
        info = device_info(device)
    except Exception as exc:  # asked for cuda without one, say
        send(res_fd, {"event": "failed", "error": summarize_error(exc)})
        os._exit(3)
    os.chdir(workdir)
    set_limits(device.type)
    base = {"torch": torch, "device": device, "nn": torch.nn, "F": torch.nn.functional, "np": numpy,
            "__name__": "__card__", "__builtins__": __builtins__}
    threads = linux.thread_count()  # after the device context: what torch itself keeps running
    send(res_fd, {"event": "ready", **info})
    reader = Lines(req_fd)
    card_dir = ""
    while True:
        line = reader.next_line(None)
        if line is None:
            os._exit(0)
        request = json.loads(line)
        card_dir = _fresh_dir(workdir, card_dir)
        outcome = run_card(request, base)
        if os.getpid() != pid:  # a fork inside the snippet returned here: never answer twice
            os._exit(0)
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            signal.setitimer(timer, 0)  # a signal.alarm() left by this card must not end the next one
        try:
            os.waitpid(-1, os.WNOHANG)
            outcome["left_children"] = True  # the snippet forked; the zygote will recycle us
        except ChildProcessError:
            pass
        if linux.thread_count() > threads:  # any thread, however started, could act during the next card
            outcome["left_children"] = True
        outcome["id"] = request["id"]
        text = encode_capped(outcome)
        if text is None and isinstance(outcome.get("value"), dict) and "data" in outcome["value"]:
            outcome["value"].update(data=None, truncated=True)  # e.g. 4,096 long strings: keep the summary
            text = encode_capped(outcome)
        if text is None:
            for key in ("value", "error", "stdout", "stderr", "warnings"):
                outcome.pop(key, None)
            outcome.update(status=Status.CRASHED.value, left_children=True,
                           detail="the outcome is too large or cannot be sent back")
            text = json.dumps(outcome)
        write_line(res_fd, text)


def _fresh_dir(workdir: str, previous: str) -> str:
    """An empty working directory per card: files (or a chdir) from one card never reach the next."""
    os.makedirs(workdir, exist_ok=True)  # a snippet may have removed it
    os.chdir(workdir)
    if previous:
        shutil.rmtree(previous, ignore_errors=True)
    path = tempfile.mkdtemp(dir=workdir)
    os.chdir(path)
    return path
