"""The worker process: the only place torch is imported. Run as `python -m quizzer.worker`.

Two layers, so that a misbehaving snippet never costs a torch import (~1.4 s):

* the **zygote** imports torch once, never runs a torch op and never touches CUDA, so it can fork
  safely; it talks to the UI process (JSON lines on stdin/stdout), forwards each card to the
  executor, and enforces the timeout and memory cap from outside the snippet's reach;
* the **executor** is forked from the zygote (~10 ms), picks the device, sets its own limits and
  runs cards one at a time in fresh namespaces. When a snippet hangs, blows the memory cap or kills
  its process, the zygote kills the executor's whole process group and forks a new one.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

# Must be set before torch is imported: forked children inherit an OpenMP pool otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # is_available() without initialising CUDA

OUTPUT_CAP = 8_000  # characters of stdout/stderr kept per run
REPR_CAP = 600
DATA_CAP = 4_096  # elements of a tensor or list sent back as data
MESSAGE_LINES = 6
MEMORY_HEADROOM = 2 << 30  # bytes a card may allocate above the executor's start-up size
FILE_SIZE_CAP = 64 << 20


# --------------------------------------------------------------------------------------------
# Summaries: everything sent back is plain JSON, so the UI process never needs torch.
# --------------------------------------------------------------------------------------------
def summarize_value(value: Any) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"type": type(value).__name__, "repr": _safe_repr(value)}
    if isinstance(value, torch.Tensor):
        out.update(shape=list(value.shape), dtype=str(value.dtype), device=str(value.device),
                   requires_grad=bool(value.requires_grad))
        out["data"], out["truncated"] = _tensor_data(value)
    elif type(value).__module__ == "numpy" and hasattr(value, "shape") and hasattr(value, "dtype"):
        out.update(shape=list(value.shape), dtype=str(value.dtype))
        out["data"], out["truncated"] = _tensor_data(value)
    elif isinstance(value, torch.Size):
        out.update(shape=list(value), data=list(value))
    elif isinstance(value, torch.dtype):
        out.update(dtype=str(value))
    elif _is_numpy_dtype(value):
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


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException as exc:
        return f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= REPR_CAP else text[:REPR_CAP] + "…"


def _tensor_data(value: Any) -> tuple[Any, bool]:
    try:
        numel = value.numel() if hasattr(value, "numel") else value.size
        if numel > DATA_CAP or str(getattr(value, "dtype", "")).startswith(("torch.complex", "complex")):
            return None, True
        if hasattr(value, "detach"):
            import torch

            value = value.detach().cpu()
            if value.is_quantized or value.layout != torch.strided:  # sparse, quantized: no plain list
                return None, True
        return value.tolist(), False
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


# --------------------------------------------------------------------------------------------
# Executor: runs cards.
# --------------------------------------------------------------------------------------------
class _CappedText:
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
    out, err = _CappedText(), _CappedText()
    saved = sys.stdout, sys.stderr
    value: Any = None
    error: BaseException | None = None
    tracer = _trace_hook(request)  # why-panel hook: a no-op context unless the request asks for a trace
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
        outcome.update(status="raised", error=summarize_error(error))
    elif request.get("ask"):
        try:
            summary = summarize_value(value)
        except BaseException as exc:  # e.g. a list subclass whose __iter__ raises: keep what is safe
            summary = {"type": _safe_type_name(value), "repr": _safe_repr(value),
                       "summary_failed": _safe_type_name(exc)}
        outcome.update(status="value", value=summary)
    else:
        outcome.update(status="value", value=None)
    if request.get("trace"):  # why-panel hook
        outcome["trace"] = _trace_result(tracer, ns, namespace_base, value, bool(request.get("ask")))
    return outcome


# -- why-panel hook: tracing is asked per request and never changes the outcome ---------------
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
        return {"version": 1, "failed": _safe_type_name(exc)}


def _safe_type_name(value: Any) -> str:
    try:
        return str(type(value).__name__)
    except BaseException:
        return "object"


def _first_line(message: Any) -> str:
    try:
        return str(message).strip().splitlines()[0][:REPR_CAP]
    except Exception:
        return "<warning>"


def _set_limits(device_type: str) -> None:
    import resource

    for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, FILE_SIZE_CAP)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    if device_type == "cpu":  # CUDA reserves huge address ranges; the zygote's RSS watch covers it
        try:
            with open("/proc/self/statm") as f:
                size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_HEADROOM, size + MEMORY_HEADROOM))
        except (OSError, ValueError):
            pass
    try:  # bound a fork bomb: a few dozen processes above what the user already runs
        running = sum(1 for p in os.listdir("/proc") if p.isdigit())
        resource.setrlimit(resource.RLIMIT_NPROC, (running + 64, running + 64))
    except (OSError, ValueError):
        pass


def _snippet_threads() -> list[Any]:
    """Python threads still running besides the main one (C threads torch starts are not listed)."""
    import threading

    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and type(t).__name__ != "_DummyThread"]


def _become_subreaper() -> None:
    """Orphans of the executor (a snippet's setsid'd or double-forked children) are re-parented to
    the zygote instead of init, so that `Zygote.kill` can find and kill them."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass


