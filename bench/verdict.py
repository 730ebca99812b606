"""How fast does a verdict come back? Prints figures measured in one run on this machine.

    python bench/verdict.py [--cards N]

* worker start: Runner() until the worker reports ready (torch import + first executor fork)
* worker overhead: client round trip minus the snippet's own run time, per card
* Enter -> verdict: the study screen submits a card when it is shown (precompute); after the
  learner's reading time, Enter waits for the outcome and grades it
* cold subprocess: `python -c` importing torch and running the same snippet, per card
* recovery: how long past a card's timeout until the worker is ready for the next card
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizzer.deck import Card, bundled_deck_dir, load_decks  # noqa: E402
from quizzer.grading import grade  # noqa: E402
from quizzer.runner import Runner  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ms(x: float) -> str:
    return f"{x * 1000:8.2f} ms"


def measure(cards: list[Card], reading: float, enter_too: bool):
    t = time.perf_counter()
    runner = Runner("cpu")
    info = runner.wait_ready()
    start = time.perf_counter() - t
    off = runner.sandbox_off

    overheads, bare, trips = [], [], []
    for card in cards:
        o = runner.run(card, fresh=True)
        overheads.append(o.round_trip - o.seconds)
        bare.append(o.seconds)
        trips.append(o.round_trip)

    # Enter -> verdict: the card (and the next) were submitted when shown; Enter waits + grades.
    enter = []
    for i, card in enumerate(cards[:60] if enter_too else []):
        runner.submit(card, fresh=False)
        if i + 1 < len(cards):
            runner.submit(cards[i + 1])
        time.sleep(reading)
        t = time.perf_counter()
        outcome = runner.submit(card).result()
        grade(card, card.expect_for("cpu") or "error", outcome)
        enter.append(time.perf_counter() - t)

    # Recovery after a timeout: the outcome arrives once the executor is killed and re-forked.
    recover = []
    for i in range(5):
        hang = Card("bench", f"hang{i}", "raises", "q", "while True: pass", timeout=0.5)
        o = runner.run(hang, fresh=True)
        t = time.perf_counter()
        runner.run(Card("bench", f"after{i}", "value", "q", "", "1"), fresh=True)
        recover.append(o.round_trip - 0.5 + (time.perf_counter() - t))
    runner.close()
    return start, overheads, bare, trips, enter, recover, info, off


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--cold", type=int, default=5, help="cards to time as cold subprocesses")
    parser.add_argument("--reading", type=float, default=0.05, help="seconds between showing a card and Enter")
    args = parser.parse_args()

    cards = [c for d in load_decks([bundled_deck_dir()]) for c in d.cards if c.executable][: args.cards]

    import os

    per_mode = {}
    for mode in ("sandbox", "no sandbox"):
        os.environ["QUIZZER_ISOLATE"] = "1" if mode == "sandbox" else "0"
        per_mode[mode] = measure(cards, args.reading, enter_too=(mode == "sandbox"))
        os.environ.pop("QUIZZER_ISOLATE")
    start, overheads, bare, trips, enter, recover, info, off = per_mode["sandbox"]
    overheads_off, recover_off, start_off = per_mode["no sandbox"][1], per_mode["no sandbox"][5], per_mode["no sandbox"][0]

    cold = []
    for card in cards[: args.cold]:
        script = f"import torch\nexec({card.code!r})\n" + (f"eval({card.ask!r})\n" if card.ask else "")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], capture_output=True)
        cold.append(time.perf_counter() - t)

    warm_p50 = statistics.median(trips)
    rows = [
        ("worker start (import torch + fork)", ms(start), "", ""),
        ("  without the sandbox", ms(start_off), "", ""),
        ("snippet itself p50 / p95", ms(statistics.median(bare)), ms(pct(bare, 95)), ""),
        ("worker overhead p50 / p95", ms(statistics.median(overheads)), ms(pct(overheads, 95)),
         "PASS" if pct(overheads, 95) <= 0.005 else "MISS", ),
        ("  without the sandbox", ms(statistics.median(overheads_off)), ms(pct(overheads_off, 95)), ""),
        ("round trip p50 / p95", ms(warm_p50), ms(pct(trips, 95)), ""),
        ("Enter -> verdict p50 / p95 (precomputed)", ms(statistics.median(enter)), ms(pct(enter, 95)),
         "PASS" if pct(enter, 95) <= 0.020 else "MISS"),
        ("cold `python -c` per card (median)", ms(statistics.median(cold)), "", ""),
        ("recovery after a timeout (median / max)", ms(statistics.median(recover)), ms(max(recover)),
         "PASS" if statistics.median(recover) <= 0.050 else "MISS"),
        ("  without the sandbox", ms(statistics.median(recover_off)), ms(max(recover_off)), ""),
    ]
    ratio = statistics.median(cold) / warm_p50
    print(f"quizzer verdict bench · {info.device_label} · torch {info.torch_version} · {len(cards)} cards · "
          f"{off or 'sandbox on'}\n")
    print(f"{'measure':44} {'p50/value':>12} {'p95/max':>12}  target")
    for name, a, b, verdict in rows:
        target = {"worker overhead p50 / p95": "<= 5 ms p95", "Enter -> verdict p50 / p95 (precomputed)": "<= 20 ms p95",
                  "recovery after a timeout (median / max)": "<= 50 ms"}.get(name, "")
        print(f"{name:44} {a:>12} {b:>12}  {target} {verdict}")
    print(f"\nwarm worker vs cold subprocess: {ratio:,.0f}x faster (target >= 100x: {'PASS' if ratio >= 100 else 'MISS'})")


if __name__ == "__main__":
    main()
