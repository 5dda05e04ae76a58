"""`--at`: the time of a call, for the commands that simulate or compile one (the clock is an input)."""

from __future__ import annotations

import argparse

from ivrflow.errors import UsageError
from ivrflow.language.model import Flow
from ivrflow.tools.calltime import call_time as time_of_call

AT_HELP = (
    'the time of the call, like "2026-12-24 15:00": read in the time zone of the flow\'s schedules '
    '(or with a zone of its own: "2026-12-24 15:00 Europe/London", "2026-12-24T21:00Z"); default: IVRFLOW_AT, else now'
)


def at_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument("--at", metavar="TIME", help=AT_HELP)


def call_time(command: str, text: str | None, flow: Flow) -> float:
    """The moment `--at` names, or else IVRFLOW_AT (the time every command and server takes as now,
    for a staging setup or a test suite), or now."""
    try:
        return time_of_call(flow, text)
    except ValueError as problem:
        raise UsageError(f"ivrflow {command}: --at: {problem}") from None