def _own_children() -> list[int]:
    """Pids of this process's children, zombies included (Linux /proc; empty where there is none)."""
    try:  # /proc/self/task/*/children: a few small files (CONFIG_PROC_CHILDREN, on in common kernels)
        found = []
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                found.extend(int(p) for p in f.read().split())
        return found
    except FileNotFoundError:
        pass
    except OSError:
        return []
    try:
        names = os.listdir("/proc")  # fallback: every process's parent, ~1 ms per 100 processes
    except OSError:  # no /proc (macOS): nothing to sweep
        return []
    me, found = os.getpid(), []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()  # the command name may hold spaces and ')'
            if int(fields[1]) == me:
                found.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def executor_main(req_fd: int, res_fd: int, device_choice: str, workdir: str) -> None:
    import numpy
    import torch

    pid = os.getpid()
    torch.set_num_threads(1)
    try:
        device = pick_device(device_choice)
        info = device_info(device)
    except Exception as exc:  # asked for cuda without one, say
        _send(res_fd, {"event": "failed", "error": summarize_error(exc)})
        os._exit(3)
    os.chdir(workdir)
    _set_limits(device.type)
    base = {"torch": torch, "device": device, "nn": torch.nn, "F": torch.nn.functional, "np": numpy,
            "__name__": "__card__", "__builtins__": __builtins__}
    _send(res_fd, {"event": "ready", **info})
    reader = _Lines(req_fd)
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
        if _snippet_threads():
            outcome["left_children"] = True  # a thread that outlives its card would act during the next one
        outcome["id"] = request["id"]
        try:
            _send(res_fd, outcome)
        except (TypeError, ValueError):
            outcome.pop("value", None)
            outcome.update(status="crashed", detail="the outcome could not be sent back")
            _send(res_fd, outcome)


def _fresh_dir(workdir: str, previous: str) -> str:
    """An empty working directory per card: files (or a chdir) from one card never reach the next."""
    os.makedirs(workdir, exist_ok=True)  # a snippet may have removed it
    os.chdir(workdir)
    if previous:
        shutil.rmtree(previous, ignore_errors=True)
    path = tempfile.mkdtemp(dir=workdir)
    os.chdir(path)
    return path


# --------------------------------------------------------------------------------------------
# Zygote: keeps an executor alive and enforces limits from outside it.
# --------------------------------------------------------------------------------------------
def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message, default=str) + "\n").encode()
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _Lines:
    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def next_line(self, deadline: float | None, watch=None) -> str | None:
        """The next line, None at EOF; raises TimeoutError past `deadline` (monotonic)."""
        while b"\n" not in self.buffer:
            wait = None if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
            if watch is not None and wait is None:
                wait = 0.05
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError
                if watch is not None:
                    watch()
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


class MemoryCapExceeded(Exception):
    pass


class ExecutorExited(Exception):
    """The executor ended while a child it forked still holds the result pipe open (so no EOF)."""


