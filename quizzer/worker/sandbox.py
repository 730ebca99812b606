"""The sandbox's file system, set up by the zygote as root of its own user, mount and PID namespaces
(`unshare --user --map-root-user --mount --pid --fork --mount-proc --net`, started by the app).

* the system (every mount) is read-only; the Python environment and quizzer stay visible;
* home, /tmp, /var/tmp, /dev/shm and /run are fresh, size-capped tmpfs: no Unix socket, file or
  shared memory of the learner's is reachable, and what a snippet writes dies with the sandbox;
* the quizzer database's folder and data folder are covered by an empty tmpfs too;
* /dev is left alone, so the device nodes CUDA needs (/dev/nvidia*, /dev/dri) stay usable.

Executors then drop every capability, so a snippet cannot undo any of this (umount, remount).
"""

from __future__ import annotations

import ctypes
import os
import site
import sys
from pathlib import Path

from .. import linux
from ..protocol import SCRATCH_CAP

SCRATCH = ("/tmp", "/var/tmp", "/dev/shm", "/run")
NOT_READ_ONLY = ("/proc", "/dev")  # /dev: CUDA opens its device nodes read-write


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def keep_paths(package_root: str) -> list[str]:
    """What snippets need to see: the interpreter, its libraries, quizzer itself."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             package_root}
    found.update(p for p in sys.path if p and os.path.isdir(p))
    try:
        found.update(site.getsitepackages())
    except AttributeError:
        pass
    return sorted({os.path.realpath(p) for p in found if os.path.isdir(p)})


def enter(hide: list[str], package_root: str) -> list[str]:
    """Build the sandbox's view of the file system; the guards now active. Raises OSError if it cannot."""
    home = os.path.realpath(os.path.expanduser("~"))
    covered: list[str] = []
    files = [os.path.realpath(h) for h in hide if not os.path.isdir(h)]
    for path in sorted({home, *SCRATCH, *(os.path.realpath(h) for h in hide if os.path.isdir(h))}, key=len):
        if os.path.isdir(path) and path != "/" and not any(_inside(path, c) for c in covered):
            covered.append(path)
    keep = [k for k in keep_paths(package_root) if any(_inside(k, c) for c in covered)]
    handles = {k: os.open(k, os.O_PATH | os.O_DIRECTORY) for k in keep}  # reachable once covered
    try:
        for path in covered:
            mode = "1777" if path in SCRATCH else "0700"
            linux.mount("tmpfs", path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, f"size={SCRATCH_CAP},mode={mode}")
        for path, fd in handles.items():
            os.makedirs(path, exist_ok=True)
            # not MS_REC: a recursive bind would bring the tmpfs just mounted over this path back too
            linux.mount(f"/proc/self/fd/{fd}", path, None, linux.MS_BIND)
            _BOUND.append(path)
    finally:
        for fd in handles.values():
            os.close(fd)
    for path in files:  # a database whose folder holds quizzer itself: cover the files one by one
        if os.path.isfile(path):
            linux.mount("/dev/null", path, None, linux.MS_BIND)
    failed = []
    for entry in linux.mounts():
        if entry.target in covered or any(_inside(entry.target, p) for p in NOT_READ_ONLY):
            continue
        try:
            flags = linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.locked_flags(entry.options)
            linux.mount("none", entry.target, None, flags)
        except OSError:
            failed.append(entry.target)
    os.chdir("/")
    guards = ["pid namespace", "mount namespace", "network namespace", "private home, /tmp, /dev/shm, /run",
              "quizzer data hidden", "no capabilities", "one memory cap for all processes"]
    if "/" not in failed:
        guards.append("read-only system" + (f" (except {', '.join(failed)})" if failed else ""))
    return guards


_BOUND: list[str] = []  # where `enter` bound kept paths back inside a covered folder


def holds_mount(path: str) -> bool:
    """Whether a kept path was bound at or below `path` (never to be emptied)."""
    return any(_inside(k, path) for k in _BOUND)


def scratch_usage() -> int:
    """Bytes written to the sandbox's tmpfs folders: memory too, so it counts against the cap."""
    total = 0
    for path in {*SCRATCH, os.path.expanduser("~")}:
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        if st.f_blocks * st.f_frsize <= SCRATCH_CAP:  # one of ours, not the real disk
            total += (st.f_blocks - st.f_bfree) * st.f_frsize
    return total


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> bool:
    """Give up every capability (root of the user namespace keeps none), and never regain one."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    return libc.capset(ctypes.byref(header), data) == 0


def set_not_dumpable() -> None:
    """Processes of the same user cannot ptrace this one or open its /proc/<pid>/fd, mem."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


def sandboxed() -> bool:
    """Whether this process is the init of a fresh PID namespace (how the app starts the sandbox)."""
    return os.getpid() == 1 and Path("/proc/self/ns/pid").exists()
