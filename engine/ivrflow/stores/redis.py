"""Calls in Redis, shared by every worker and host: each update is an optimistic transaction (read
the record, write it back only if it is still what was read), which holds across hosts."""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

from ivrflow.calls.record import ACTIVE, CallRecord
from ivrflow.calls.transcripts import Step
from ivrflow.errors import StoreUnavailable
from ivrflow.stores.base import T, Update, timed
from ivrflow.stores.counting import added

# An update's read, one round trip: the id of the call Telesign knows by KEYS[1]'s alias (when
# ARGV[1] is "1" and there is one), else ARGV[2]; and that call's record (nil: none). The call's key
# is found here, so it cannot be declared: a single Redis server, not a cluster.
_READ = """
local ref = ARGV[2]
if ARGV[1] == '1' then ref = redis.call('GET', KEYS[1]) or ref end
return {ref, redis.call('GET', ARGV[3] .. ref)}
"""

# An update's write, one round trip and atomic: only if the call's record (KEYS[1]) is still what
# was read (ARGV[1]; "": none), store the new one (ARGV[2]) and everything kept beside it, as
# `RedisStore._write` says; 0 when another writer got in between (nothing written), else 1.
# KEYS: record, steps, created index, flow index, active set, counts, alias ("": none).
# ARGV: old, new, ref, created, on the line ("1"/"0"), ttl, how many steps, the steps, then the
# counts as name, n pairs.
_WRITE = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
local ref, on_line, ttl, steps = ARGV[3], ARGV[5] == '1', ARGV[6], tonumber(ARGV[7])
redis.call('SET', KEYS[1], ARGV[2])
if steps > 0 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 8, 7 + steps)) end
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  if on_line then redis.call('PERSIST', key) else redis.call('EXPIRE', key, ttl) end
end
if KEYS[7] ~= '' then
  if on_line then redis.call('SET', KEYS[7], ref) else redis.call('SET', KEYS[7], ref, 'EX', ttl) end
end
redis.call('ZADD', KEYS[3], ARGV[4], ref)
redis.call('ZADD', KEYS[4], ARGV[4], ref)
if on_line then redis.call('SADD', KEYS[5], ref) else redis.call('SREM', KEYS[5], ref) end
for i = 8 + steps, #ARGV, 2 do redis.call('HINCRBY', KEYS[6], ARGV[i], ARGV[i + 1]) end
return 1
"""


class RedisStore:
    """Calls in Redis, shared by every worker and host. Each update is an optimistic transaction
    in two round trips, each a Lua script Redis runs atomically: read the call's record, apply the
    change here, then write the result only if the record is still what was read (start over if
    another writer got in between). So a call's events apply one at a time across hosts with no
    lock held by any process. A call's keys expire `ttl` seconds after it ends; until then they
    are kept."""

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
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        # EVALSHA, loading the script again when Redis has forgotten it (a restart).
        self._read = self.client.register_script(_READ)
        self._cas = self.client.register_script(_WRITE)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _call(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except self._redis.RedisError as error:  # down, restarting, timed out
            raise StoreUnavailable(f"Redis store {self.url}: {error}") from None

    def update(self, reference_id: str, change: Update[T], *, telesign_id: str = "") -> T:
        def attempt() -> T:
            deadline = time.monotonic() + self.timeout
            pause = self.BACKOFF_FIRST
            tries = 0
            while True:
                tries += 1
                key, text = self._read(
                    keys=[self._key("alias", telesign_id)],
                    args=["1" if telesign_id else "0", reference_id, self._key("call", "")],
                )
                old = CallRecord.from_json(text) if text else None
                record, steps, result = change(old)
                if record is None or self._write(key, text or "", old, record, steps):
                    return result
                # another writer changed the call first: apply the change to its record
                if time.monotonic() + pause > deadline:
                    raise StoreUnavailable(
                        f"Redis store {self.url}: call {reference_id} changed {tries} times while one update was tried"
                    )
                time.sleep(random.uniform(0, pause))
                pause = min(pause * 2, self.BACKOFF_MOST)

        return self._call(attempt)

    def batch(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # each update is its own transaction

    def _write(self, ref: str, was: str, old: CallRecord | None, record: CallRecord, steps: list[Step]) -> bool:
        """Store `record` over the call's record if that is still `was`: with its steps, kept
        while the call is on the line and then for ttl, in the indexes of calls, and its counts."""
        stored = timed(steps, record.updated)
        counts = [str(part) for name, n in added(old, record).items() for part in (name, n)]
        keys = [
            self._key("call", ref),
            self._key("steps", ref),
            self._key("created"),
            self._key("flow", record.state.flow),
            self._key("active"),
            self._key("counts", record.state.flow),
            self._key("alias", record.telesign_id) if record.telesign_id else "",
        ]
        on_line = "1" if record.status in ACTIVE else "0"
        args: list[str | int] = [
            was,
            record.to_json(),
            ref,
            repr(record.created),
            on_line,
            self.ttl,
            len(stored),
            *stored,
            *counts,
        ]
        return bool(self._cas(keys=keys, args=args))

    def get(self, reference_id: str) -> CallRecord | None:
        text = self._call(lambda: self.client.get(self._key("call", reference_id)))
        return CallRecord.from_json(text) if text else None

    def find(self, telesign_id: str) -> str | None:
        found: str | None = self._call(lambda: self.client.get(self._key("alias", telesign_id)))
        return found

    def transcript(self, reference_id: str) -> list[Step]:
        return [
            json.loads(step) for step in self._call(lambda: self.client.lrange(self._key("steps", reference_id), 0, -1))
        ]

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

    def counts(self, flow: str) -> dict[str, int]:
        found: dict[str, str] = self._call(lambda: self.client.hgetall(self._key("counts", flow)))
        return {name: int(n) for name, n in found.items()}

    def use_nonce(self, nonce: str, keep: float) -> bool:
        return bool(
            self._call(lambda: self.client.set(self._key("nonce", nonce), "1", nx=True, px=max(1, int(keep * 1000))))
        )

    def healthy(self) -> bool:
        try:
            return bool(self.client.ping())
        except self._redis.RedisError:
            return False

    def close(self) -> None:
        self.client.close()
