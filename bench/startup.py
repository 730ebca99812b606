"""Launch -> first card visible, as a person would see it: `quizzer study` in a real terminal (tmux).

    python bench/startup.py [--runs 7]

Each run starts `quizzer study` in a fresh 80x24 tmux window on a copy of one warmed database (so
bundled decks are already imported, as on every launch after the first) and polls the screen with
`tmux capture-pane` every 10 ms until the card's question is drawn (polling every 5 ms costs the
app CPU on a 2-core machine and adds ~100 ms). Also reports when the device badge turns from
"warming up" to ready, i.e. when torch has loaded in the worker. Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import re
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def one_run(db: Path, session: str) -> tuple[float, float | None]:
    command = f"QUIZZER_DB={db} {sys.executable} -m quizzer study --new 5"
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(ROOT), command)
    first_card = ready = None
    try:
        while time.perf_counter() - start < 20:
            screen = tmux("capture-pane", "-p", "-t", session)
            now = time.perf_counter() - start
            if first_card is None and "new card" in screen:
                first_card = now
            top = screen.splitlines()[0] if screen else ""
            if first_card is not None and "warming up" not in top and re.search(r"\b(cpu|cuda|mps)\b", top):
                ready = now
                break
            time.sleep(0.01)
    finally:
        last = tmux("capture-pane", "-p", "-t", session)
        tmux("kill-session", "-t", session)
    if first_card is None:
        raise SystemExit(f"the first card never appeared; the screen was:\n{last}")
    return first_card, ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("bench/startup.py needs tmux (apt-get install tmux)")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.db"
        subprocess.run([sys.executable, "-m", "quizzer", "stats", "--db", str(warm)], capture_output=True, cwd=ROOT, check=True)
        cards, readies = [], []
        for i in range(args.runs + 1):
            db = Path(tmp) / f"run{i}.db"
            shutil.copy(warm, db)
            first, ready = one_run(db, f"quizzer-bench-{os.getpid()}-{i}")
            if i == 0:
                continue  # the first run warms the OS file cache; not counted
            cards.append(first)
            if ready is not None:
                readies.append(ready)
    print(f"quizzer startup bench · {args.runs} runs · 80x24 tmux\n")
    print(f"launch -> first card visible: median {statistics.median(cards) * 1000:.0f} ms "
          f"(min {min(cards) * 1000:.0f}, max {max(cards) * 1000:.0f}); target <= 500 ms: "
          f"{'PASS' if statistics.median(cards) <= 0.5 else 'MISS'}")
    if readies:
        print(f"launch -> worker ready (badge shows the device): median {statistics.median(readies) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
