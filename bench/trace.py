"""What does the why-panel's trace cost? Every bundled card, run with and without it, in one run.

    python bench/trace.py [--repeat N]

* added time per card: the client's round trip with the trace minus without it (the tracer's
  per-call hook, building the trace, and sending the bigger answer), the minimum over N tries
  of each, so that a busy machine does not pass for tracing cost
* trace size: the trace as JSON, per card
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizzer.deck import bundled_deck_dir, load_decks  # noqa: E402
from quizzer.runner import Runner  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5, help="tries per card and mode; the fastest counts")
    args = parser.parse_args()
    cards = [c for d in load_decks([bundled_deck_dir()]) for c in d.cards if c.executable]
    added, sizes, worst = [], [], []
    with Runner("cpu") as runner:
        runner.wait_ready()
        for card in cards:
            plain = min(runner.run(card, fresh=True).round_trip for _ in range(args.repeat))
            traced = [runner.run(card, fresh=True, trace=True) for _ in range(args.repeat)]
            extra = min(o.round_trip for o in traced) - plain
            added.append(extra)
            sizes.append(len(json.dumps(traced[0].trace)))
            worst.append((extra, f"{card.deck_id}/{card.id}", len((traced[0].trace or {}).get("calls", []))))
    print(f"{len(cards)} cards, fastest of {args.repeat} tries each, with vs without the trace")
    print(f"added time per card: p50 {pct(added, 50) * 1000:.2f} ms · p95 {pct(added, 95) * 1000:.2f} ms · "
          f"mean {statistics.mean(added) * 1000:.2f} ms (target: p95 ≤ 1 ms)")
    print(f"trace size: p50 {pct(sizes, 50) / 1024:.1f} KB · max {max(sizes) / 1024:.1f} KB (cap 64 KB)")
    for extra, key, calls in sorted(worst, reverse=True)[:3]:
        print(f"  slowest: {key}: +{extra * 1000:.2f} ms, {calls} calls recorded")


if __name__ == "__main__":
    main()
