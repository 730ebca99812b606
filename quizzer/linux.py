"""Linux process plumbing shared by the app and the worker: /proc, prctl, mounts. Never imports torch.

Everything degrades to a harmless answer where /proc or the syscall is missing (macOS): the
callers then fall back to weaker guards instead of failing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND = 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat quizzer needs."""

    state: str
    ppid: int
    pgrp: int
    session: int


def proc_stat(pid: int) -> ProcStat | None:
    """`/proc/<pid>/stat`, or None once the process is gone (or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()  # the command name may hold spaces and ')'
        return ProcStat(fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3]))
    except (OSError, ValueError, IndexError):
        return None


def pids() -> list[int]:
    """Every pid this process can see (its PID namespace's, inside the sandbox)."""
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def pid_alive(pid: int) -> bool:
    st = proc_stat(pid)
    if st is not None:
        return st.state != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _statm(pid: int | str) -> list[int]:
    """A process's /proc/<pid>/statm in pages (size, resident, shared, ...); [] when unknown."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return [int(field) for field in f.read().split()]
    except (OSError, ValueError):
        return []


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of one process (0 when unknown)."""
    pages = _statm(pid)
    return pages[1] * PAGE if len(pages) > 1 else 0


def vsize_bytes(pid: int | str = "self") -> int:
    pages = _statm(pid)
    return pages[0] * PAGE if pages else 0


def anon_bytes(pid: int | str = "self") -> int:
    """Private (anonymous) resident memory: resident minus file-backed and shared pages. Cheap (no
    walk of the memory map), unlike PSS; a forked child starts with its parent's count."""
    pages = _statm(pid)
    return max(0, pages[1] - pages[2]) * PAGE if len(pages) > 2 else 0


def thread_count(pid: int | str = "self") -> int:
    """Tasks of a process, however they were started (threading, _thread, C code)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 1


def children(pid: int | str = "self") -> list[int]:
    """Pids of a process's children, zombies included."""
    try:  # /proc/<pid>/task/*/children: a few small files (CONFIG_PROC_CHILDREN, on in common kernels)
        found: list[int] = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(p) for p in f.read().split())
        return found
    except FileNotFoundError:
        pass
    except OSError:
        return []
    me = os.getpid() if pid == "self" else int(pid)
    return [p for p in pids() if (st := proc_stat(p)) is not None and st.ppid == me]


def kill_session(sid: int) -> None:
    """SIGKILL every process of session `sid` (a worker's: it is started with start_new_session).

    A snippet's children can outlive the worker that started them; they keep its session id, and
    that id cannot be reused while any of them is alive.
    """
    try:
        if sid <= 1 or sid == os.getsid(0):
            return
    except OSError:
        return
    for pid in pids():
        st = proc_stat(pid)
        if st is not None and st.session == sid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _prctl(option: int, arg: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent() -> bool:
    return _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def become_subreaper() -> bool:
    """Orphans of our children are re-parented to us instead of init, so we can find and kill them."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


# -- mounts (inside the sandbox's own mount namespace) -------------------------------------------
def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)

    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    if libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


@dataclass(frozen=True)
class MountEntry:
    target: str
    options: frozenset[str]


def mounts() -> list[MountEntry]:
    """This mount namespace's mounts, in mount order."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                target = fields[4].encode().decode("unicode_escape")
                found.append(MountEntry(target, frozenset(fields[5].split(","))))
    except (OSError, IndexError):
        pass
    return found


def locked_flags(options: frozenset[str]) -> int:
    """Flags a remount must keep: a user namespace may not clear what its parent set."""
    flags = 0
    for name, bit in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC), ("noatime", MS_NOATIME),
                      ("nodiratime", MS_NODIRATIME), ("relatime", MS_RELATIME), ("ro", MS_RDONLY)):
        if name in options:
            flags |= bit
    return flags
