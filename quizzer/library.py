"""Opening the learner's database with the bundled decks in it: what every command starts with."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from .deck import DeckError, bundled_deck_dir, load_deck
from .store import Store, StoreError, StoreProblem, default_db_path, store_error

SYNC_WAIT_MS = 1_000  # how long an updated bundled deck waits for another writer before it waits for next time


def open_library(db_path: str | Path | None = None, *, bundled: bool = True, read_only_ok: bool = False) -> Store:
    """Open (creating if needed) the database and bring the bundled decks up to date.

    Only bundled files whose bytes changed since the last import are parsed, so this costs a
    few file hashes on every start. A deck the learner imported under the same id wins over the
    bundled one. With `read_only_ok`, a database that cannot be written (a read-only file or
    folder) is opened read-only instead, as it is: enough for commands that only read.
    """
    path = Path(db_path) if db_path else default_db_path()
    try:
        store = Store(path)
    except StoreError as exc:
        if not (read_only_ok and _may_read(path, exc)):
            raise
        return _read_only(path, exc)
    try:
        if bundled:
            try:
                with store.busy_timeout(SYNC_WAIT_MS):
                    sync_bundled(store)
            except sqlite3.Error as exc:
                error = store_error(path, exc)
                if error.problem not in (StoreProblem.BUSY, StoreProblem.READ_ONLY, StoreProblem.DISK_FULL):
                    raise error from None
                # busy, read-only or full: study the decks as they are (grades are saved aside); update next start
    except StoreError as exc:
        store.close()
        if read_only_ok and _may_read(path, exc):
            return _read_only(path, exc)
        raise
    return store


def _may_read(path: Path, exc: StoreError) -> bool:
    """Whether a database that could not be opened for writing is worth opening read-only."""
    return (exc.problem in (StoreProblem.READ_ONLY, StoreProblem.CANNOT_OPEN)
            and path.is_file() and os.access(path, os.R_OK))


def _read_only(path: Path, first: StoreError) -> Store:
    """The database opened read-only; if even that fails, the first (writable) error is the clearer one."""
    try:
        return Store(path, read_only=True)
    except StoreError:
        raise first from None


def sync_bundled(store: Store, directory: Path | None = None) -> list[str]:
    directory = directory or bundled_deck_dir()
    known = store.deck_hashes()
    stale = []
    for path in sorted(directory.glob("*.yaml")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        if any(h == digest for h, _ in known.values()):
            continue
        stale.append(path)
    decks = []
    for path in stale:
        try:
            deck = load_deck(path)
        except DeckError:
            continue  # a broken bundled deck is a bug caught by the test suite; never block studying
        origin = known.get(deck.id, (None, "bundled"))[1]
        if origin == "bundled":
            decks.append(deck)
    if decks:
        store.import_decks(decks, origin="bundled")
    return [d.id for d in decks]
