"""The appliance's data layer: every SQL statement the appliance runs lives in this package.

    connect(settings)  a new connection: cheap, one per thread or per web request,
                       never shared across threads (sqlite3 refuses it)
    PerThread(settings) a connection for each thread that asks, opened on first use
    migrate(settings)  bring the schema (edge.db.MIGRATIONS) up to date: once at start-up
    write_tx(db)       one BEGIN IMMEDIATE transaction

The modules are named by what they serve and take the connection as their first
argument: `intakes`, `items`, `pages`, `blobs`, `batches`, `print_jobs`,
`quarantine`, `media`, `calendar_years`, `operators` (and kiosk sessions),
`counter`, `custody`, `pickups`, `audit` (rows of the hash chain; the chain
itself is edge.audit) and `state` (the appliance's settings state: active
item, replace target).
Callers never write SQL; a new query is a new function here.

SQLite through sqlite-utils, WAL, synchronous=FULL. Writes go through
`write_tx()`: the kiosk, the ingest worker and the sync loop can be separate
processes or threads, and an immediate transaction waits for the write lock
(busy_timeout) instead of failing half-way when two of them write at once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from juanzong.edge.db import MIGRATIONS
from juanzong.edge.repo import cipher

if TYPE_CHECKING:
    from juanzong.edge.config import EdgeSettings

BUSY_TIMEOUT_SECONDS = 30.0


def connect(target: EdgeSettings | Path) -> Database:
    """A new connection to the appliance database (settings or the database path).

    Cheap: pragmas only, no schema work. The connection belongs to the thread that
    opened it; a web request or a worker thread opens its own and closes it."""
    path = target if isinstance(target, Path) else target.db_path
    # encrypted at rest: SQLCipher, its key in keys/ (edge/repo/cipher.py)
    conn = cipher.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return Database(conn, execute_plugins=False)


DB_MODE, DIR_MODE = 0o600, 0o700


def secure(target: EdgeSettings | Path) -> None:
    """Owner-only files: the database (and its WAL and shared-memory files, which
    SQLite creates with the database's own mode) 0600, its directory (data/) and
    the keys directory 0700.
    Creating the database file first, 0600, means it is never world-readable,
    whatever the process umask; an older home is tightened at the next start."""
    path = target if isinstance(target, Path) else target.db_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path.parent, DIR_MODE)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, DB_MODE))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists():
            os.chmod(name, DB_MODE)
    keys_dir = None if isinstance(target, Path) else target.keys_dir
    if keys_dir is not None and keys_dir.is_dir():
        os.chmod(keys_dir, DIR_MODE)


def migrate(target: EdgeSettings | Path) -> None:
    """Apply every pending migration; run once when a process starts (idempotent)."""
    secure(target)
    db = connect(target)
    try:
        MIGRATIONS.apply(db)
    finally:
        db.close()


class PerThread:
    """One connection per thread, opened the first time that thread asks: for an
    object (the ingest worker) built in one thread and driven from another."""

    def __init__(self, target: EdgeSettings | Path) -> None:
        self._target = target
        self._local = threading.local()

    def get(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self._target)
        return db

    def close(self) -> None:
        """Close the calling thread's connection, if it opened one."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


@contextlib.contextmanager
def write_tx(db: Database) -> Iterator[Database]:
    """One immediate write transaction; commits on success, rolls back on any error."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def quick_check(db: Database) -> bool:
    return bool(db.execute("PRAGMA quick_check").fetchone()[0] == "ok")


def checkpoint_truncate(db: Database) -> None:
    """Move the WAL into the database file and empty it (destroyed values leave the WAL too)."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def integrity_ok(db: Database) -> bool:
    return bool(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
