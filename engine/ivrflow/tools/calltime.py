"""The time of a simulated or compiled call when none is given: IVRFLOW_AT (the time every command
and server takes as now, for a staging setup or a test suite), or now. The clock is an input of a
call, so that a flow that tests schedules is judged at a time the author can choose."""

from __future__ import annotations

import os
import time

from ivrflow.language.clock import default_zone, parse_at
from ivrflow.language.model import Flow


def call_time(flow: Flow, text: str | None = None, in_zone: str = "") -> float:
    """The moment `text` names, or else IVRFLOW_AT, or now; a time without a zone is read in
    `in_zone`, else in the zone of the flow's schedules. ValueError says what is wrong with the
    time written."""
    text = (text or "").strip() or os.environ.get("IVRFLOW_AT")
    if not text:
        return time.time()
    return parse_at(text, in_zone or default_zone(flow.schedules.values()))
