"""What does the why-panel's trace cost? Every bundled card, run with and without it, in one run.

    python bench/trace.py [--repeat N]

* added time per card, in the worker: the snippet's run time with the tracer's hook on every torch
  call, plus building the trace after the run, minus the plain run time; the fastest of N tries of
  each, so that a busy machine does not pass for tracing cost
* added round trip: the same seen by the client (adds sending the bigger answer; noisier)
* trace size: the trace as JSON, per card
Cards that did not run in both modes (a timeout on a loaded machine, say) are left out and counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizzer.deck import bundled_deck_dir, load_decks  # noqa: E402
from quizzer.runner import Runner  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5, help="tries per card and mode; the fastest counts")
    args = parser.parse_args()
    cards = [c for d in load_decks([bundled_deck_dir()]) for c in d.cards if c.executable]
    worker, trip, sizes, worst, skipped = [], [], [], [], []
    with Runner("cpu") as runner:
        runner.wait_ready()
        for card in cards:
            plain = [runner.run(card, fresh=True) for _ in range(args.repeat)]
            traced = [runner.run(card, fresh=True, trace=True) for _ in range(args.repeat)]
            if not all(o.ran for o in plain + traced):
                skipped.append(f"{card.deck_id}/{card.id}")
                continue
            extra = min(o.seconds + o.trace.get("build_seconds", 0) for o in traced) - min(o.seconds for o in plain)
            worker.append(extra)
            trip.append(min(o.round_trip for o in traced) - min(o.round_trip for o in plain))
            sizes.append(len(json.dumps(traced[0].trace)))
            worst.append((extra, f"{card.deck_id}/{card.id}", len(traced[0].trace.get("calls", []))))
    print(f"{len(worker)} cards, fastest of {args.repeat} tries each, with vs without the trace"
          + (f" ({len(skipped)} left out: did not run every time: {', '.join(skipped[:3])})" if skipped else ""))
    print(f"added time per card, in the worker: p50 {pct(worker, 50) * 1000:.2f} ms · p95 {pct(worker, 95) * 1000:.2f} ms"
          " (target: p95 ≤ 1 ms)")
    print(f"added round trip per card:          p50 {pct(trip, 50) * 1000:.2f} ms · p95 {pct(trip, 95) * 1000:.2f} ms")
    print(f"trace size: p50 {pct(sizes, 50) / 1024:.1f} KB · max {max(sizes) / 1024:.1f} KB (cap 64 KB)")
    for extra, key, calls in sorted(worst, reverse=True)[:3]:
        print(f"  most added: {key}: +{extra * 1000:.2f} ms, {calls} calls recorded")


if __name__ == "__main__":
    main()
