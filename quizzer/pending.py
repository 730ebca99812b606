"""Grades that could not be written: kept in a small file, applied at the next start.

A grade is hours of a learner's attention; a busy, read-only or full database must not lose it.
`write_grade` tries the database for a bounded time (short busy waits, so it never freezes a
thread for long and is safe to call from a worker thread) and, if that fails, appends the grade
as one JSON line to a pending file next to the database, or in the user data directory when the
database's folder cannot be written either. `apply_pending` puts those grades into the database
with their original time, once each, the next time it can be written.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .store import Review, Store, StoreError, StoreProblem, store_error

WRITE_BUDGET_S = 2.0  # how long write_grade keeps trying a busy database before saving the grade aside
ATTEMPT_WAIT_MS = 200  # SQLite's busy wait per attempt, so no single call blocks for long
RETRY_PAUSE_S = 0.05
# Problems a pending file can outlast; anything else (an unknown card, a bug) is not hidden in a file.
SAVABLE = (StoreProblem.BUSY, StoreProblem.READ_ONLY, StoreProblem.DISK_FULL, StoreProblem.CANNOT_OPEN,
           StoreProblem.CORRUPT)
REASONS = {StoreProblem.BUSY: "while the database was busy", StoreProblem.READ_ONLY: "while the database was read-only",
           StoreProblem.DISK_FULL: "while the disk was full"}


class WriteOutcome(enum.Enum):
    COMMITTED = "committed"  # in the database
    PENDING = "pending"  # in the pending file: applied at the next start
    LOST = "lost"  # neither could be written; `message` says why


@dataclass(frozen=True)
class Grade:
    """Everything Store.record_review needs, with the moment the answer was given."""

    deck_id: str
    card_id: str
    grade: int
    correct: bool
    answer: str
    at: datetime
    seconds: float | None = None
    device: str | None = None
    torch_version: str | None = None

    def to_json(self, reason: StoreProblem) -> str:
        data = asdict(self) | {"at": self.at.astimezone(timezone.utc).isoformat(), "reason": reason.value}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> tuple[Grade, StoreProblem]:
        data = json.loads(line)
        reason = StoreProblem(data.get("reason", StoreProblem.OTHER.value))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}  # a newer quizzer may add keys
        known["at"] = datetime.fromisoformat(known["at"])
        return cls(**known), reason


@dataclass(frozen=True)
class GradeWrite:
    outcome: WriteOutcome
    review: Review | None = None  # set when COMMITTED
    problem: StoreProblem | None = None  # why it was not committed
    message: str = ""  # one line for the learner when not committed


@dataclass(frozen=True)
class Applied:
    """What apply_pending did: grades applied per reason, and grades dropped (card gone)."""

    by_reason: dict[StoreProblem, int]
    dropped: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def describe(self) -> list[str]:
        """Lines such as 'applied 1 grade saved while the database was busy'."""
        lines = [f"applied {n} grade{'s' * (n != 1)} saved "
                 f"{REASONS.get(reason, 'while the database could not be written')}"
                 for reason, n in self.by_reason.items() if n]
        if self.dropped:
            lines.append(f"dropped {self.dropped} saved grade{'s' * (self.dropped != 1)} "
                         "of cards no longer in any deck")
        return lines


def pending_paths(db_path: str | Path) -> list[Path]:
    """Where grades for this database are saved: next to it first, else in the user data directory.

    None for an in-memory database: there is no next start to apply them at."""
    if str(db_path) == ":memory:":
        return []
    db = Path(db_path).expanduser().absolute()
    from platformdirs import user_data_dir

    digest = hashlib.sha256(str(db).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return [db.with_name(db.name + ".pending"),
            Path(user_data_dir("quizzer", appauthor=False)) / "pending" / f"{digest}.jsonl"]


def record(store: Store, grade: Grade) -> Review:
    """The plain write: Store.record_review with the grade's own moment."""
    return store.record_review(grade.deck_id, grade.card_id, grade=grade.grade, correct=grade.correct,
                               answer=grade.answer, seconds=grade.seconds, device=grade.device,
                               torch_version=grade.torch_version, now=grade.at)


def write_grade(store: Store, grade: Grade, *, budget_s: float = WRITE_BUDGET_S,
                write: Callable[[Store, Grade], Review] = record) -> GradeWrite:
    """Record `grade`, retrying a busy database for at most `budget_s`; else save it aside.

    `write` does the writing (default: `record`); a caller with its own bookkeeping, such as a
    study session, passes a function that writes through it. It must write all or nothing and
    may be called more than once. Never raises for a database problem: the outcome says where
    the grade went. Other errors (an unknown card) still raise StoreError. Call it from one
    thread at a time per Store: it changes the connection's busy timeout while it runs."""
    deadline = time.monotonic() + budget_s
    while True:
        try:
            with store.busy_timeout(ATTEMPT_WAIT_MS):
                review = write(store, grade)
            return GradeWrite(WriteOutcome.COMMITTED, review)
        except (sqlite3.Error, OSError, StoreError) as exc:
            error = store_error(store.path, exc)
        if error.problem not in SAVABLE:
            raise error
        if error.problem is StoreProblem.BUSY and time.monotonic() + RETRY_PAUSE_S < deadline:
            time.sleep(RETRY_PAUSE_S)
            continue
        return save_pending(store.path, grade, error)


def save_pending(db_path: str | Path, grade: Grade, error: StoreError) -> GradeWrite:
    """Append `grade` to the first pending file that can be written (fsync'd: it is the only copy)."""
    line = (grade.to_json(error.problem) + "\n").encode("utf-8", "surrogateescape")
    failures = []
    for path in pending_paths(db_path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            failures.append(f"{path}: {exc.strerror}")
            continue
        return GradeWrite(WriteOutcome.PENDING, problem=error.problem,
                          message=f"{error}; your grade is saved in {path} and will be applied at the next start")
    return GradeWrite(WriteOutcome.LOST, problem=error.problem,
                      message=f"{error}; the grade could not be saved anywhere ({'; '.join(failures)})")


def apply_pending(store: Store) -> Applied:
    """Write saved grades into `store`, oldest first, each once; emptied files are removed.

    A grade already in the log (same card, same moment) is not added twice, so a crash half-way
    through is harmless. Stops at the first database problem, keeping the file."""
    counts: Counter[StoreProblem] = Counter()
    dropped = 0
    for path in pending_paths(store.path):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a second quizzer starting now waits here, then finds it gone
            with os.fdopen(os.dup(fd), "rb") as f:
                lines = [ln for ln in f.read().decode("utf-8", "surrogateescape").splitlines() if ln.strip()]
            stuck = False
            for line in lines:
                try:
                    grade, reason = Grade.from_json(line)
                except (ValueError, TypeError, KeyError):
                    continue  # a torn last line from a crash mid-append: nothing to apply
                try:
                    with store.busy_timeout(ATTEMPT_WAIT_MS):  # still busy: keep them for next time, quickly
                        if not store.review_exists(grade.deck_id, grade.card_id, grade.at):
                            record(store, grade)
                            counts[reason] += 1
                except (StoreError, sqlite3.Error, OSError) as exc:
                    if store_error(store.path, exc).problem in SAVABLE:
                        stuck = True  # still unwritable: keep the whole file; what was applied is skipped next time
                        break
                    dropped += 1  # its card is gone, or the line can never be written
            if not stuck:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)
        if stuck:
            break
    return Applied(dict(counts), dropped)
