"""SQLite storage: decks, cards with their SM-2 state, and the review log. All SQL lives here.

Every write runs in one `BEGIN IMMEDIATE` transaction, so a crash at any instant leaves either the
whole review (log row and new card state) or none of it. WAL mode and a busy timeout let `stats`
read while `study` writes.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .deck import Card, Deck
from .errors import QuizzerError
from .scheduler import MATURE_DAYS, Schedule, Scheduled, Sm2State, check_grade, next_states
from .settings import day_start_hour as _day_start_hour
from .settings import max_interval

BUSY_TIMEOUT_MS = 15_000

# What one review adds to the rollups of migration 4, and what taking it back removes: the insert,
# delete and update triggers are made of these two, so the three cannot drift apart.
_ROLLUP_ADD = """
        INSERT INTO review_days VALUES (NEW.day, 1, coalesce(NEW.seconds, 0))
            ON CONFLICT (day) DO UPDATE SET reviews = reviews + 1, seconds = seconds + excluded.seconds;
        INSERT INTO review_deck_days
            VALUES (NEW.deck_id, NEW.day, 1, NEW.scheduled = 1, NEW.scheduled = 1 AND NEW.verdict = 'right')
            ON CONFLICT (deck_id, day) DO UPDATE SET reviews = reviews + 1, scheduled = scheduled + excluded.scheduled,
                scheduled_right = scheduled_right + excluded.scheduled_right;
        INSERT INTO review_tag_days
            SELECT DISTINCT NEW.day, t.value, 1, NEW.verdict = 'right'
            FROM cards c, json_each(c.data, '$.tags') t
            WHERE NEW.scheduled = 1 AND c.deck_id = NEW.deck_id AND c.card_id = NEW.card_id
            ON CONFLICT (day, tag) DO UPDATE SET scheduled = scheduled + 1,
                scheduled_right = scheduled_right + excluded.scheduled_right;
"""
_ROLLUP_REMOVE = """
        UPDATE review_days SET reviews = reviews - 1, seconds = seconds - coalesce(OLD.seconds, 0) WHERE day = OLD.day;
        DELETE FROM review_days WHERE day = OLD.day AND reviews <= 0;
        UPDATE review_deck_days SET reviews = reviews - 1, scheduled = scheduled - (OLD.scheduled = 1),
            scheduled_right = scheduled_right - (OLD.scheduled = 1 AND OLD.verdict = 'right')
            WHERE deck_id = OLD.deck_id AND day = OLD.day;
        DELETE FROM review_deck_days WHERE deck_id = OLD.deck_id AND day = OLD.day AND reviews <= 0;
        UPDATE review_tag_days
            SET scheduled = scheduled - 1, scheduled_right = scheduled_right - (OLD.verdict = 'right')
            WHERE OLD.scheduled = 1 AND day = OLD.day AND tag IN (
                SELECT t.value FROM cards c, json_each(c.data, '$.tags') t
                WHERE c.deck_id = OLD.deck_id AND c.card_id = OLD.card_id);
        DELETE FROM review_tag_days WHERE day = OLD.day AND scheduled <= 0;
"""

# The same for a card's due date and ease/interval counts.
_CARD_ROLLUP_ADD = """
        INSERT INTO due_days SELECT NEW.due, 1 WHERE NEW.due IS NOT NULL AND NEW.suspended = 0 AND NEW.removed = 0
            ON CONFLICT (due) DO UPDATE SET cards = cards + 1;
        INSERT INTO ease_intervals SELECT NEW.ease, NEW.interval, 1 WHERE NEW.due IS NOT NULL AND NEW.removed = 0
            ON CONFLICT (ease, interval) DO UPDATE SET cards = cards + 1;
"""
_CARD_ROLLUP_REMOVE = """
        UPDATE due_days SET cards = cards - 1
            WHERE OLD.due IS NOT NULL AND OLD.suspended = 0 AND OLD.removed = 0 AND due = OLD.due;
        DELETE FROM due_days WHERE due = OLD.due AND cards <= 0;
        UPDATE ease_intervals SET cards = cards - 1
            WHERE OLD.due IS NOT NULL AND OLD.removed = 0 AND ease = OLD.ease AND interval = OLD.interval;
        DELETE FROM ease_intervals WHERE ease = OLD.ease AND interval = OLD.interval AND cards <= 0;
