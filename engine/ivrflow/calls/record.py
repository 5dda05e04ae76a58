"""One call as the engine keeps it between events: the call record, and the v1 part of a call
placed through Telesign's v1 API.

Plain data, with the JSON form the stores keep it in. What a v1 call's Telesign status means (the
key chosen, the call in words) is the v1 package's to say (`ivrflow.v1.outcomes`); the time a
record was made or changed is given by whoever makes or changes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from ivrflow.calls.interpreter import CallState
from ivrflow.language.model import Flow

# A call's status, as the calls API shows it and filters by: on the line, or how it ended.
ACTIVE = ("dialing", "in_progress")
STATUSES = (*ACTIVE, "completed", "no_answer", "busy", "caller_hung_up", "transferred", "transfer_failed", "failed")


@dataclass(frozen=True, slots=True)
class V1Call:
    """What is kept of a v1 call beside its record: the form fields sent, what each key leads to,
    and Telesign's latest report (code None: none yet)."""

    params: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, str] = field(default_factory=dict)  # key → the node it leads to
    repeat_digit: str = ""
    code: int | None = None
    description: str = ""
    updated_on: str = ""
    user_input: str | None = None  # the last key pressed after the message ("": none; None: not reported)
    menu: str = ""  # the flow's menu node the keys answer, for its outcome counts ("": none)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as stored: its interpreter state, and the last event and answer (for duplicates).

    `reference_id` is the engine's id of the call: Telesign's reference id for an incoming call;
    for a call the engine places, its own id, sent to Telesign as `external_id` (so the call's
    events find it even if Telesign's answer to the dial was lost).

    `updated` and `created` are given by keyword, with no default: the record has no clock of its
    own (the server passes the time it runs at, a test the time it needs). The fields keep their
    order, which is the order of the stored JSON."""

    reference_id: str
    state: CallState
    last_event: str = ""  # digest of the last event body applied
    last_answer: str = "{}"  # the JSON answered to it
    updated: float = field(kw_only=True)  # when the last event was applied
    delivered: bool = True  # False: the sender hung up before the answer, and will deliver again
    created: float = field(kw_only=True)
    direction: str = "inbound"
    telesign_id: str = ""  # Telesign's reference id of the call, once known
    error: str = ""  # why Telesign did not place the call, or why we do not know whether it did
    v1: V1Call | None = None  # a v1 call (`ivrflow send`): what was sent, and Telesign's reports
    # What this change adds to the flow's outcome counts (ivrflow/calls/tally.py): given with the
    # change, added up by the store in the same transaction, never stored with the record.
    tally: tuple[str, ...] = field(default=(), compare=False)

    @property
    def status(self) -> str:
        if self.state.ended:
            return self.state.outcome or "completed"
        if self.v1 is not None:  # a v1 call is in Telesign's hands from the moment it reports on it
            return "dialing" if self.v1.code is None else "in_progress"
        return "dialing" if self.state.waiting == "start" else "in_progress"

    def to_json(self) -> str:
        # orjson writes the dataclasses itself, field by field, whatever fields they have (the
        # state and the v1 part included); the record's own fields are picked here, to leave out
        # the tally (never stored) and a live call's absent v1 part.
        data: dict[str, Any] = {name: getattr(self, name) for name in _RECORD_FIELDS}
        if self.v1 is not None:  # most calls are live: their records carry no v1 part
            data["v1"] = self.v1
        return orjson.dumps(data, default=_plain).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> CallRecord:
        data: dict[str, Any] = orjson.loads(text)
        # A record stored before calls had a creation time: the last time it changed is the
        # nearest time known.
        data.setdefault("created", data["updated"])
        return cls(
            **{**data, "state": CallState(**data["state"]), "v1": V1Call(**data["v1"]) if data.get("v1") else None}
        )


def language_of(state: CallState, flow: Flow | None) -> str | None:
    """The language a call is in now: its own, once given or chosen; else (none given or chosen
    yet, or a call stored before calls had languages) its flow's first; None when the flow is not
    known."""
    return state.language or (flow.language if flow is not None else None)


def _plain(value: object) -> dict[str, Any]:
    """A mapping orjson does not write itself (a read-only view of one, say) as a dict."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not stored in a call record")


_RECORD_FIELDS = tuple(f.name for f in fields(CallRecord) if f.name not in ("v1", "tally"))
