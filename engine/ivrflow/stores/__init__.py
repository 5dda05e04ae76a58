"""Where each call's state lives between events: one small interface, several backends.

A store applies a function to one call's record atomically (`update`), so that the events of a
call are applied one at a time even when they arrive at once on several workers. SQLite does it
with `BEGIN IMMEDIATE` (a write lock that holds across processes); Redis with an optimistic
transaction (WATCH, MULTI/EXEC), which holds across hosts; the memory store, for tests, with a lock.

Besides the record (the small state the next event needs), a store keeps each call's transcript
as an append-only list of timed steps, so that the record stays small however long the call,
and the nonces of signed management requests, so that one is refused when used again.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from ivrflow.errors import StoreUnavailable
from ivrflow.calls.interpreter import CallState, Step
from ivrflow.v1.outcomes import V1Call

T = TypeVar("T")

# An event identical to the call's previous one, this soon after it, is the same event delivered
# again (a sender's retry, a proxy's double post), not the caller doing the same thing twice: doing
# anything twice takes Telesign at least the time to speak our answer.
DUPLICATE_WINDOW = 2.0


# A call's status, as the calls API shows it and filters by: on the line, or how it ended.
ACTIVE = ("dialing", "in_progress")
STATUSES = (*ACTIVE, "completed", "no_answer", "busy", "caller_hung_up", "transferred", "transfer_failed", "failed")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as stored: its interpreter state, and the last event and answer (for duplicates).

    `reference_id` is the engine's id of the call: Telesign's reference id for an incoming call;
    for a call the engine places, its own id, sent to Telesign as `external_id` (so the call's
    events find it even if Telesign's answer to the dial was lost)."""

    reference_id: str
    state: CallState
    last_event: str = ""  # digest of the last event body applied
    last_answer: str = "{}"  # the JSON answered to it
    updated: float = field(default_factory=time.time)  # when the last event was applied
    delivered: bool = True  # False: the sender hung up before the answer, and will deliver again
    created: float = field(default_factory=time.time)
    direction: str = "inbound"
    telesign_id: str = ""  # Telesign's reference id of the call, once known
    error: str = ""  # why Telesign did not place the call, or why we do not know whether it did
    v1: V1Call | None = None  # a v1 call (`ivrflow send`): what was sent, and Telesign's reports

    @property
    def status(self) -> str:
        if self.state.ended:
            return self.state.outcome or "completed"
        if self.v1 is not None:  # a v1 call is in Telesign's hands from the moment it reports on it
            return "dialing" if self.v1.code is None else "in_progress"
        return "dialing" if self.state.waiting == "start" else "in_progress"

    def to_json(self) -> str:
        # Field by field rather than dataclasses.asdict, which deep-copies and is most of the cost
        # of storing a call on every event.
        data: dict[str, Any] = {name: getattr(self, name) for name in _RECORD_FIELDS}
        state = self.state
        data["state"] = {name: getattr(state, name) for name in _STATE_FIELDS} | {"repeats": dict(state.repeats), "variables": dict(state.variables)}
        if self.v1 is not None:  # most calls are live: their records carry no v1 part
            data["v1"] = asdict(self.v1)
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CallRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(**{**data, "state": CallState(**data["state"]), "v1": V1Call(**data["v1"]) if data.get("v1") else None})


_RECORD_FIELDS = tuple(f.name for f in fields(CallRecord) if f.name not in ("state", "v1"))
_STATE_FIELDS = tuple(f.name for f in fields(CallState))


# A change to one call: given its record (None: no such call), the record to store (None: leave
# it as it was), the transcript steps to add, and what `update` gives back.
Update = Callable[[CallRecord | None], tuple[CallRecord | None, list[Step], T]]


