"""Where each call's state lives between events: one small interface, several backends.

A store applies a function to one call's record atomically (`update`), so that the events of a
call are applied one at a time even when they arrive at once on several workers. SQLite does it
with `BEGIN IMMEDIATE` (a write lock that holds across processes); the memory store, for tests
and the simulator, with a lock. A Redis backend is one more class with the same four methods.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

from engine.errors import IvrflowError
from engine.interpreter import CallState

T = TypeVar("T")

# An event identical to the call's previous one, this soon after it, is the same event delivered
# again (a sender's retry, a proxy's double post), not the caller doing the same thing twice: doing
# anything twice takes Telesign at least the time to speak our answer.
DUPLICATE_WINDOW = 2.0


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as stored: its interpreter state, and the last event and answer (for duplicates)."""

    reference_id: str
    state: CallState
    last_event: str = ""  # digest of the last event body applied
    last_answer: str = "{}"  # the JSON answered to it
    updated: float = field(default_factory=time.time)  # when the last event was applied
    delivered: bool = True  # False: the sender hung up before the answer, and will deliver again

    def to_json(self) -> str:
        data = asdict(self)
        data["state"] = {**data["state"], "repeats": dict(self.state.repeats), "variables": dict(self.state.variables)}
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CallRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(**{**data, "state": CallState(**data["state"])})


Update = Callable[[CallRecord | None], tuple[CallRecord | None, T]]


class StoreUnavailable(IvrflowError):
    """The store did not answer in time (locked, full disk, down); nothing was changed."""


class Store(Protocol):
    def update(self, reference_id: str, change: Update[T]) -> T:
        """Apply `change` to the call's record (None: no such call) atomically; store what it
        returns (None: leave the record as it was) and give back its result. Raises
        StoreUnavailable, having changed nothing, when the store does not answer."""

    def get(self, reference_id: str) -> CallRecord | None: ...

    def healthy(self) -> bool: ...

    def close(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[str, str] = {}
        self._lock = threading.Lock()

    def update(self, reference_id: str, change: Update[T]) -> T:
        with self._lock:
            text = self._records.get(reference_id)
            record, result = change(CallRecord.from_json(text) if text else None)
            if record is not None:
                self._records[reference_id] = record.to_json()
            return result

    def get(self, reference_id: str) -> CallRecord | None:
        text = self._records.get(reference_id)
        return CallRecord.from_json(text) if text else None

    def healthy(self) -> bool:
        return True

    def close(self) -> None:
        pass


class SqliteStore:
    """Calls in one SQLite file (WAL), created on first use; one connection per thread."""

    # How long an update waits for another writer before the store counts as unavailable: below
    # the few seconds a webhook sender waits for its answer, so that it gets a 503 and retries.
    def __init__(self, path: str | Path, *, busy_timeout: float = 3.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS calls (reference_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated REAL NOT NULL)")

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the lock is taken before reading.
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process crash
            self._local.db = db
        return db

    def update(self, reference_id: str, change: Update[T]) -> T:
        try:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT record FROM calls WHERE reference_id = ?", (reference_id,)).fetchone()
                record, result = change(CallRecord.from_json(row[0]) if row else None)
                if record is not None:
                    db.execute(
                        "INSERT INTO calls (reference_id, record, updated) VALUES (?, ?, ?) "
                        "ON CONFLICT (reference_id) DO UPDATE SET record = excluded.record, updated = excluded.updated",
                        (reference_id, record.to_json(), record.updated),
                    )
                db.execute("COMMIT")
                return result
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:  # locked past the busy timeout, disk full, file gone
            raise StoreUnavailable(f"SQLite store {self.path}: {error}") from None

    def get(self, reference_id: str) -> CallRecord | None:
        row = self._connection().execute("SELECT record FROM calls WHERE reference_id = ?", (reference_id,)).fetchone()
        return CallRecord.from_json(row[0]) if row else None

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


def open_store(url: str) -> Store:
    """`sqlite:///var/ivrflow.db` (a path relative to here), `sqlite:////abs/path.db`, or `memory://`."""
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme == "sqlite":
        return SqliteStore(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
    raise ValueError(f"unknown store {url!r}: use sqlite:///PATH or memory://")
