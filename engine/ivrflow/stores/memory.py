"""Calls in this process's memory, for tests and trying things out: gone when the process ends.
A lock makes each update atomic."""

from __future__ import annotations

import contextlib
import json
import threading
import time

from ivrflow.calls.record import ACTIVE, CallRecord
from ivrflow.calls.transcripts import Step
from ivrflow.stores.base import T, Update, timed
from ivrflow.stores.counting import added


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[str, str] = {}
        self._steps: dict[str, list[str]] = {}
        self._nonces: dict[str, float] = {}
        self._aliases: dict[str, str] = {}  # Telesign's reference id → ours
        self._counts: dict[str, dict[str, int]] = {}  # flow → its outcome counts
        self._lock = threading.Lock()

    def update(self, reference_id: str, change: Update[T], *, telesign_id: str = "") -> T:
        with self._lock:
            reference_id = self._aliases.get(telesign_id, reference_id) if telesign_id else reference_id
            text = self._records.get(reference_id)
            old = CallRecord.from_json(text) if text else None
            record, steps, result = change(old)
            if record is not None:
                counts = self._counts.setdefault(record.state.flow, {})
                for name, n in added(old, record).items():
                    counts[name] = counts.get(name, 0) + n
                self._records[reference_id] = record.to_json()
                if record.telesign_id:
                    self._aliases[record.telesign_id] = reference_id
                self._steps.setdefault(reference_id, []).extend(timed(steps, record.updated))
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
        chosen = [
            r for r in self._all() if (flow is None or r.state.flow == flow) and (status is None or r.status == status)
        ]
        return sorted(chosen, key=lambda r: r.created, reverse=True)[:limit]

    def active(self) -> int:
        return sum(1 for record in self._all() if record.status in ACTIVE)

    def counts(self, flow: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get(flow, {}))

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