class Store(Protocol):
    def update(self, reference_id: str, change: Update[T]) -> T:
        """Apply `change` to the call's record atomically: store the record and the steps it
        returns, and give back its result. Raises StoreUnavailable, having changed nothing,
        when the store does not answer."""

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Updates inside the block may share one transaction, stored together when it ends (a
        group commit); each still changes nothing if it raises. Raises StoreUnavailable, having
        stored none of them, when the store does not answer."""

    def get(self, reference_id: str) -> CallRecord | None: ...

    def find(self, telesign_id: str) -> str | None:
        """The engine's reference id of the call Telesign knows as `telesign_id`, if any."""

    def transcript(self, reference_id: str) -> list[Step]:
        """The call's steps in order, each with `at`: when it was stored (seconds since the epoch)."""

    def recent(self, *, flow: str | None = None, status: str | None = None, limit: int | None = 50) -> list[CallRecord]:
        """The calls most recently created first, of one flow and in one status if given (limit None: all)."""

    def active(self) -> int:
        """How many calls are on the line (dialing or in progress)."""

    def use_nonce(self, nonce: str, keep: float) -> bool:
        """Remember `nonce` for `keep` seconds; False if it is already remembered (a replay)."""

    def healthy(self) -> bool: ...

    def close(self) -> None: ...


