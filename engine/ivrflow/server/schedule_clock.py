"""The time a server judges schedules at, and what `GET /flows` says about each schedule.

A branch on a live call is judged at the time its event arrived. `ivrflow serve --at TIME` (or
IVRFLOW_AT in the environment) makes the server judge schedules as if it had been started at TIME,
its clock running on from there: a staging server can show the after-hours path in the middle of
the day. Everything else (duplicate windows, call records) keeps the real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from ivrflow.errors import UsageError
from ivrflow.language.clock import default_zone, next_change, parse_at, status
from ivrflow.language.model import Flow

Clock = Callable[[float], float]  # the real time of an event → the time schedules are judged at


def real_time(now: float) -> float:
    return now


def schedule_clock(text: str | None, flows: Mapping[str, Flow]) -> Clock:
    """The server's schedule clock: the real time, or one that started at `text`. A time without a
    zone is read in the zone of the served flows' schedules (when they all use one)."""
    if not text:
        return real_time
    zone = default_zone([each for flow in flows.values() for each in flow.schedules.values()])
    try:
        offset = parse_at(text, zone) - time.time()
    except ValueError as problem:
        raise UsageError(f"ivrflow serve: --at (or IVRFLOW_AT): {problem}") from None

    def shifted(now: float) -> float:
        return now + offset

    return shifted


def schedule_states(flow: Flow, at: float) -> dict[str, object]:
    """Each schedule of `flow` at `at`: open or not, what state it is in, and when that changes next
    (local time with its offset; null when it never does within a year)."""
    states: dict[str, object] = {}
    for name, schedule in flow.schedules.items():
        now = status(schedule, at)
        change = next_change(schedule, at)
        states[name] = {
            "timezone": schedule.timezone,
            "open": now.open,
            "state": now.words,
            "changes_at": datetime.fromtimestamp(change, schedule.zone).isoformat(timespec="minutes")
            if change is not None
            else None,
        }
    return states
