"""Changes to a placed call's record, for `Store.update`: what Telesign answered to placing it."""

from __future__ import annotations

from dataclasses import replace

from ivrflow.calls.record import CallRecord
from ivrflow.calls.transcripts import Step


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