def _timed(steps: list[Step], now: float) -> list[str]:
    return [json.dumps({"at": now, **step}, ensure_ascii=False) for step in steps]


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[str, str] = {}
        self._steps: dict[str, list[str]] = {}
        self._nonces: dict[str, float] = {}
        self._aliases: dict[str, str] = {}  # Telesign's reference id → ours
        self._lock = threading.Lock()

    def update(self, reference_id: str, change: Update[T]) -> T:
        with self._lock:
            text = self._records.get(reference_id)
            record, steps, result = change(CallRecord.from_json(text) if text else None)
            if record is not None:
                self._records[reference_id] = record.to_json()
                if record.telesign_id:
                    self._aliases[record.telesign_id] = reference_id
                self._steps.setdefault(reference_id, []).extend(_timed(steps, record.updated))
            return result

    def batch(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def get(self, reference_id: str) -> CallRecord | None:
        text = self._records.get(reference_id)
        return CallRecord.from_json(text) if text else None

    def find(self, telesign_id: str) -> str | None:
        with self._lock:
            return self._aliases.get(telesign_id)

    def transcript(self, reference_id: str) -> list[Step]:
        with self._lock:
            return [json.loads(step) for step in self._steps.get(reference_id, [])]

    def _all(self) -> list[CallRecord]:
        with self._lock:
            return [CallRecord.from_json(text) for text in self._records.values()]

    def recent(self, *, flow: str | None = None, status: str | None = None, limit: int | None = 50) -> list[CallRecord]:
        chosen = [r for r in self._all() if (flow is None or r.state.flow == flow) and (status is None or r.status == status)]
        return sorted(chosen, key=lambda r: r.created, reverse=True)[:limit]

    def active(self) -> int:
        return sum(1 for record in self._all() if record.status in ACTIVE)

    def use_nonce(self, nonce: str, keep: float) -> bool:
        now = time.time()
        with self._lock:
            self._nonces = {n: until for n, until in self._nonces.items() if until > now}
            if nonce in self._nonces:
                return False
            self._nonces[nonce] = now + keep
            return True

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
        self._writing = threading.Lock()
        db = self._connection()
        db.execute("PRAGMA journal_mode=WAL")
        self._begin(db)  # workers starting together take turns, as for any write
        db.execute("CREATE TABLE IF NOT EXISTS calls (reference_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated REAL NOT NULL)")
        columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        for column, kind in (("flow", "TEXT NOT NULL DEFAULT ''"), ("status", "TEXT NOT NULL DEFAULT ''"), ("created", "REAL NOT NULL DEFAULT 0"), ("telesign_id", "TEXT")):
            if column not in columns:  # a file made before the calls API: add what listing needs
                db.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
        db.execute("CREATE INDEX IF NOT EXISTS calls_by_created ON calls (created)")
        db.execute("CREATE INDEX IF NOT EXISTS calls_by_status ON calls (status, created)")
        db.execute("CREATE INDEX IF NOT EXISTS calls_by_telesign_id ON calls (telesign_id)")
        db.execute("CREATE TABLE IF NOT EXISTS steps (reference_id TEXT NOT NULL, step TEXT NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS steps_by_call ON steps (reference_id)")
        db.execute("CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, until REAL NOT NULL)")
        db.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the lock is taken before reading.
            db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process crash
            self._local.db = db
        return db

    def update(self, reference_id: str, change: Update[T]) -> T:
        def write(db: sqlite3.Connection) -> T:
            row = db.execute("SELECT record FROM calls WHERE reference_id = ?", (reference_id,)).fetchone()
            record, steps, result = change(CallRecord.from_json(row[0]) if row else None)
            if record is not None:
                db.execute(
                    "INSERT INTO calls (reference_id, record, updated, flow, status, created, telesign_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (reference_id) DO UPDATE SET record = excluded.record, updated = excluded.updated, status = excluded.status, telesign_id = excluded.telesign_id",
                    (reference_id, record.to_json(), record.updated, record.state.flow, record.status, record.created, record.telesign_id or None),
                )
                db.executemany("INSERT INTO steps (reference_id, step) VALUES (?, ?)", [(reference_id, step) for step in _timed(steps, record.updated)])
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
        return [json.loads(row[0]) for row in self._rows("SELECT step FROM steps WHERE reference_id = ? ORDER BY rowid", (reference_id,))]

    def recent(self, *, flow: str | None = None, status: str | None = None, limit: int | None = 50) -> list[CallRecord]:
        sql = "SELECT record FROM calls WHERE (?1 IS NULL OR flow = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY created DESC LIMIT ?3"
        return [CallRecord.from_json(row[0]) for row in self._rows(sql, (flow, status, -1 if limit is None else limit))]  # -1: no limit

    def active(self) -> int:
        placeholders = ", ".join("?" for _ in ACTIVE)
        return int(self._rows(f"SELECT count(*) FROM calls WHERE status IN ({placeholders})", ACTIVE)[0][0])

    def use_nonce(self, nonce: str, keep: float) -> bool:
        now = time.time()

        def remember(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM nonces WHERE until <= ?", (now,))
            return db.execute("INSERT OR IGNORE INTO nonces (nonce, until) VALUES (?, ?)", (nonce, now + keep)).rowcount == 1

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


class RedisStore:
    """Calls in Redis, shared by every worker and host. Each update runs in an optimistic
    transaction (WATCH the call's key, read, MULTI/EXEC the write, start over if another writer
    got in between), so a call's events apply one at a time across hosts with no lock held by any
    process. A call's keys expire `ttl` seconds after it ends; until then they are kept."""

    # An update that keeps losing the race backs off for a random, growing pause (so that writers
    # of one call spread out instead of colliding again in step) and gives up after `timeout`.
    BACKOFF_FIRST = 0.0005
    BACKOFF_MOST = 0.02

    def __init__(self, url: str, *, ttl: float = 7 * 24 * 3600, timeout: float = 3.0, prefix: str = "ivrflow:") -> None:
        import redis

        self._redis = redis
        self.url = url
        self.ttl = int(ttl)
        self.timeout = timeout
        self.prefix = prefix
        self.client: Any = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _call(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except self._redis.RedisError as error:  # down, restarting, timed out
            raise StoreUnavailable(f"Redis store {self.url}: {error}") from None

    def update(self, reference_id: str, change: Update[T]) -> T:
        key = self._key("call", reference_id)

        def attempt() -> T:
            deadline = time.monotonic() + self.timeout
            pause = self.BACKOFF_FIRST
            tries = 0
            while True:
                tries += 1
                with self.client.pipeline() as pipe:
                    try:
                        pipe.watch(key)
                        text = pipe.get(key)
                        record, steps, result = change(CallRecord.from_json(text) if text else None)
                        if record is None:
                            pipe.unwatch()
                            return result
                        pipe.multi()
                        self._write(pipe, record, steps)
                        pipe.execute()
                        return result
                    except self._redis.WatchError:
                        pass  # another writer changed the call first: apply the change to its record
                if time.monotonic() + pause > deadline:
                    raise StoreUnavailable(f"Redis store {self.url}: call {reference_id} changed {tries} times while one update was tried")
                time.sleep(random.uniform(0, pause))
                pause = min(pause * 2, self.BACKOFF_MOST)

        return self._call(attempt)

    def batch(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # each update is its own transaction

    def _write(self, pipe: Any, record: CallRecord, steps: list[Step]) -> None:
        ref = record.reference_id
        on_line = record.status in ACTIVE
        call, history = self._key("call", ref), self._key("steps", ref)
        pipe.set(call, record.to_json())
        if steps:
            pipe.rpush(history, *_timed(steps, record.updated))
        for key in (call, history):  # kept while the call is on the line, then for ttl
            pipe.persist(key) if on_line else pipe.expire(key, self.ttl)
        if record.telesign_id:
            pipe.set(self._key("alias", record.telesign_id), ref, ex=None if on_line else self.ttl)
        pipe.zadd(self._key("created"), {ref: record.created})
        pipe.zadd(self._key("flow", record.state.flow), {ref: record.created})
        pipe.sadd(self._key("active"), ref) if on_line else pipe.srem(self._key("active"), ref)

    def get(self, reference_id: str) -> CallRecord | None:
        text = self._call(lambda: self.client.get(self._key("call", reference_id)))
        return CallRecord.from_json(text) if text else None

    def find(self, telesign_id: str) -> str | None:
        found: str | None = self._call(lambda: self.client.get(self._key("alias", telesign_id)))
        return found

    def transcript(self, reference_id: str) -> list[Step]:
        return [json.loads(step) for step in self._call(lambda: self.client.lrange(self._key("steps", reference_id), 0, -1))]

    def recent(self, *, flow: str | None = None, status: str | None = None, limit: int | None = 50) -> list[CallRecord]:
        index = self._key("flow", flow) if flow is not None else self._key("created")
        found: list[CallRecord] = []
        start, page = 0, 200
        while limit is None or len(found) < limit:
            refs: list[str] = self._call(lambda: self.client.zrevrange(index, start, start + page - 1))
            if not refs:
                break
            texts: list[str | None] = self._call(lambda: self.client.mget([self._key("call", ref) for ref in refs]))
            gone = [ref for ref, text in zip(refs, texts, strict=True) if text is None]
            if gone:  # expired calls: forget them in the index too
                self._call(lambda: self.client.zrem(index, *gone))
            records = [CallRecord.from_json(text) for text in texts if text is not None]
            found += [record for record in records if status is None or record.status == status]
            start += page - len(gone)
        return found if limit is None else found[:limit]

    def active(self) -> int:
        return int(self._call(lambda: self.client.scard(self._key("active"))))

    def use_nonce(self, nonce: str, keep: float) -> bool:
        return bool(self._call(lambda: self.client.set(self._key("nonce", nonce), "1", nx=True, px=max(1, int(keep * 1000)))))

    def healthy(self) -> bool:
        try:
            return bool(self.client.ping())
        except self._redis.RedisError:
            return False

    def close(self) -> None:
        self.client.close()


def placed(record: CallRecord | None, telesign_id: str) -> tuple[CallRecord | None, list[Step], CallRecord | None]:
    """Note Telesign's reference id of a call it accepted (unless its events have told it already)."""
    if record is None:
        return None, [], None
    changed = replace(record, telesign_id=record.telesign_id or telesign_id)
    return changed, [], changed


def failed(record: CallRecord | None, reason: str, *, ended: bool) -> tuple[CallRecord | None, list[Step], bool]:
    """Note why Telesign did not place the call; end it unless events could still come (True: it ended now)."""
    if record is None or record.state.waiting != "start":
        return None, [], False  # the call's events have moved it on already: they know better
    if not ended:
        return replace(record, error=reason), [], False
    return replace(record, error=reason, state=replace(record.state, waiting="ended", outcome="failed")), [], True


def lookup(store: Store, reference_id: str) -> CallRecord | None:
    """The call with this reference id, ours or Telesign's."""
    record = store.get(reference_id)
    alias = store.find(reference_id) if record is None else None
    return store.get(alias) if alias else record


def open_store(url: str) -> Store:
    """`sqlite:///var/ivrflow.db` (a path relative to here), `sqlite:////abs/path.db`,
    `redis://host:port/db` (`?ttl=SECONDS`: how long an ended call is kept, default a week), or
    `memory://`."""
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme == "sqlite":
        return SqliteStore(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
    if parsed.scheme in ("redis", "rediss", "unix"):
        query = dict(parse_qsl(parsed.query))
        ttl = query.pop("ttl", None)
        if ttl is not None and not ttl.isdigit():
            raise ValueError(f"store {url!r}: ttl is a whole number of seconds")
        plain = urlunparse(parsed._replace(query=urlencode(query)))
        return RedisStore(plain, ttl=int(ttl)) if ttl is not None else RedisStore(plain)
    raise ValueError(f"unknown store {url!r}: use sqlite:///PATH, redis://HOST:PORT/DB or memory://")
