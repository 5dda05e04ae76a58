"""Calls in Redis, shared by every worker and host: each update is an optimistic transaction
(WATCH, MULTI/EXEC), which holds across hosts."""

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
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _call(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except self._redis.RedisError as error:  # down, restarting, timed out
            raise StoreUnavailable(f"Redis store {self.url}: {error}") from None

    def update(self, reference_id: str, change: Update[T], *, telesign_id: str = "") -> T:
        def attempt() -> T:
            found = self.client.get(self._key("alias", telesign_id)) if telesign_id else None
            key = self._key("call", found or reference_id)
            deadline = time.monotonic() + self.timeout
            pause = self.BACKOFF_FIRST
            tries = 0
            while True:
                tries += 1
                with self.client.pipeline() as pipe:
                    try:
                        pipe.watch(key)
                        text = pipe.get(key)
                        old = CallRecord.from_json(text) if text else None
                        record, steps, result = change(old)
                        if record is None:
                            pipe.unwatch()
                            return result
                        pipe.multi()
                        self._write(pipe, record, steps)
                        for name, n in added(old, record).items():
                            pipe.hincrby(self._key("counts", record.state.flow), name, n)
                        pipe.execute()
                        return result
                    except self._redis.WatchError:
                        pass  # another writer changed the call first: apply the change to its record
                if time.monotonic() + pause > deadline:
                    raise StoreUnavailable(
                        f"Redis store {self.url}: call {reference_id} changed {tries} times while one update was tried"
                    )
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
            pipe.rpush(history, *timed(steps, record.updated))
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
