"""The worker process: the only place torch is imported. Started by `quizzer.runner` as
`python -I -c <boot> ...` (or `python -m quizzer.worker` by hand).

Layers: `zygote` (imports torch once, forks), `executor` (runs snippets), `summaries` (values as
JSON), `sandbox` (the namespaces' file system), `channel` (capped JSON lines).
"""

from __future__ import annotations

import os
import signal

# Must be set before torch is imported: forked children inherit an OpenMP pool otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # is_available() without initialising CUDA

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="quizzer.worker")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workroot", default="", help="a folder the app created (used without the sandbox)")
    parser.add_argument("--hide", action="append", default=[], help="a folder snippets must not see")
    parser.add_argument("--no-sandbox", action="store_true", help="the app could not start the namespaces")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c in the terminal belongs to the UI
    zygote_main(args.device, args.workroot, args.hide, not args.no_sandbox)


def zygote_main(device_choice: str, workroot: str, hide: list[str], want_sandbox: bool) -> None:
    import shutil
    import tempfile
    import time

    from .. import linux
    from . import sandbox
    from .zygote import Zygote, serve

    linux.die_with_parent()
    linux.become_subreaper()
    sandbox.set_not_dumpable()
    out_fd = os.dup(1)  # the protocol channel; fd 1 itself goes to /dev/null so stray prints can't corrupt it
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    guards: list[str] = []
    off = ""
    if want_sandbox and sandbox.sandboxed():
        try:
            guards = sandbox.enter(hide, PACKAGE_ROOT)
            workroot = "/tmp"
        except OSError as exc:
            off = f"the sandbox's file system could not be set up ({exc})"
    elif want_sandbox:
        off = "the worker is not in its own PID namespace"
    in_sandbox = bool(guards)
    if not in_sandbox:
        guards = ["process group and orphan sweep", "per-process memory cap", "fresh temporary folder"]
        if _no_network():
            guards.append("network namespace")
    os.chdir("/")
    t0 = time.monotonic()
    import numpy  # noqa: F401  (imported here so executors inherit it warm)
    import torch  # noqa: F401

    import_seconds = time.monotonic() - t0
    zygote = Zygote(device_choice, out_fd, workroot or tempfile.gettempdir(), in_sandbox=in_sandbox)
    try:
        serve(zygote, out_fd, {"import_seconds": import_seconds, "sandbox": off, "guards": guards})
    finally:  # a zygote killed outright leaves its folder behind; the app removes its own workroot
        zygote.kill()
        shutil.rmtree(zygote.workroot, ignore_errors=True)


def _no_network() -> bool:
    """Whether this process sees no network but loopback (a network namespace of its own)."""
    import socket

    try:
        return {name for _, name in socket.if_nameindex()} <= {"lo"}
    except OSError:
        return False
