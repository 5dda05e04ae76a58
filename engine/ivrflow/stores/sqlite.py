"""Calls in one SQLite file, shared by the workers of one host: each update holds SQLite's write
lock (`BEGIN IMMEDIATE`), which holds across processes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ivrflow.calls.record import ACTIVE, CallRecord
from ivrflow.calls.transcripts import Step
from ivrflow.errors import StoreUnavailable
from ivrflow.stores.base import T, Update, timed
from ivrflow.stores.counting import added

# The call Telesign knows by ?1, else the call whose id is ?2, in one statement: each half by its index.
_BY_TELESIGN_ID_FIRST = (
    "SELECT reference_id, record FROM calls WHERE telesign_id = ?1 "
    "UNION ALL SELECT reference_id, record FROM calls WHERE reference_id = ?2 LIMIT 1"
)


class SqliteStore:
    """Calls in one SQLite file (WAL), created on first use; one connection per thread."""

    # How long an update waits for another writer before the store counts as unavailable: below
    # the few seconds a webhook sender waits for its answer, so that it gets a 503 and retries.
    def __init__(self, path: str | Path, *, busy_timeout: float = 3.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._writing = threading.Lock()
        db = self._connection()
        db.execute("PRAGMA journal_mode=WAL")
        self._begin(db)  # workers starting together take turns, as for any write
        db.execute(
            "CREATE TABLE IF NOT EXISTS calls (reference_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated REAL NOT NULL)"
        )
        columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        for column, kind in (
            ("flow", "TEXT NOT NULL DEFAULT ''"),
            ("status", "TEXT NOT NULL DEFAULT ''"),
            ("created", "REAL NOT NULL DEFAULT 0"),
            ("telesign_id", "TEXT"),
        ):
            if column not in columns:  # a file made before the calls API: add what listing needs
                db.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
        db.execute("CREATE INDEX IF NOT EXISTS calls_by_created ON calls (created)")
        db.execute("CREATE INDEX IF NOT EXISTS calls_by_status ON calls (status, created)")
        db.execute("CREATE INDEX IF NOT EXISTS calls_by_telesign_id ON calls (telesign_id)")
        db.execute("CREATE TABLE IF NOT EXISTS steps (reference_id TEXT NOT NULL, step TEXT NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS steps_by_call ON steps (reference_id)")
        db.execute("CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, until REAL NOT NULL)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS counts (flow TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (flow, name)) WITHOUT ROWID"
        )
        db.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the lock is taken before reading.
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process crash
            self._local.db = db
        return db

    def update(self, reference_id: str, change: Update[T], *, telesign_id: str = "") -> T:
        def write(db: sqlite3.Connection) -> T:
            row = (
                db.execute(_BY_TELESIGN_ID_FIRST, (telesign_id, reference_id))
                if telesign_id
                else db.execute("SELECT reference_id, record FROM calls WHERE reference_id = ?", (reference_id,))
            ).fetchone()
            key = row[0] if row else reference_id
            old = CallRecord.from_json(row[1]) if row else None
            record, steps, result = change(old)
            if record is not None:
                db.executemany(
                    "INSERT INTO counts (flow, name, n) VALUES (?, ?, ?) ON CONFLICT (flow, name) DO UPDATE SET n = n + excluded.n",
                    [(record.state.flow, name, n) for name, n in added(old, record).items()],
                )
                db.execute(
                    "INSERT INTO calls (reference_id, record, updated, flow, status, created, telesign_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (reference_id) DO UPDATE SET record = excluded.record, updated = excluded.updated, status = excluded.status, telesign_id = excluded.telesign_id",
                    (
                        key,
                        record.to_json(),
                        record.updated,
                        record.state.flow,
                        record.status,
                        record.created,
                        record.telesign_id or None,
                    ),
                )
                db.executemany(
                    "INSERT INTO steps (reference_id, step) VALUES (?, ?)",
                    [(key, step) for step in timed(steps, record.updated)],
                )
            return result

        return self._transaction(write)

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` holding the write lock; commit, or roll back and re-raise. Inside batch(),
        `work` runs in a savepoint of the batch's transaction instead."""
        if getattr(self._local, "batch", False):
            return self._savepoint(work)
        with self.batch():
            return work(self._connection())

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for the block, committed at its end. The threads of this process take
        turns on a lock of their own first, so that only processes wait for SQLite's (_begin)."""
        if not self._writing.acquire(timeout=self._busy_timeout):
            raise StoreUnavailable(f"SQLite store {self.path}: no turn to write within {self._busy_timeout:g} s")
        try:
            db = self._connection()
            self._begin(db)
            self._local.batch = True
            try:
                yield
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            finally:
                self._local.batch = False
        except sqlite3.Error as error:  # locked past the busy timeout, disk full, file gone
            raise StoreUnavailable(f"SQLite store {self.path}: {error}") from None
        finally:
            self._writing.release()

    def _begin(self, db: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE: take the write lock, waiting for another process's in short steps.
        SQLite's own busy handler sleeps 1, 2, 5, ... 100 ms between tries, while another worker
        holds the lock a millisecond or two for each batch: under load, those sleeps would be
        most of each answer's time."""
        deadline = time.monotonic() + self._busy_timeout
        pause = 0.0001
        db.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() + pause > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")

    def _savepoint(self, work: Callable[[sqlite3.Connection], T]) -> T:
        db = self._connection()
        try:
            db.execute("SAVEPOINT one")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK TO one")
                db.execute("RELEASE one")
                raise
            db.execute("RELEASE one")
            return result
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite store {self.path}: {error}") from None

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite store {self.path}: {error}") from None

    def get(self, reference_id: str) -> CallRecord | None:
        rows = self._rows("SELECT record FROM calls WHERE reference_id = ?", (reference_id,))
        return CallRecord.from_json(rows[0][0]) if rows else None

    def find(self, telesign_id: str) -> str | None:
        rows = self._rows("SELECT reference_id FROM calls WHERE telesign_id = ?", (telesign_id,))
        return str(rows[0][0]) if rows else None

    def transcript(self, reference_id: str) -> list[Step]:
        return [
            json.loads(row[0])
            for row in self._rows("SELECT step FROM steps WHERE reference_id = ? ORDER BY rowid", (reference_id,))
        ]

    def recent(self, *, flow: str | None = None, status: str | None = None, limit: int | None = 50) -> list[CallRecord]:
        sql = "SELECT record FROM calls WHERE (?1 IS NULL OR flow = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY created DESC LIMIT ?3"
        return [
            CallRecord.from_json(row[0]) for row in self._rows(sql, (flow, status, -1 if limit is None else limit))
        ]  # -1: no limit

    def active(self) -> int:
        placeholders = ", ".join("?" for _ in ACTIVE)
        return int(self._rows(f"SELECT count(*) FROM calls WHERE status IN ({placeholders})", ACTIVE)[0][0])

    def counts(self, flow: str) -> dict[str, int]:
        return {str(name): int(n) for name, n in self._rows("SELECT name, n FROM counts WHERE flow = ?", (flow,))}

    def use_nonce(self, nonce: str, keep: float) -> bool:
        now = time.time()

        def remember(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM nonces WHERE until <= ?", (now,))
            return (
                db.execute("INSERT OR IGNORE INTO nonces (nonce, until) VALUES (?, ?)", (nonce, now + keep)).rowcount
                == 1
            )

        return self._transaction(remember)

    def healthy(self) -> bool:
        """Whether an event could be applied now: the write lock can be had within a second."""
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=1.0, isolation_level=None)) as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("SELECT count(*) FROM calls WHERE reference_id = ''").fetchone()
                db.execute("ROLLBACK")
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