class Zygote:
    def __init__(self, device_choice: str, out_fd: int):
        self.device_choice = device_choice
        self.out_fd = out_fd
        self.workroot = tempfile.mkdtemp(prefix="quizzer-")
        self.pid = 0
        self.workdir = ""
        self.req_w = -1
        self.results = _Lines(-1)
        self.memory_cap = 0

    def spawn(self) -> dict[str, Any]:
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        workdir = self.workdir = tempfile.mkdtemp(dir=self.workroot)
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                _die_with_parent()
                os.close(req_w)
                os.close(res_r)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.close(self.out_fd)
                executor_main(req_r, res_w, self.device_choice, workdir)
            finally:
                os._exit(1)
        os.close(req_r)
        os.close(res_w)
        self.pid, self.req_w, self.results = pid, req_w, _Lines(res_r)
        start = time.monotonic()
        line = self.results.next_line(start + 120)
        hello = json.loads(line) if line else {"event": "failed", "error": {"type": "RuntimeError", "message": "executor died at start"}}
        hello["start_seconds"] = time.monotonic() - start
        try:
            with open(f"/proc/{pid}/statm") as f:
                self.memory_cap = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") + MEMORY_HEADROOM
        except OSError:
            self.memory_cap = 0
        return hello

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
        self.req_w, self.results = -1, _Lines(-1)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = ""

    def _kill_group(self) -> None:
        """Call before reaping the executor: until then its pid, and so its group id, cannot be reused."""
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass

    def _await_exit(self, deadline: float) -> None:
        """Let an executor that closed its pipe exit by itself (its status is the outcome)."""
        while hasattr(os, "waitid") and time.monotonic() < deadline and not self._exited():
            time.sleep(0.005)

    def strays(self) -> list[int]:
        """Children of the zygote other than the executor: orphans a snippet left behind."""
        return [p for p in _own_children() if p != self.pid]

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

    def _check_memory(self) -> None:
        if not self.memory_cap:
            return
        try:
            with open(f"/proc/{self.pid}/statm") as f:
                rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return
        if rss > self.memory_cap:
            raise MemoryCapExceeded

    def run(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The outcome, and whether the executor must be replaced."""
        timeout = float(request.get("timeout") or 5.0)
        started = time.monotonic()
        try:
            _send(self.req_w, request)
            line = self.results.next_line(started + timeout, watch=self._watch)
        except TimeoutError:
            return {"status": "timeout", "detail": f"timed out after {timeout:g} s", "seconds": timeout}, True
        except MemoryCapExceeded:
            return {"status": "memory", "detail": f"used more than {self.memory_cap >> 20:,} MiB of memory",
                    "seconds": time.monotonic() - started}, True
        except (BrokenPipeError, ExecutorExited):
            line = None
        if line is None:
            self._await_exit(started + timeout)
            self._kill_group()  # the children it forked must not outlive it
            status = self._reap()
            self.pid = 0 if status is not None else self.pid
            return {"status": "crashed", "detail": describe_exit(status), "seconds": time.monotonic() - started}, True
        outcome = json.loads(line)
        return outcome, bool(outcome.pop("left_children", False)) or bool(self.strays())


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


def zygote_main(device_choice: str) -> None:
    _die_with_parent()
    _become_subreaper()
    out_fd = os.dup(1)  # the protocol channel; fd 1 itself goes to /dev/null so stray prints can't corrupt it
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    t0 = time.monotonic()
    import numpy  # noqa: F401  (imported here so executors inherit it warm)
    import torch  # noqa: F401

    import_seconds = time.monotonic() - t0
    zygote = Zygote(device_choice, out_fd)
    try:
        _serve(zygote, out_fd, import_seconds)
    finally:  # a zygote killed outright leaves its temp dir behind; every other exit removes it
        zygote.kill()
        shutil.rmtree(zygote.workroot, ignore_errors=True)


def _serve(zygote: Zygote, out_fd: int, import_seconds: float) -> None:
    hello = zygote.spawn()
    # workroot: the client removes it if this process is killed before its own clean-up runs
    hello.update(import_seconds=import_seconds, pid=os.getpid(), workroot=zygote.workroot)
    _send(out_fd, hello)
    if hello.get("event") != "ready":
        return
    requests = _Lines(0)
    while True:
        line = requests.next_line(None)
        if line is None:
            break
        request = json.loads(line)
        if zygote.pid == 0:
            hello = zygote.spawn()
            _send(out_fd, {"event": "respawned", "seconds": hello["start_seconds"]})
        outcome, replace = zygote.run(request)
        outcome["id"] = request["id"]
        if replace:
            t = time.monotonic()
            zygote.kill()
            zygote.spawn()
            outcome["respawn_seconds"] = time.monotonic() - t
        _send(out_fd, outcome)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="quizzer.worker")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c in the terminal belongs to the UI
    zygote_main(args.device)


if __name__ == "__main__":
    main()
