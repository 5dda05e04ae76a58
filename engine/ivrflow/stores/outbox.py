"""End-of-call notices waiting to be delivered, kept in the call store itself, so that a restart
loses none: a table beside the calls in SQLite, a sorted set and a hash in Redis, a dict in memory.

A notice is added (keep_notice) in the same store batch as the change that ended its call, by
whichever part learnt of the end (the server's writer thread; `ivrflow send --wait` and `ivrflow
status` through placing.py), and only by the change that ended it: once per call. In SQLite the
batch is one transaction, so a call stored as ended has its notice stored too; in Redis the notice
is written right after the call's own transaction (a process killed between the two loses it). Delivery takes notices whose time has
come and leases them (moves their time on by LEASE) before posting, so that several workers
rarely post one notice twice; a worker that dies mid-post leaves it to be taken again when the
lease runs out. Delivery is therefore at least once, and each notice carries an id to deduplicate.
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from ivrflow.calls.notice import destination, notice_body, notice_id
from ivrflow.language.model import Flow
from ivrflow.stores.base import Store
from ivrflow.stores.memory import MemoryStore
from ivrflow.stores.redis import RedisStore
from ivrflow.stores.sqlite import SqliteStore

LEASE = 30.0  # seconds a taken notice is left to its deliverer before another may take it


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    url: str  # "": the delivering server's own destination for the call (a flow's notify:, else --notify)
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
    """A hash of notices by id, and a sorted set of their ids by when they are due. Each change
    is its own transaction, after the call's (Redis updates are not batched)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.client: Any = store.client
        self.notices, self.due = f"{store.prefix}notices", f"{store.prefix}notices:due"

    def add(self, notice: Notice, now: float) -> None:
        kept = json.dumps({"url": notice.url, "body": notice.body.decode(), "attempts": 0})

        def write() -> None:
            with self.client.pipeline() as pipe:
                pipe.hsetnx(self.notices, notice.id, kept)
                pipe.zadd(self.due, {notice.id: now}, nx=True)
                pipe.execute()

        self.store._call(write)

    def take(self, now: float, most: int) -> list[Notice]:
        def lease() -> list[Notice]:
            taken = []
            for raw in self.client.zrangebyscore(self.due, "-inf", now, start=0, num=most):
                notice_id = raw.decode() if isinstance(raw, bytes) else str(raw)
                # Lease it only if its time is still the one read: another worker may have taken it since.
                if self.client.zadd(self.due, {notice_id: now + LEASE}, xx=True, gt=True, ch=True) != 1:
                    continue
                kept = self.client.hget(self.notices, notice_id)
                if kept is None:
                    continue
                data = json.loads(kept)
                taken.append(Notice(notice_id, data["url"], data["body"].encode(), data["attempts"]))
            return taken

        return self.store._call(lease)

    def delivered(self, notice_id: str) -> None:
        def forget() -> None:
            with self.client.pipeline() as pipe:
                pipe.zrem(self.due, notice_id)
                pipe.hdel(self.notices, notice_id)
                pipe.execute()

        self.store._call(forget)

    def retry(self, notice_id: str, due: float) -> None:
        def later() -> None:
            kept = self.client.hget(self.notices, notice_id)
            if kept is None:
                return
            data = json.loads(kept)
            data["attempts"] += 1
            with self.client.pipeline() as pipe:
                pipe.hset(self.notices, notice_id, json.dumps(data))
                pipe.zadd(self.due, {notice_id: due})
                pipe.execute()

        self.store._call(later)

    def pending(self) -> int:
        return int(self.store._call(lambda: self.client.zcard(self.due)))


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


_IN_MEMORY: weakref.WeakKeyDictionary[MemoryStore, MemoryOutbox] = weakref.WeakKeyDictionary()


def outbox_of(store: Store) -> Outbox:
    """The outbox kept in `store` (for a memory store, the one that lives as long as it)."""
    if isinstance(store, SqliteStore):
        return SqliteOutbox(store)
    if isinstance(store, RedisStore):
        return RedisOutbox(store)
    if isinstance(store, MemoryStore):
        return _IN_MEMORY.setdefault(store, MemoryOutbox())
    raise TypeError(f"no outbox for a {type(store).__name__}")


def keep_notice(store: Store, outbox: Outbox, key: str, flow: Flow | None, default: str | None, now: float) -> None:
    """Call `key` has just ended: keep its notice for delivery. Called inside the store batch that
    stored the end, so that both are kept or neither. `flow`: the call's (its `notify:` and
    sensitive names; None when not known); `default`: where notices go otherwise (None: wherever
    the server that delivers it says, its `--notify`). A notice already kept for the call stays."""
    record = store.get(key)
    if record is None:
        return
    url = destination(flow, default) or ""
    outbox.add(Notice(notice_id(record), url, notice_body(record, store.transcript(key), flow, now)), now)
