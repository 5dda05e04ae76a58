"""Where each call's state lives between events: one small interface, several backends.

A store applies a function to one call's record atomically (`update`), so that the events of a
call are applied one at a time even when they arrive at once on several workers. SQLite does it
with `BEGIN IMMEDIATE` (a write lock that holds across processes); Redis with an optimistic
transaction (read the record, write it back only if it is still what was read: a Lua script
each), which holds across hosts; the memory store, for tests, with a lock.

Besides the record (the small state the next event needs), a store keeps each call's transcript
as an append-only list of timed steps, so that the record stays small however long the call,
and the nonces of signed management requests, so that one is refused when used again.

The interface is in `base`, one backend in each of `memory`, `sqlite` and `redis`; here, the
store a URL names.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from ivrflow.stores.base import DUPLICATE_WINDOW, Store, Update, lookup
from ivrflow.stores.changes import failed, placed
from ivrflow.stores.memory import MemoryStore
from ivrflow.stores.redis import RedisStore
from ivrflow.stores.sqlite import SqliteStore

__all__ = [
    "DUPLICATE_WINDOW",
    "MemoryStore",
    "RedisStore",
    "SqliteStore",
    "Store",
    "Update",
    "failed",
    "lookup",
    "open_store",
    "placed",
]


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
