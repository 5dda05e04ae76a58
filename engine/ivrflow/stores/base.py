"""What every call store offers (the `Store` interface), the change function `update` applies,
and what the backends share: how a transcript step is kept with its time."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol, TypeVar

import orjson

from ivrflow.calls.record import CallRecord
from ivrflow.calls.transcripts import Step

T = TypeVar("T")

# An event identical to the call's previous one, this soon after it, is the same event delivered
# again (a sender's retry, a proxy's double post), not the caller doing the same thing twice: doing
# anything twice takes Telesign at least the time to speak our answer.
DUPLICATE_WINDOW = 2.0


# A change to one call: given its record (None: no such call), the record to store (None: leave
# it as it was), the transcript steps to add, and what `update` gives back.
Update = Callable[[CallRecord | None], tuple[CallRecord | None, list[Step], T]]


class Store(Protocol):
    def update(self, reference_id: str, change: Update[T], *, telesign_id: str = "") -> T:
        """Apply `change` to the call's record atomically: store the record and the steps it
        returns, and give back its result. The call is the one Telesign knows as `telesign_id`
        when that is given and known, else the one whose id is `reference_id`: found in the same
        read as its record (an event names a call by Telesign's id, which for a call we placed
        is not ours). Raises StoreUnavailable, having changed nothing, when the store does not
        answer."""

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

    def counts(self, flow: str) -> dict[str, int]:
        """The flow's outcome counts, kept as its calls' changes are stored (ivrflow/stores/counting.py)."""

    def use_nonce(self, nonce: str, keep: float) -> bool:
        """Remember `nonce` for `keep` seconds; False if it is already remembered (a replay)."""

    def healthy(self) -> bool: ...

    def close(self) -> None: ...


def timed(steps: list[Step], now: float) -> list[str]:
    """Transcript steps as the backends keep them: each a JSON object with `at`, when it was stored."""
    return [orjson.dumps({"at": now, **step}).decode() for step in steps]


def lookup(store: Store, reference_id: str) -> CallRecord | None:
    """The call with this reference id, ours or Telesign's."""
    record = store.get(reference_id)
    alias = store.find(reference_id) if record is None else None
    return store.get(alias) if alias else record
