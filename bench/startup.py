"""Launch -> first card visible, as a person would see it: `quizzer study` in a real terminal (tmux),
against the floor Textual sets: an app that shows one label, launched and watched the same way.

    python bench/startup.py [--runs 31]

Each run starts a command in a fresh 80x24 tmux window and polls the screen with
`tmux capture-pane` every 10 ms until the expected text is drawn (polling every 5 ms costs the
app CPU on a 2-core machine and adds ~100 ms). The two commands alternate run by run, so a busy
machine slows both alike, and the first run of each only warms the OS file cache:

* quizzer: `python -m quizzer study --new 5` on a copy of one warmed database (bundled decks
  already imported, as on every launch after the first), until the card's "new card" line shows;
  also when the device badge turns from "warming up" to ready, i.e. torch has loaded in the worker.
* one label: `python one_label.py`, a Textual app whose only widget is a Label, until it shows.

quizzer's bytecode is compiled first (see compile_bytecode). Prints both medians and their ratio;
the target is quizzer <= 1.3x the one-label app (the share of launch time that is quizzer's own:
its imports, opening the library, building the queue, its screen). The absolute figure (<= 500 ms)
is printed too; unlike the ratio it moves with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.3
TARGET_MS = 500
ONE_LABEL_APP = '''\
from textual.app import App, ComposeResult
from textual.widgets import Label


class OneLabel(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("one label app")


OneLabel().run()
'''


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def one_run(command: str, shown: str, session: str, wait_badge: bool = False) -> tuple[float, float | None]:
    """Seconds from launch until `shown` is on screen, and (with wait_badge) until the worker is ready."""
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(ROOT), command)
    pane = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip() or 0)
    first = ready = None
    try:
        while time.perf_counter() - start < 20:
            screen = tmux("capture-pane", "-p", "-t", session)
            now = time.perf_counter() - start
            if first is None and shown in screen:
                first = now
                if not wait_badge:
                    break
            top = screen.splitlines()[0] if screen else ""
            if first is not None and "warming up" not in top and re.search(r"\b(cpu|cuda|mps)\b", top):
                ready = now
                break
            time.sleep(0.01)
    finally:
        last = tmux("capture-pane", "-p", "-t", session)
        tmux("kill-session", "-t", session)
        settle(pane)
    if first is None:
        raise SystemExit(f"{shown!r} never appeared for {command}; the screen was:\n{last}")
    return first, ready


def settle(pane: int, limit: float = 5.0) -> None:
    """Wait until the run just killed has left: its process, and any worker it started (they quit in
    ~0.2 s), so that the next run does not share the CPUs with a program shutting down."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        alive = pane > 0 and Path(f"/proc/{pane}").exists()
        workers = subprocess.run(["pgrep", "-f", "from quizzer.worker import main"], capture_output=True).stdout
        if not alive and not workers.strip():
            return
        time.sleep(0.02)


def summary(name: str, values: list[float]) -> str:
    return (f"{name}: median {statistics.median(values) * 1000:.0f} ms "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("bench/startup.py needs tmux (apt-get install tmux)")
    keeper = f"quizzer-bench-{os.getpid()}-keeper"  # keeps one tmux server up: a new session started while
    tmux("new-session", "-d", "-s", keeper, "sleep 3600")  # the last one's server exits can vanish
    try:
        measured = measure(args.runs)
    finally:
        tmux("kill-session", "-t", keeper)
    report(args.runs, *measured)


def compile_bytecode() -> None:
    """Write quizzer's .pyc files first, as `pip install` does. Textual's were written when it was
    installed; with PYTHONDONTWRITEBYTECODE set (as in some shells and CI) an editable checkout
    would otherwise recompile every quizzer module on every launch and the comparison would be
    unfair (about 60 ms on the 2-core machine)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "quizzer")], check=True)


def measure(runs: int) -> tuple[list[float], list[float], list[float]]:
    compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.db"
        subprocess.run([sys.executable, "-m", "quizzer", "stats", "--db", str(warm)], capture_output=True, cwd=ROOT, check=True)
        label_app = Path(tmp) / "one_label.py"
        label_app.write_text(ONE_LABEL_APP, encoding="utf-8")
        cards, readies, labels = [], [], []
        for i in range(runs + 1):
            db = Path(tmp) / f"run{i}.db"
            shutil.copy(warm, db)
            session = f"quizzer-bench-{os.getpid()}-{i}"
            first, ready = one_run(f"QUIZZER_DB={db} {sys.executable} -m quizzer study --new 5", "new card",
                                   session, wait_badge=True)
            label, _ = one_run(f"{sys.executable} {label_app}", "one label app", session + "-label")
            if i == 0:
                continue  # the first run warms the OS file cache; not counted
            cards.append(first)
            labels.append(label)
            if ready is not None:
                readies.append(ready)
    return cards, labels, readies


def report(runs: int, cards: list[float], labels: list[float], readies: list[float]) -> None:
    ratio = statistics.median(cards) / statistics.median(labels)
    paired = statistics.median(card / label for card, label in zip(cards, labels))
    print(f"startup bench · {runs} runs each, alternating · 80x24 tmux · {os.cpu_count()} CPUs\n")
    print(summary("quizzer study: launch -> first card visible", cards))
    print(summary("one-label Textual app: launch -> label visible", labels))
    print(f"ratio quizzer / one-label app: {ratio:.2f}x; target <= {TARGET_RATIO}x: "
          f"{'PASS' if ratio <= TARGET_RATIO else 'MISS'}")
    print(f"  (each quizzer run over the label run right after it, median: {paired:.2f}x; a check on load drift)")
    print(f"quizzer absolute: target <= {TARGET_MS} ms: {'PASS' if statistics.median(cards) * 1000 <= TARGET_MS else 'MISS'}")
    if readies:
        print(summary("quizzer: launch -> worker ready (badge shows the device)", readies))


if __name__ == "__main__":
    main()
