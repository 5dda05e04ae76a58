"""Which way a `branch` sends a call: its `when` tests judged on the call's variables and the time.

The time is an input like the variables (seconds since the epoch: the moment the event arrived on
a live call, the moment chosen in a simulation or a flow test), so judging stays pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from ivrflow.errors import NoTime
from ivrflow.language.branches import Branch, When
from ivrflow.language.clock import is_open
from ivrflow.language.model import Flow


def number(text: str) -> float | None:
    """A value read as a number (`between`), or None when it is not one: `007` is 7, `7a` is none."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def holds(flow: Flow, when: When, variables: Mapping[str, str], at: float | None) -> bool:
    """Whether every test of `when` holds. A variable with no value reads as empty text."""
    if when.var is not None:
        value = variables.get(when.var, "")
        if when.equals is not None and value != when.equals:
            return False
        if when.within is not None and value not in when.within:
            return False
        if when.between is not None:
            read = number(value)
            if read is None or not when.between[0] <= read <= when.between[1]:
                return False
        if when.empty is not None and (value == "") != when.empty:
            return False
    for name, wanted in ((when.open, True), (when.closed, False)):
        if name is not None:
            if at is None:
                raise NoTime(f"the schedule {name!r} was tested without the time of the call")
            if is_open(flow.schedules[name], at) != wanted:
                return False
    return when.language is None or when.language == flow.language


def choose(flow: Flow, branch: Branch, variables: Mapping[str, str], at: float | None) -> str:
    """The node the branch sends the call to: the first case that holds, else `otherwise`."""
    for case in branch.cases:
        if holds(flow, case.when, variables, at):
            return case.go
    return branch.otherwise


# The time of the event being applied, set by `step()` for that step only (`at_time`), so that a
# branch deep inside the interpreter reads it without every function passing it on.
_EVENT_TIME: ContextVar[float | None] = ContextVar("event_time", default=None)


@contextmanager
def at_time(at: float | None) -> Iterator[None]:
    token = _EVENT_TIME.set(at)
    try:
        yield
    finally:
        _EVENT_TIME.reset(token)


def take(flow: Flow, branch: Branch, variables: Mapping[str, str]) -> str:
    """`choose` at the time of the event being applied."""
    return choose(flow, branch, variables, _EVENT_TIME.get())
