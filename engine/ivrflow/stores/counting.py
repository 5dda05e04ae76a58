"""A flow's outcome counts as a store keeps them: what one stored change adds, worked out the same
way by every backend. Besides the counts a change brings (`CallRecord.tally`, from the
interpreter's steps and a v1 call's reports), the store counts what it can see itself: a new call
(`calls`, `v1_calls`) and each call's status as it changes (`status:STATUS`: one less for the old,
one more for the new), so that the counts always say how many calls are in each status now."""

from __future__ import annotations

from ivrflow.calls.record import CallRecord


def added(old: CallRecord | None, new: CallRecord) -> dict[str, int]:
    """What storing `new` over `old` (None: a new call) adds to the counts of `new`'s flow."""
    counts: dict[str, int] = {}
    for name in new.tally:
        counts[name] = counts.get(name, 0) + 1
    if old is None:
        counts["calls"] = 1
        if new.v1 is not None:
            counts["v1_calls"] = 1
        counts["status:" + new.status] = 1
    elif old.status != new.status:
        counts["status:" + old.status] = -1
        counts["status:" + new.status] = 1
    return counts