"""

MIGRATIONS: list[str] = [
    # 1: decks, cards with SM-2 state, review log
    """
    CREATE TABLE decks (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        requires TEXT,
        path TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT 'user',
        source_hash TEXT NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE TABLE cards (
        deck_id TEXT NOT NULL REFERENCES decks(id) ON DELETE CASCADE,
        card_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        ease REAL NOT NULL DEFAULT 2.5,
        interval INTEGER NOT NULL DEFAULT 0,
        repetitions INTEGER NOT NULL DEFAULT 0,
        lapses INTEGER NOT NULL DEFAULT 0,
        due TEXT,
        suspended INTEGER NOT NULL DEFAULT 0,
        removed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (deck_id, card_id)
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        deck_id TEXT NOT NULL,
        card_id TEXT NOT NULL,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        answer TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('right', 'wrong')),
        grade INTEGER NOT NULL CHECK (grade BETWEEN 0 AND 5),
        device TEXT,
        torch_version TEXT,
        seconds REAL,
        FOREIGN KEY (deck_id, card_id) REFERENCES cards(deck_id, card_id) ON DELETE CASCADE
    );
    """,
    # 2: same-day repeats (logged, not scheduled), the state before each review (for undo),
    #    and the indexes the study queue and stats read through.
    """
    ALTER TABLE reviews ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE reviews ADD COLUMN prev_state TEXT;
    ALTER TABLE cards ADD COLUMN last_day TEXT;
    UPDATE cards SET last_day = (SELECT max(day) FROM reviews r
                                 WHERE r.deck_id = cards.deck_id AND r.card_id = cards.card_id);
    CREATE INDEX reviews_card ON reviews (deck_id, card_id);
    CREATE INDEX reviews_day ON reviews (day);
    CREATE INDEX cards_due ON cards (due) WHERE suspended = 0 AND removed = 0;
    """,
    # 3: indexes that keep a big library fast (bench/scale.py: 100k cards, 1M reviews). The study
    #    queues read in their ORDER BY without sorting; stats read narrow covering indexes, not rows.
    #    Three old indexes are replaced by wider ones that start with the same columns.
    """
    DROP INDEX cards_due;
    CREATE INDEX cards_queue_due ON cards (due, deck_id, position)
        WHERE due IS NOT NULL AND suspended = 0 AND removed = 0;
    CREATE INDEX cards_queue_new ON cards (position, deck_id) WHERE due IS NULL AND suspended = 0 AND removed = 0;
    CREATE INDEX cards_deck_stats ON cards (deck_id, removed, due, interval, suspended, card_id);
    CREATE INDEX cards_ease ON cards (ease, interval) WHERE due IS NOT NULL AND removed = 0;
    CREATE INDEX cards_tags ON cards (deck_id, card_id, json_extract(data, '$.tags'));
    DROP INDEX reviews_card;
    CREATE INDEX reviews_card_day ON reviews (deck_id, card_id, day);
    DROP INDEX reviews_day;
    CREATE INDEX reviews_day_seconds ON reviews (day, seconds);
    CREATE INDEX reviews_deck_day ON reviews (deck_id, day, scheduled, verdict, card_id);
    """,
    # 4: rollups of the review log for the stats read side, so the dashboard reads a few thousand
    #    rows instead of a million. Triggers keep them in the very transaction that inserts, updates
    #    or deletes a review (record_review, undo, a cascade), whoever writes it, so they cannot drift:
    #    tests/test_rollup.py recounts them from the log. Rows exist only while their count is > 0.
    #    review_days: every logged answer per study day (heatmap, streak, time spent);
    #    review_deck_days: per deck and day, scheduled answers and right ones (retention by deck);
    #    review_tag_days: the same per card tag (each distinct tag the card has now; when a
    #    re-import changes a card's tags, its history moves to the new ones, as a recount would).
    #    due_days and ease_intervals count the cards table the same way (the due forecast; the
    #    ease and interval distributions), kept by triggers on cards. Three indexes of migration 3
    #    that only these stats read are dropped: one less write per review, 10% smaller file.
    """
    CREATE TABLE review_days (
        day TEXT PRIMARY KEY,
        reviews INTEGER NOT NULL,
        seconds REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE review_deck_days (
        deck_id TEXT NOT NULL,
        day TEXT NOT NULL,
        reviews INTEGER NOT NULL,
        scheduled INTEGER NOT NULL,
        scheduled_right INTEGER NOT NULL,
        PRIMARY KEY (deck_id, day)
    ) WITHOUT ROWID;
    CREATE TABLE review_tag_days (
        day TEXT NOT NULL,
        tag TEXT NOT NULL,
        scheduled INTEGER NOT NULL,
        scheduled_right INTEGER NOT NULL,
        PRIMARY KEY (day, tag)
    ) WITHOUT ROWID;
    INSERT INTO review_days SELECT day, count(*), total(seconds) FROM reviews GROUP BY day;
    INSERT INTO review_deck_days
        SELECT deck_id, day, count(*), sum(scheduled = 1), sum(scheduled = 1 AND verdict = 'right')
        FROM reviews GROUP BY deck_id, day;
    INSERT INTO review_tag_days
        WITH card_tags AS MATERIALIZED (  -- each card's JSON parsed once, not once per review (52 s -> 11 s at 1M)
                 SELECT DISTINCT c.deck_id, c.card_id, t.value AS tag FROM cards c, json_each(c.data, '$.tags') t)
        SELECT r.day, t.tag, count(*), sum(r.verdict = 'right')
        FROM reviews r INDEXED BY reviews_deck_day
        CROSS JOIN card_tags t ON t.deck_id = r.deck_id AND t.card_id = r.card_id
        WHERE r.scheduled = 1 GROUP BY r.day, t.tag;
    CREATE TRIGGER reviews_rollup_insert AFTER INSERT ON reviews BEGIN
""" + _ROLLUP_ADD + """    END;
    CREATE TRIGGER reviews_rollup_delete AFTER DELETE ON reviews BEGIN
""" + _ROLLUP_REMOVE + """    END;
    CREATE TRIGGER reviews_rollup_update AFTER UPDATE OF deck_id, card_id, day, verdict, scheduled, seconds ON reviews
    BEGIN
""" + _ROLLUP_REMOVE + _ROLLUP_ADD + """    END;
    CREATE TRIGGER cards_rollup_retag AFTER UPDATE OF data ON cards
    WHEN json_extract(OLD.data, '$.tags') IS NOT json_extract(NEW.data, '$.tags') BEGIN
        UPDATE review_tag_days SET scheduled = scheduled - x.n, scheduled_right = scheduled_right - x.r
            FROM (SELECT r.day, t.value AS tag, count(DISTINCT r.id) AS n,
                         count(DISTINCT r.id) FILTER (WHERE r.verdict = 'right') AS r
                  FROM reviews r, json_each(OLD.data, '$.tags') t
                  WHERE r.deck_id = OLD.deck_id AND r.card_id = OLD.card_id AND r.scheduled = 1
                  GROUP BY r.day, t.value) x
            WHERE review_tag_days.day = x.day AND review_tag_days.tag = x.tag;
        DELETE FROM review_tag_days WHERE scheduled <= 0 AND day IN (
            SELECT day FROM reviews WHERE deck_id = OLD.deck_id AND card_id = OLD.card_id);
        INSERT INTO review_tag_days
            SELECT r.day, t.value, count(DISTINCT r.id), count(DISTINCT r.id) FILTER (WHERE r.verdict = 'right')
            FROM reviews r, json_each(NEW.data, '$.tags') t
            WHERE r.deck_id = NEW.deck_id AND r.card_id = NEW.card_id AND r.scheduled = 1
            GROUP BY r.day, t.value
            ON CONFLICT (day, tag) DO UPDATE SET scheduled = scheduled + excluded.scheduled,
                scheduled_right = scheduled_right + excluded.scheduled_right;
    END;
    CREATE TRIGGER cards_rollup_delete BEFORE DELETE ON cards BEGIN
        DELETE FROM reviews WHERE deck_id = OLD.deck_id AND card_id = OLD.card_id;
    END;
    CREATE TABLE due_days (
        due TEXT PRIMARY KEY,
        cards INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE ease_intervals (
        ease REAL NOT NULL,
        interval INTEGER NOT NULL,
        cards INTEGER NOT NULL,
        PRIMARY KEY (ease, interval)
    ) WITHOUT ROWID;
    INSERT INTO due_days
        SELECT due, count(*) FROM cards WHERE due IS NOT NULL AND suspended = 0 AND removed = 0 GROUP BY due;
    INSERT INTO ease_intervals
        SELECT ease, interval, count(*) FROM cards WHERE due IS NOT NULL AND removed = 0 GROUP BY ease, interval;
    CREATE TRIGGER cards_rollup_insert AFTER INSERT ON cards BEGIN
""" + _CARD_ROLLUP_ADD + """    END;
    CREATE TRIGGER cards_rollup_update AFTER UPDATE OF due, suspended, removed, ease, interval ON cards
    WHEN OLD.due IS NOT NEW.due OR OLD.suspended IS NOT NEW.suspended OR OLD.removed IS NOT NEW.removed
         OR OLD.ease IS NOT NEW.ease OR OLD.interval IS NOT NEW.interval BEGIN
""" + _CARD_ROLLUP_REMOVE + _CARD_ROLLUP_ADD + """    END;
    CREATE TRIGGER cards_rollup_forget AFTER DELETE ON cards BEGIN
""" + _CARD_ROLLUP_REMOVE + """    END;
    DROP INDEX cards_ease;
    DROP INDEX cards_tags;
    DROP INDEX reviews_deck_day;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path() -> Path:
    env = os.environ.get("QUIZZER_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("quizzer", appauthor=False)) / "quizzer.db"


def day_start_hour() -> int:
    """Hour at which a study day begins (QUIZZER_DAY_STARTS_AT, default 0 = local midnight).

    A value that is not a whole hour 0-23 raises SettingError: it is never read as midnight."""
    return _day_start_hour()


def study_day(now: datetime | None = None, start_hour: int | None = None) -> date:
    """The study day `now` falls in: local time, rolling over at `start_hour`."""
    now = (now or datetime.now()).astimezone()
    hour = day_start_hour() if start_hour is None else start_hour
    return (now - timedelta(hours=hour)).date()


@dataclass(frozen=True)
class CardState:
    card: Card
    deck_title: str
    state: Sm2State
    due: date | None
    suspended: bool
    last_day: date | None

    @property
    def is_new(self) -> bool:
        return self.due is None

    @property
    def schedule(self) -> Schedule:
        """What the scheduler computes a grade from (and the store compares against on write)."""
        return Schedule(self.state, self.due, self.last_day)


@dataclass(frozen=True)
class Review:
    id: int
    deck_id: str
    card_id: str
    day: date
    grade: int
    verdict: str
    scheduled: bool
    state: Sm2State
    due: date | None


@dataclass
class DeckImport:
    deck_id: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    code_changed: list[str] = field(default_factory=list)


class StoreProblem(enum.Enum):
    """Why the database could not be used: decided once, from SQLite's or the OS's error."""

    BUSY = "busy"
    READ_ONLY = "read-only"
    DISK_FULL = "disk full"
    NOT_A_DATABASE = "not a database"
    CORRUPT = "corrupt"
    IS_DIRECTORY = "is a directory"
    PARENT_NOT_DIRECTORY = "parent is not a directory"
    CANNOT_OPEN = "cannot open"
    NEWER_SCHEMA = "newer schema"
    NOT_FOUND = "not found"
    OTHER = "other"


class StoreError(QuizzerError):
    """A one-line message for the learner, and the problem behind it for code that reacts to it."""

    def __init__(self, message: str, problem: StoreProblem = StoreProblem.OTHER):
        super().__init__(message)
        self.problem = problem


# SQLite primary result codes (the low byte of an extended code) -> problem.
_SQLITE_CODES = {5: StoreProblem.BUSY, 6: StoreProblem.BUSY, 8: StoreProblem.READ_ONLY, 11: StoreProblem.CORRUPT,
                 13: StoreProblem.DISK_FULL, 14: StoreProblem.CANNOT_OPEN, 26: StoreProblem.NOT_A_DATABASE}
# ... and the same from the message, for errors raised without a code (or by a test double).
_SQLITE_MESSAGES = (("locked", StoreProblem.BUSY), ("busy", StoreProblem.BUSY),
                    ("readonly", StoreProblem.READ_ONLY), ("read-only", StoreProblem.READ_ONLY),
                    ("disk is full", StoreProblem.DISK_FULL), ("not a database", StoreProblem.NOT_A_DATABASE),
                    ("malformed", StoreProblem.CORRUPT), ("unable to open", StoreProblem.CANNOT_OPEN))
_OS_ERRNOS = {errno.ENOSPC: StoreProblem.DISK_FULL, errno.EDQUOT: StoreProblem.DISK_FULL,
              errno.EROFS: StoreProblem.READ_ONLY, errno.EACCES: StoreProblem.READ_ONLY,
              errno.EPERM: StoreProblem.READ_ONLY, errno.EISDIR: StoreProblem.IS_DIRECTORY,
              errno.ENOTDIR: StoreProblem.PARENT_NOT_DIRECTORY}


def classify(exc: BaseException) -> StoreProblem:
    """The problem behind a sqlite3 or OS error; OTHER when it is none of the known ones."""
    if isinstance(exc, StoreError):
        return exc.problem
    if isinstance(exc, OSError):
        return _OS_ERRNOS.get(exc.errno or 0, StoreProblem.OTHER)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _SQLITE_CODES:
            return _SQLITE_CODES[code & 0xFF]
        text = str(exc).lower()
        return next((p for needle, p in _SQLITE_MESSAGES if needle in text), StoreProblem.OTHER)
    return StoreProblem.OTHER


def problem_message(path: str | Path, problem: StoreProblem, detail: str = "") -> str:
    """One line naming the database and what to do about `problem`."""
    why = f" ({detail})" if detail else ""
    return {
        StoreProblem.BUSY: f"{path} is busy: another program is writing to it{why}; try again in a moment",
        StoreProblem.READ_ONLY: f"{path} cannot be written{why}; make the file and its folder writable, or pass --db",
        StoreProblem.DISK_FULL: f"{path} cannot be written: the disk is full; free some space and try again",
        StoreProblem.NOT_A_DATABASE: f"{path} is not a quizzer database{why}; move it aside or pass --db",
        StoreProblem.CORRUPT: f"{path} is damaged{why}; move it aside (or restore a backup), or pass --db",
        StoreProblem.IS_DIRECTORY: f"{path} is a directory, not a database file; pass --db with a file path",
        StoreProblem.PARENT_NOT_DIRECTORY: f"{path} cannot be created: a part of its folder path is a file{why}; "
                                           "pass --db with a path in a folder",
        StoreProblem.CANNOT_OPEN: f"{path} cannot be opened{why}; "
                                  "check that its folder exists and is readable, or pass --db",
    }.get(problem, f"{path}: {detail or problem.value}; move it aside or pass --db")


def store_error(path: str | Path, exc: BaseException) -> StoreError:
    """Turn a sqlite3 or OS error met while using the database at `path` into a StoreError."""
    if isinstance(exc, StoreError):
        return exc
    problem = classify(exc)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return StoreError(problem_message(path, problem, detail), problem)


def _path_problem(path: Path) -> StoreProblem | None:
    """What is wrong with `path` as a database file before SQLite gets to say it less clearly."""
    if path.is_dir():
        return StoreProblem.IS_DIRECTORY
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else StoreProblem.PARENT_NOT_DIRECTORY
    return None


class Store:
    read_only: bool = False

    def __init__(self, path: str | Path, *, read_only: bool = False):
        """Open (creating it and its folder if needed) the database at `path` and migrate it.

        With `read_only`, nothing is created or written (`mode=ro`; `immutable` where even the
        WAL index cannot be made): for reading a database on a read-only file or folder.
        Every failure is a StoreError whose `problem` says what went wrong."""
        self.path = Path(path)
        self.read_only = read_only
        memory = str(path) == ":memory:"
        if not memory:
            problem = _path_problem(self.path)
            if problem is not None:
                raise StoreError(problem_message(self.path, problem), problem)
        try:
            if not memory and not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._connect(str(path), immutable=False)
        except (OSError, sqlite3.Error) as exc:
            raise store_error(self.path, exc) from None
        try:
            self._setup(memory)
        except sqlite3.Error as exc:
            first = store_error(self.path, exc)
            self.db.close()
            if not (read_only and first.problem in (StoreProblem.CANNOT_OPEN, StoreProblem.READ_ONLY)):
                raise first from None
            try:  # a WAL database in a read-only folder: its -shm cannot be made, so read it as a snapshot
                self.db = self._connect(str(path), immutable=True)
                self._setup(memory)
            except sqlite3.Error as exc:
                self.db.close()
                raise store_error(self.path, exc) from None
        except StoreError:
            self.db.close()
            raise

    def _connect(self, path: str, *, immutable: bool) -> sqlite3.Connection:
        if self.read_only:
            uri = f"file:{quote(os.path.abspath(path))}?mode=ro" + ("&immutable=1" if immutable else "")
            db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
        else:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        return db

    def _setup(self, memory: bool) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db.execute("PRAGMA foreign_keys = ON")
        if self.read_only:
            version = self.version  # reads the header: fails here on a file that is not a database
            if version != SCHEMA_VERSION:
                raise StoreError(f"{self.path} is read-only and needs a schema upgrade "
                                 f"({version} -> {SCHEMA_VERSION}); "
                                 "open it once where it can be written", StoreProblem.READ_ONLY)
            return
        if not memory:
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.migrate()

    @contextmanager
    def busy_timeout(self, ms: int) -> Iterator[None]:
        """Wait at most `ms` for another writer inside this block (e.g. a grade written from a thread)."""
        self.db.execute(f"PRAGMA busy_timeout = {int(ms)}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def close(self, *, optimize: bool = True) -> None:
        if optimize and not self.read_only:
            try:  # lets SQLite gather the statistics its planner wants, at most once in a while
                self.db.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(optimize=exc_type is None)  # after an error (a damaged file) write nothing more

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may already have rolled back (a full disk, an I/O error)
                self.db.execute("ROLLBACK")
            raise

    # -- schema -------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        current = self.version
        if current > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer quizzer (schema {current} > {SCHEMA_VERSION}); "
                             "upgrade quizzer",
                             StoreProblem.NEWER_SCHEMA)
        for version in range(current + 1, target + 1):
            with self.transaction() as db:
                for statement in _statements(MIGRATIONS[version - 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")

    # -- decks --------------------------------------------------------------------------------
    def import_decks(self, decks: list[Deck], *, origin: str = "user", now: datetime | None = None) -> list[DeckImport]:
        """Add or update decks all-or-nothing, keeping the progress of every card whose id is kept."""
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        reports = []
        with self.transaction() as db:
            for deck in decks:
                report = DeckImport(deck.id)
                db.execute(
                    """INSERT INTO decks (id, title, description, requires, path, origin, source_hash, imported_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
                         requires = excluded.requires, path = excluded.path, origin = excluded.origin,
                         source_hash = excluded.source_hash, imported_at = excluded.imported_at""",
                    (deck.id, deck.title, deck.description, deck.requires, _printable_path(deck.path), origin,
                     deck.source_hash, stamp))
                existing = {r["card_id"]: r for r in db.execute(
                    "SELECT card_id, content_hash, code_hash, removed FROM cards WHERE deck_id = ?", (deck.id,))}
                for position, card in enumerate(deck.cards):
                    data = json.dumps(card.to_dict(), ensure_ascii=False)
                    old = existing.pop(card.id, None)
                    if old is None:
                        db.execute(
                            """INSERT INTO cards (deck_id, card_id, position, kind, data, content_hash, code_hash)
                               VALUES (?, ?, ?, ?, ?, ?, ?)""",
                            (deck.id, card.id, position, card.kind, data, card.content_hash, card.code_hash))
                        report.added.append(card.id)
                        continue
                    db.execute(
                        """UPDATE cards
                           SET position = ?, kind = ?, data = ?, content_hash = ?, code_hash = ?, removed = 0
                           WHERE deck_id = ? AND card_id = ?""",
                        (position, card.kind, data, card.content_hash, card.code_hash, deck.id, card.id))
                    if old["content_hash"] == card.content_hash and not old["removed"]:
                        report.unchanged.append(card.id)
                    else:
                        report.updated.append(card.id)
                        if old["code_hash"] != card.code_hash:
                            report.code_changed.append(card.id)
                for card_id, old in existing.items():
                    if not old["removed"]:
                        db.execute("UPDATE cards SET removed = 1 WHERE deck_id = ? AND card_id = ?", (deck.id, card_id))
                        report.removed.append(card_id)
                reports.append(report)
        return reports

    def deck_hashes(self) -> dict[str, tuple[str, str]]:
        """deck id -> (source hash, origin), to tell whether a bundled file needs re-importing."""
        return {r["id"]: (r["source_hash"], r["origin"])
                for r in self.db.execute("SELECT id, source_hash, origin FROM decks")}

    def decks(self, deck_ids: list[str]) -> list[Deck]:
        """Decks as stored (current cards only), e.g. to check them by id."""
        out = []
        for deck_id in deck_ids:
            d = self.db.execute("SELECT * FROM decks WHERE id = ?", (deck_id,)).fetchone()
            if d is None:
                continue
            cards = tuple(Card.from_dict(deck_id, json.loads(r["data"])) for r in self.db.execute(
                "SELECT data FROM cards WHERE deck_id = ? AND removed = 0 ORDER BY position", (deck_id,)))
            out.append(Deck(d["id"], d["title"], d["description"], cards, d["requires"], d["path"], d["source_hash"]))
        return out

    def deck_titles(self) -> dict[str, str]:
        return {r["id"]: r["title"] for r in self.db.execute("SELECT id, title FROM decks ORDER BY id")}

    # -- cards --------------------------------------------------------------------------------
    _CARD_SELECT = """SELECT c.*, d.title AS deck_title FROM cards c JOIN decks d ON d.id = c.deck_id"""

    @staticmethod
    def _queue_select(index: str) -> str:
        """The study queues read their index in ORDER BY order and stop at LIMIT. Named, because
        with the statistics PRAGMA optimize gathers on a big library SQLite otherwise picks a
        skip-scan of cards_deck_stats plus a sort: 0.03 ms became 200 ms for new_cards(limit=1)."""
        return f"SELECT c.*, d.title AS deck_title FROM cards c INDEXED BY {index} JOIN decks d ON d.id = c.deck_id"

    def card_state(self, deck_id: str, card_id: str) -> CardState:
        row = self.db.execute(self._CARD_SELECT + " WHERE c.deck_id = ? AND c.card_id = ?",
                              (deck_id, card_id)).fetchone()
        if row is None:
            raise StoreError(f"no card {deck_id}/{card_id}")
        return _card_state(row)

    def due_cards(self, today: date, deck_ids: list[str] | None = None, limit: int | None = None) -> list[CardState]:
        """Reviews due on or before `today`, most overdue first."""
        where, args = _deck_filter(deck_ids)
        sql = (self._queue_select("cards_queue_due")
               + " WHERE c.due IS NOT NULL AND c.due <= ? AND c.suspended = 0 AND c.removed = 0"
               + where + " ORDER BY c.due, c.deck_id, c.position")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_card_state(r) for r in self.db.execute(sql, (today.isoformat(), *args))]

    def new_cards(self, deck_ids: list[str] | None = None, limit: int | None = None) -> list[CardState]:
        """Never-reviewed cards, in deck order, interleaving decks so a session is varied."""
        where, args = _deck_filter(deck_ids)
        sql = (self._queue_select("cards_queue_new") + " WHERE c.due IS NULL AND c.suspended = 0 AND c.removed = 0"
               + where
               + " ORDER BY c.position, c.deck_id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_card_state(r) for r in self.db.execute(sql, args)]

    def new_cards_introduced(self, today: date) -> int:
        """How many cards had their first-ever review today (counts against the daily new limit)."""
        return self.db.execute(  # today's reviews, minus cards seen before: two index lookups, not a scan
            """SELECT count(*) FROM (SELECT DISTINCT deck_id, card_id FROM reviews WHERE day = :day) t
               WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.deck_id = t.deck_id AND r.card_id = t.card_id
                                 AND r.day < :day)""", {"day": today.isoformat()}).fetchone()[0]

    def drill_cards(self, day: date, deck_ids: list[str] | None = None) -> list[CardState]:
        """Cards whose newest answer of study day `day` was graded below 4: SM-2 asks them again that
        day until they score 4 or 5. Read off the review log, so quitting loses none of them."""
        where, args = _deck_filter(deck_ids)
        sql = (self._CARD_SELECT + """ JOIN (SELECT deck_id, card_id, max(id) AS last_id FROM reviews WHERE day = ?
                                             GROUP BY deck_id, card_id) t
                                       ON t.deck_id = c.deck_id AND t.card_id = c.card_id
                                       JOIN reviews r ON r.id = t.last_id
               WHERE r.grade < 4 AND c.suspended = 0 AND c.removed = 0""" + where + " ORDER BY r.id")
        return [_card_state(r) for r in self.db.execute(sql, (day.isoformat(), *args))]

    def latest_review_day(self) -> date | None:
        """The newest study day in the review log: a new session's day never comes before it."""
        row = self.db.execute("SELECT max(day) FROM reviews").fetchone()
        return date.fromisoformat(row[0]) if row[0] else None

    def next_due_date(self, deck_ids: list[str] | None = None) -> date | None:
        where, args = _deck_filter(deck_ids)
        row = self.db.execute(
            "SELECT min(due) FROM cards c WHERE due IS NOT NULL AND suspended = 0 AND removed = 0" + where,
            args).fetchone()
        return date.fromisoformat(row[0]) if row[0] else None

    def set_suspended(self, deck_id: str, card_id: str, suspended: bool = True) -> bool:
        """Suspend (or bring back) one card; returns whether that changed anything.

        Raises StoreError (NOT_FOUND) for a deck or card that does not exist or was removed."""
        with self.transaction():
            was = self.require_card(deck_id, card_id)
            self.db.execute("UPDATE cards SET suspended = ? WHERE deck_id = ? AND card_id = ?",
                            (int(suspended), deck_id, card_id))
        return was != suspended

    def require_card(self, deck_id: str, card_id: str) -> bool:
        """Whether a card in a current deck is suspended; StoreError (NOT_FOUND) naming the fix if no such card."""
        row = self.db.execute("SELECT suspended FROM cards WHERE deck_id = ? AND card_id = ? AND removed = 0",
                              (deck_id, card_id)).fetchone()
        if row is not None:
            return bool(row["suspended"])
        decks = self.deck_titles()
        if deck_id not in decks:
            raise StoreError(f"no deck {deck_id!r}; known decks: {', '.join(decks) or 'none'}", StoreProblem.NOT_FOUND)
        raise StoreError(f"no card {card_id!r} in deck {deck_id!r}; use the card's id from its deck file",
                         StoreProblem.NOT_FOUND)

    def review_exists(self, deck_id: str, card_id: str, at: datetime) -> bool:
        """Whether the answer given at `at` is already logged (a saved grade applied twice is one)."""
        stamp = at.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        return self.db.execute("SELECT 1 FROM reviews WHERE deck_id = ? AND card_id = ? AND at = ?",
                               (deck_id, card_id, stamp)).fetchone() is not None

    # -- reviews ------------------------------------------------------------------------------
    def record_review(self, deck_id: str, card_id: str, *, grade: int, correct: bool, answer: str,
                      seconds: float | None = None, device: str | None = None, torch_version: str | None = None,
                      now: datetime | None = None, day: date | None = None, chosen: Scheduled | None = None) -> Review:
        """Log one answer and persist the schedule its grade leaves; returns the new row.

        `chosen` is the option the learner picked (scheduler.next_states, via the session): it is
        written as it is, after checking that the card's row still holds the schedule the option
        was computed from, so two sessions grading one card cannot both move it. Without `chosen`
        the scheduler is asked here, for study day `day` (default: the study day of `now`). A grade
        that is not an integer 0-5, or that contradicts the verdict, is refused (ValueError)."""
        checked = check_grade(grade, bool(correct))
        if chosen is not None and chosen.grade != checked:
            raise ValueError(f"grade {int(checked)} does not match the chosen option's grade {int(chosen.grade)}")
        now = now or datetime.now(timezone.utc)
        day = chosen.today if chosen is not None else day or study_day(now)
        with self.transaction() as db:
            row = db.execute("SELECT * FROM cards WHERE deck_id = ? AND card_id = ?", (deck_id, card_id)).fetchone()
            if row is None:
                raise StoreError(f"no card {deck_id}/{card_id}")
            current = _schedule(row)
            if chosen is not None and chosen.before != current:
                raise StoreError(f"{deck_id}/{card_id} was graded elsewhere since it was shown; nothing recorded, "
                                 "it is shown again as it is now")
            result = chosen if chosen is not None else next_states(current, day, max_interval())[checked]
            before, after = current.state, result.after.state
            prev = {"ease": before.ease, "interval": before.interval, "repetitions": before.repetitions,
                    "lapses": before.lapses, "due": row["due"], "last_day": row["last_day"]}
            due, last_day = result.after.due, result.after.last_day
            cur = db.execute(
                """INSERT INTO reviews (deck_id, card_id, at, day, answer, verdict, grade, device, torch_version,
                                        seconds, scheduled, prev_state)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (deck_id, card_id, now.astimezone(timezone.utc).isoformat(timespec="milliseconds"), day.isoformat(),
                 answer, "right" if correct else "wrong", int(checked), device, torch_version, seconds,
                 int(result.moves), json.dumps(prev)))
            db.execute(
                """UPDATE cards SET ease = ?, interval = ?, repetitions = ?, lapses = ?, due = ?, last_day = ?
                   WHERE deck_id = ? AND card_id = ?""",
                (after.ease, after.interval, after.repetitions, after.lapses, due.isoformat() if due else None,
                 last_day.isoformat() if last_day else None, deck_id, card_id))
        assert cur.lastrowid is not None  # an INSERT always sets it
        return Review(cur.lastrowid, deck_id, card_id, day, int(checked), "right" if correct else "wrong", result.moves,
                      after, due)

    def undo_last_review(self, expect: tuple[str, str] | None = None) -> tuple[str, str] | None:
        """Remove the newest review and put its card back as it was; returns the card's key.

        With `expect`, nothing is undone unless the newest review is of that card: another
        process (a second study session) may have written one since."""
        with self.transaction() as db:
            row = db.execute("SELECT id, deck_id, card_id, prev_state FROM reviews ORDER BY id DESC LIMIT 1").fetchone()
            if row is None or row["prev_state"] is None:
                return None
            if expect is not None and (row["deck_id"], row["card_id"]) != tuple(expect):
                raise StoreError(f"the newest review is of {row['deck_id']}/{row['card_id']}, "
                                 f"not {expect[0]}/{expect[1]}; nothing undone")
            prev = json.loads(row["prev_state"])
            db.execute(
                """UPDATE cards SET ease = ?, interval = ?, repetitions = ?, lapses = ?, due = ?, last_day = ?
                   WHERE deck_id = ? AND card_id = ?""",
                (prev["ease"], prev["interval"], prev["repetitions"], prev["lapses"], prev["due"], prev["last_day"],
                 row["deck_id"], row["card_id"]))
            db.execute("DELETE FROM reviews WHERE id = ?", (row["id"],))
        return (row["deck_id"], row["card_id"])

    def reviews(self, deck_id: str | None = None, card_id: str | None = None) -> list[sqlite3.Row]:
        sql, args = "SELECT * FROM reviews WHERE 1=1", []
        if deck_id:
            sql += " AND deck_id = ?"
            args.append(deck_id)
        if card_id:
            sql += " AND card_id = ?"
            args.append(card_id)
        return list(self.db.execute(sql + " ORDER BY id", args))

    # -- stats --------------------------------------------------------------------------------
    # Every review-log and card-distribution number below is read from the rollup tables of
    # migration 4 (a few thousand rows), never from `reviews` (a million rows for a heavy learner).
    def deck_stats(self, today: date) -> list[dict]:
        since = (today - timedelta(days=29)).isoformat()
        rows = self.db.execute(
            f"""SELECT d.id, d.title,
                  count(c.card_id) AS cards,
                  sum(c.due IS NULL AND c.suspended = 0) AS new,
                  sum(c.due IS NOT NULL AND c.due <= :today AND c.suspended = 0) AS due_today,
                  sum(c.due IS NOT NULL AND c.interval < {MATURE_DAYS} AND c.suspended = 0) AS learning,
                  sum(c.interval >= {MATURE_DAYS} AND c.suspended = 0) AS mature,
                  sum(c.suspended) AS suspended,
                  (SELECT total(reviews) FROM review_deck_days r WHERE r.deck_id = d.id) AS reviews,
                  (SELECT total(scheduled) FROM review_deck_days r
                   WHERE r.deck_id = d.id AND r.day >= :since) AS recent,
                  (SELECT total(scheduled_right) FROM review_deck_days r
                   WHERE r.deck_id = d.id AND r.day >= :since) AS recent_right
                FROM decks d LEFT JOIN cards c INDEXED BY cards_deck_stats ON c.deck_id = d.id AND c.removed = 0
                GROUP BY d.id ORDER BY d.id""", {"today": today.isoformat(), "since": since}).fetchall()
        out = []
        for r in rows:
            item: dict[str, Any] = {
                k: int(r[k] or 0) for k in ("cards", "new", "due_today", "learning", "mature", "suspended", "reviews")}
            item = {"deck": r["id"], "title": r["title"], **item,
                    "retention_30d": round(r["recent_right"] / r["recent"], 4) if r["recent"] else None}
            out.append(item)
        return out

    def streak(self, today: date) -> int:
        """Consecutive study days with a review, ending today (or yesterday, if today is still open).

        Reads study days newest first and stops at the first gap: cost grows with the streak
        (one short row per day), not with the log."""
        expected = today
        count = 0
        for (day,) in self.db.execute("SELECT day FROM review_days WHERE day <= ? ORDER BY day DESC",
                                      (today.isoformat(),)):
            seen = date.fromisoformat(day)
            if count == 0 and seen == today - timedelta(days=1):
                expected = seen  # today is still open
            if seen != expected:
                break
            count += 1
            expected -= timedelta(days=1)
        return count

    # -- stats dashboard ----------------------------------------------------------------------
    # Read-only queries behind quizzer.stats.Dashboard, all on the rollups of migration 4.
    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so that several queries see the same state while `study` writes.

        Inside a transaction already open on this connection, it simply joins that one."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.execute("COMMIT")

    def reviews_per_day(self, since: date, until: date) -> list[tuple[date, int]]:
        """Study days from `since` to `until` (inclusive) with a logged answer, and how many (same-day
        repeats included), oldest first."""
        return [(date.fromisoformat(r[0]), r[1]) for r in self.db.execute(
            "SELECT day, reviews FROM review_days WHERE day BETWEEN ? AND ? ORDER BY day",
            (since.isoformat(), until.isoformat()))]

    def review_totals(self, day: date | None = None) -> tuple[int, float]:
        """Answers logged on study day `day` (all time if None) and the seconds spent on them;
        answers without a duration count as 0 s."""
        if day is not None:
            row = self.db.execute("SELECT total(reviews), total(seconds) FROM review_days WHERE day = ?",
                                  (day.isoformat(),)).fetchone()
        else:
            row = self.db.execute("SELECT total(reviews), total(seconds) FROM review_days").fetchone()
        return int(row[0]), row[1]

    def due_forecast(self, today: date, days: int) -> dict[date, int]:
        """Reviewed cards falling due on each of `days` days from `today`; overdue cards count on today.

        Suspended and removed cards are left out; days with nothing due are absent."""
        rows = self.db.execute(
            """SELECT max(due, :today) AS d, sum(cards) FROM due_days WHERE due <= :last GROUP BY d""",
            {"today": today.isoformat(), "last": (today + timedelta(days=days - 1)).isoformat()})
        return {date.fromisoformat(r[0]): r[1] for r in rows}

    def retention_by_deck(self, since: date, until: date) -> list[dict]:
        """Scheduled answers from `since` to `until` (inclusive) per deck: deck, title, right, total.

        Decks without such answers are left out."""
        return [dict(r) for r in self.db.execute(
            """SELECT d.id AS deck, d.title AS title, sum(r.scheduled_right) AS right, sum(r.scheduled) AS total
               FROM decks d CROSS JOIN review_deck_days r ON r.deck_id = d.id
               WHERE r.day BETWEEN ? AND ?
               GROUP BY d.id HAVING sum(r.scheduled) > 0 ORDER BY d.id""", (since.isoformat(), until.isoformat()))]

    def retention_by_tag(self, since: date, until: date) -> list[dict]:
        """Scheduled answers from `since` to `until` (inclusive) per card tag: tag, right, total.

        A card with several tags counts towards each; untagged cards towards none. Answers to
        cards since removed from their deck still count: they are history."""
        return [dict(r) for r in self.db.execute(
            """SELECT tag, sum(scheduled_right) AS right, sum(scheduled) AS total FROM review_tag_days
               WHERE day BETWEEN ? AND ? GROUP BY tag ORDER BY tag""", (since.isoformat(), until.isoformat()))]

    def ease_interval_counts(self) -> list[tuple[float, int, int]]:
        """Reviewed, non-removed cards (suspended included) counted by (ease, interval) pair.

        A few thousand pairs at most, read in key order; callers bucket them."""
        return [(r[0], r[1], r[2]) for r in self.db.execute("SELECT ease, interval, cards FROM ease_intervals")]



def _printable_path(path: str) -> str:
    """A file name as SQLite can store it: bytes that are not UTF-8 (a surrogate escape) become \\xff."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _statements(script: str) -> list[str]:
    """A migration script split into statements; a trigger's body (with its own `;`s) stays whole."""
    out, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip().rstrip(";").strip())
            pending = ""
    return out


def _deck_filter(deck_ids: list[str] | None) -> tuple[str, list[str]]:
    if not deck_ids:
        return "", []
    return f" AND c.deck_id IN ({', '.join('?' * len(deck_ids))})", list(deck_ids)


def _state(row: sqlite3.Row) -> Sm2State:
    return Sm2State(ease=row["ease"], interval=row["interval"], repetitions=row["repetitions"], lapses=row["lapses"])


def _schedule(row: sqlite3.Row) -> Schedule:
    return Schedule(_state(row), date.fromisoformat(row["due"]) if row["due"] else None,
                    date.fromisoformat(row["last_day"]) if row["last_day"] else None)


def _card_state(row: sqlite3.Row) -> CardState:
    card = Card.from_dict(row["deck_id"], json.loads(row["data"]))
    return CardState(
        card=card, deck_title=row["deck_title"], state=_state(row),
        due=date.fromisoformat(row["due"]) if row["due"] else None, suspended=bool(row["suspended"]),
        last_day=date.fromisoformat(row["last_day"]) if row["last_day"] else None)
