"""The card being run right now, written down so that a card that kills the app is not run again.

The study screen marks a card before handing it to the worker and clears the mark once its
outcome is back. If the app's process dies in between (a snippet that kills its parent, a
SIGTERM, a power cut), the mark is still there at the next start: `quizzer study` then leaves
that card out and offers to suspend it, instead of running it again before a key is pressed.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class InFlight:
    """The marker file of one database; `path` None (an in-memory database) makes every call a no-op."""

    path: Path | None

    @classmethod
    def for_db(cls, db_path: str | Path) -> InFlight:
        if str(db_path) == ":memory:":
            return cls(None)
        db = Path(db_path).expanduser().absolute()
        return cls(db.with_name(db.name + ".in-flight"))

    def mark(self, deck_id: str, card_id: str) -> None:
        """Note that this card is about to run (replacing any earlier mark). Atomic: a crash leaves old or new."""
        if self.path is None:
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"deck": deck_id, "card": card_id, "pid": os.getpid()}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only or full folder: losing the lock-out guard must not stop studying

    def clear(self) -> None:
        """The marked card finished (or never ran): forget it."""
        if self.path is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass

    def left_over(self) -> tuple[str, str] | None:
        """The card that was running when an earlier quizzer died, if any.

        A mark made by a quizzer that is still running (a second session on the same database)
        is not a left-over."""
        if self.path is None:
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            key, pid = (str(data["deck"]), str(data["card"])), int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if pid != os.getpid() and _alive(pid):
            return None
        return key


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Flights:
    """The cards handed to the worker, in order; the mark names the one the worker is running now.

    The worker runs requests one at a time, first in first out, so the card in flight is the oldest
    whose outcome has not come back. The study screen hands over the current card and the next one
    (precompute): marking the current card alone would blame it for what the next one did."""

    def __init__(self, marker: InFlight) -> None:
        self.marker = marker
        self._lock = threading.Lock()
        self._queue: list[tuple[tuple[str, str], Future[Any]]] = []

    def track(self, key: tuple[str, str], future: Future[Any]) -> None:
        with self._lock:
            if future.done() or any(f is future for _, f in self._queue):
                return
            self._queue.append((key, future))
        future.add_done_callback(lambda _: self._update())
        self._update()

    def _update(self) -> None:
        with self._lock:  # the marker is written under the lock, so marks never land out of order
            self._queue = [(k, f) for k, f in self._queue if not f.done()]
            if self._queue:
                self.marker.mark(*self._queue[0][0])
            else:
                self.marker.clear()
