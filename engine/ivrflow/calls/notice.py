"""What the notice of an ended call says, and where it goes: pure, so that every part that learns
a call ended (the server's webhook and v1 callbacks, `ivrflow send --wait`, `ivrflow status`)
builds the same notice. Keeping it for delivery is the store's (stores/outbox.py); posting it, the
server's (server/notices.py)."""

from __future__ import annotations

import json
from typing import Any

from ivrflow.calls.record import CallRecord, language_of
from ivrflow.language.model import Flow
from ivrflow.language.texts import MASK


def notice_id(record: CallRecord) -> str:
    """The id a receiver deduplicates by: one notice per call."""
    return f"call-ended-{record.reference_id}"


def destination(flow: Flow | None, default: str | None) -> str | None:
    """Where the notice of a call of `flow` goes: the flow's own `notify:`, else `default`."""
    return (flow.notify if flow is not None and flow.notify else None) or default


def notice_body(record: CallRecord, steps: list[dict[str, Any]], flow: Flow | None, now: float) -> bytes:
    """The notice of the ended call `record` as posted (JSON): its numbers, status, the language it
    was in when it ended, the way it went (its transcript `steps`, sensitive values already masked
    in them) and its variables, those `flow` marks sensitive shown as MASK."""
    state = record.state
    sensitive = flow.sensitive if flow is not None else frozenset()
    summary = {
        "id": notice_id(record),
        "type": "call.ended",
        "sent_at": round(now, 3),
        "call": {
            "reference_id": record.reference_id,
            "telesign_id": record.telesign_id or None,
            "flow": state.flow,
            "version": state.version,
            "direction": record.direction,
            "caller": state.variables.get("caller"),
            "called": state.variables.get("called"),
            "status": record.status,
            "language": language_of(state, flow),
            "ended_at_node": state.node or None,
            "created": record.created,
            "ended": record.updated,
            "variables": {name: MASK if name in sensitive else value for name, value in state.variables.items()},
            "path": [{k: v for k, v in step.items() if k != "at"} for step in steps],
        },
    }
    return json.dumps(summary, ensure_ascii=False).encode()
