"""How fast is quitting? ctrl+q in `quizzer study`, until the shell is back.

    python bench/quit.py [--runs 20] [--seed 0]

Each run starts `quizzer study; echo quit-done-N` in a fresh 80x24 tmux window on a copy of one
warmed database and quits with ctrl+q at a random moment: during warm-up (the first card is
drawn, torch still loading in the worker), while a card's snippet runs (a bench deck whose card
sleeps 30 s, precomputed as soon as it is shown), or idle (the worker ready, nothing running).
It measures from the key press until `quit-done-N` is printed, polling the screen every 5 ms, and
checks that no worker process outlives the app. Target: p100 <= 300 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLEEPER = """\
id: quit-bench
title: Quit bench
description: One card that sleeps, to quit while it runs.
cards:
  - id: sleeper
    kind: raises
    question: Does this raise?
    code: |
      import time
      time.sleep(30)
    timeout: 60
"""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def workers() -> set[int]:
    """Pids of worker processes (zygote or executor) on this machine."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmd = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if b"from quizzer.worker import main" in cmd:
                found.add(int(name))
    return found


def wait_for(session: str, needle: str, limit: float, poll: float = 0.01) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if needle in tmux("capture-pane", "-p", "-t", session):
            return time.perf_counter()
        time.sleep(poll)
    return None


def wait_ready(session: str, limit: float) -> bool:
    """Until the badge (top line) names the device instead of 'warming up'."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        top = (tmux("capture-pane", "-p", "-t", session).splitlines() or [""])[0]
        if "warming up" not in top and "cpu" in top:
            return True
        time.sleep(0.02)
    return False


def one_run(db: Path, session: str, moment: str, n: int, deck_filter: str) -> tuple[float, int]:
    before = workers()
    command = f"QUIZZER_DB={db} {sys.executable} -m quizzer study --new 5 {deck_filter}; echo quit-done-{n}"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(ROOT), "bash", "--norc")
    tmux("send-keys", "-t", session, command, "Enter")
    try:
        if wait_for(session, "new card", 30) is None:
            raise SystemExit("the first card never appeared:\n" + tmux("capture-pane", "-p", "-t", session))
        if moment in ("idle", "running"):
            if not wait_ready(session, 60):
                raise SystemExit("the worker never became ready:\n" + tmux("capture-pane", "-p", "-t", session))
            # idle: the shown card was precomputed in ms; running: the sleeper card runs for 30 s
            time.sleep(random.uniform(0.2, 1.0))
        else:
            time.sleep(random.uniform(0.0, 0.3))  # torch still loading
        pressed = time.perf_counter()
        tmux("send-keys", "-t", session, "C-q")
        done = wait_for(session, f"quit-done-{n}", 10, poll=0.005)
        if done is None:
            raise SystemExit(f"quit did not return to the shell ({moment}):\n" + tmux("capture-pane", "-p", "-t", session))
        time.sleep(0.5)
        left = len(workers() - before)
        return done - pressed, left
    finally:
        tmux("kill-session", "-t", session)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("bench/quit.py needs tmux (apt-get install tmux)")
    random.seed(args.seed)
    times: dict[str, list[float]] = {"warm-up": [], "running": [], "idle": []}
    survivors = 0
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.db"
        deck = Path(tmp) / "sleeper.yaml"
        deck.write_text(SLEEPER)
        run = [sys.executable, "-m", "quizzer"]
        subprocess.run([*run, "add-deck", "--no-check", "--db", str(warm), str(deck)], capture_output=True, cwd=ROOT, check=True)
        for i in range(args.runs):
            moment = random.choice(list(times))
            db = Path(tmp) / f"run{i}.db"
            shutil.copy(warm, db)
            took, left = one_run(db, f"quizzer-quit-{os.getpid()}-{i}", moment, i,
                                 "--deck quit-bench" if moment == "running" else "")
            times[moment].append(took)
            survivors += left
            print(f"run {i:2}: {moment:8} {took * 1000:6.0f} ms" + (f"  {left} worker process(es) left!" if left else ""),
                  flush=True)
    every = [t for ts in times.values() for t in ts]
    p50, p100 = statistics.median(every), max(every)
    print(f"\nquizzer quit bench · {args.runs} runs · ctrl+q until the shell is back\n")
    for moment, ts in times.items():
        if ts:
            print(f"  {moment:8} n={len(ts):2}  p50 {statistics.median(ts) * 1000:5.0f} ms  max {max(ts) * 1000:5.0f} ms")
    print(f"\nall: p50 {p50 * 1000:.0f} ms, p100 {p100 * 1000:.0f} ms; target p100 <= 300 ms: "
          f"{'PASS' if p100 <= 0.3 else 'MISS'}; worker processes left behind: {survivors}")


if __name__ == "__main__":
    main()
