"""End-of-call notices waiting to be delivered, kept in the call store itself, so that a restart
loses none: a table beside the calls in SQLite, a sorted set and a hash in Redis, a dict in memory.

A notice is added in the same store batch as the change that ended its call (on the writer thread),
so a call that is stored as ended has its notice stored too. Delivery takes notices whose time has
come and leases them (moves their time on by LEASE) before posting, so that several workers
rarely post one notice twice; a worker that dies mid-post leaves it to be taken again when the
lease runs out. Delivery is therefore at least once, and each notice carries an id to deduplicate.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from ivrflow.calls.record import CallRecord
from ivrflow.stores.base import Store
from ivrflow.stores.memory import MemoryStore
from ivrflow.stores.redis import RedisStore
from ivrflow.stores.sqlite import SqliteStore

LEASE = 30.0  # seconds a taken notice is left to its deliverer before another may take it


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    url: str
    body: bytes
    attempts: int = 0  # deliveries tried and failed so far


class Outbox(Protocol):
    def add(self, notice: Notice, now: float) -> None:
        """Keep `notice`, due now; inside the writer's batch, stored with the call's change."""

    def take(self, now: float, most: int) -> list[Notice]:
        """Up to `most` notices whose time has come, each leased to the caller for LEASE seconds."""

    def delivered(self, notice_id: str) -> None: ...

    def retry(self, notice_id: str, due: float) -> None:
        """Count a failed delivery; try again at `due`."""

    def pending(self) -> int: ...


class SqliteOutbox:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        store._transaction(
            lambda db: db.execute(
                "CREATE TABLE IF NOT EXISTS notices (id TEXT PRIMARY KEY, url TEXT NOT NULL, body BLOB NOT NULL, "
                "attempts INTEGER NOT NULL DEFAULT 0, due REAL NOT NULL)"
            )
        )

    def add(self, notice: Notice, now: float) -> None:
        self.store._transaction(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO notices (id, url, body, attempts, due) VALUES (?, ?, ?, 0, ?)",
                (notice.id, notice.url, notice.body, now),
            )
        )

    def take(self, now: float, most: int) -> list[Notice]:
        def lease(db: sqlite3.Connection) -> list[Notice]:
            rows = db.execute(
                "SELECT id, url, body, attempts FROM notices WHERE due <= ? ORDER BY due LIMIT ?", (now, most)
            ).fetchall()
            db.executemany("UPDATE notices SET due = ? WHERE id = ?", [(now + LEASE, row[0]) for row in rows])
            return [Notice(row[0], row[1], bytes(row[2]), row[3]) for row in rows]

        return self.store._transaction(lease)

    def delivered(self, notice_id: str) -> None:
        self.store._transaction(lambda db: db.execute("DELETE FROM notices WHERE id = ?", (notice_id,)))

    def retry(self, notice_id: str, due: float) -> None:
        self.store._transaction(
            lambda db: db.execute("UPDATE notices SET attempts = attempts + 1, due = ? WHERE id = ?", (due, notice_id))
        )

    def pending(self) -> int:
        return int(self.store._rows("SELECT count(*) FROM notices", ())[0][0])


class RedisOutbox:
    """A hash of notices by id, and a sorted set of their ids by when they are due."""

    NOTICES, DUE = "ivrflow:notices", "ivrflow:notices:due"

    def __init__(self, store: RedisStore) -> None:
        self.client: Any = store.client

    def add(self, notice: Notice, now: float) -> None:
        kept = json.dumps({"url": notice.url, "body": notice.body.decode(), "attempts": 0})
        with self.client.pipeline() as pipe:
            pipe.hsetnx(self.NOTICES, notice.id, kept)
            pipe.zadd(self.DUE, {notice.id: now}, nx=True)
            pipe.execute()

    def take(self, now: float, most: int) -> list[Notice]:
        taken = []
        for raw in self.client.zrangebyscore(self.DUE, "-inf", now, start=0, num=most):
            notice_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            # Lease it only if its time is still the one read: another worker may have taken it since.
            if self.client.zadd(self.DUE, {notice_id: now + LEASE}, xx=True, gt=True, ch=True) != 1:
                continue
            kept = self.client.hget(self.NOTICES, notice_id)
            if kept is None:
                continue
            data = json.loads(kept)
            taken.append(Notice(notice_id, data["url"], data["body"].encode(), data["attempts"]))
        return taken

    def delivered(self, notice_id: str) -> None:
        with self.client.pipeline() as pipe:
            pipe.zrem(self.DUE, notice_id)
            pipe.hdel(self.NOTICES, notice_id)
            pipe.execute()

    def retry(self, notice_id: str, due: float) -> None:
        kept = self.client.hget(self.NOTICES, notice_id)
        if kept is None:
            return
        data = json.loads(kept)
        data["attempts"] += 1
        with self.client.pipeline() as pipe:
            pipe.hset(self.NOTICES, notice_id, json.dumps(data))
            pipe.zadd(self.DUE, {notice_id: due})
            pipe.execute()

    def pending(self) -> int:
        return int(self.client.zcard(self.DUE))


class MemoryOutbox:
    def __init__(self) -> None:
        self.notices: dict[str, tuple[Notice, float]] = {}

    def add(self, notice: Notice, now: float) -> None:
        self.notices.setdefault(notice.id, (notice, now))

    def take(self, now: float, most: int) -> list[Notice]:
        due = sorted((when, notice) for notice, when in self.notices.values() if when <= now)[:most]
        for _, notice in due:
            self.notices[notice.id] = (notice, now + LEASE)
        return [notice for _, notice in due]

    def delivered(self, notice_id: str) -> None:
        self.notices.pop(notice_id, None)

    def retry(self, notice_id: str, due: float) -> None:
        if notice_id in self.notices:
            notice, _ = self.notices[notice_id]
            self.notices[notice_id] = (Notice(notice.id, notice.url, notice.body, notice.attempts + 1), due)

    def pending(self) -> int:
        return len(self.notices)


def outbox_of(store: Store) -> Outbox:
    """The outbox kept in `store`."""
    if isinstance(store, SqliteStore):
        return SqliteOutbox(store)
    if isinstance(store, RedisStore):
        return RedisOutbox(store)
    if isinstance(store, MemoryStore):
        return MemoryOutbox()
    raise TypeError(f"no outbox for a {type(store).__name__}")


def notice_id(record: CallRecord) -> str:
    """The id a receiver deduplicates by: one notice per call."""
    return f"call-ended-{record.reference_id}"


def summary(
    record: CallRecord, steps: list[dict[str, Any]], variables: dict[str, str], version: str, now: float
) -> dict[str, Any]:
    """What a notice says about an ended call: its numbers, status, the way it went (its transcript,
    sensitive values already masked in it) and its variables as given (masked by the caller)."""
    state = record.state
    return {
        "id": notice_id(record),
        "type": "call.ended",
        "sent_at": round(now, 3),
        "call": {
            "reference_id": record.reference_id,
            "telesign_id": record.telesign_id or None,
            "flow": state.flow,
            "version": version,
            "direction": record.direction,
            "caller": state.variables.get("caller"),
            "called": state.variables.get("called"),
            "status": record.status,
            "ended_at_node": state.node or None,
            "created": record.created,
            "ended": record.updated,
            "variables": variables,
            "path": [{k: v for k, v in step.items() if k != "at"} for step in steps],
        },
    }
