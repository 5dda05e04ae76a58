"""Hear a flow without placing a phone call, three ways that must agree:

- live: the interpreter, in process (what `ivrflow serve` would answer);
- v1: the flow compiled to Telesign's v1 fields, through the v1 behaviour model;
- over HTTP: a running `ivrflow serve` driven by the carrier (ivrflow/tools/carrier.py), which posts v2
  events shaped and signed as Telesign's.

Every way gives the same steps: `{"say"}`, `{"press"}`, `{"no_input"}`, `{"dial"}`, `{"hangup"}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from ivrflow.calls.interpreter import Step, walk
from ivrflow.errors import ServerProblem
from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.model import Flow, digits_only
from ivrflow.stores import DUPLICATE_WINDOW
from ivrflow.tools.carrier import CarriedCall, Carrier, Phone
from ivrflow.v1.compiler import CallOptions, compile_v1
from ivrflow.v1.playback import play

# The numbers a simulated call is between, unless the flow says: `{{ called }}` and `{{ caller }}`.
SAMPLE_CALLED = "15550100200"
SAMPLE_CALLER = "15550000000"
NO_KEY = "_"


def parse_keys(text: str) -> list[str | None]:
    """`9_1` → press 9, let one question time out, press 1. ValueError names a wrong character."""
    wrong = sorted({c for c in text if not (c.isdigit() or c in "*#" or c == NO_KEY)})
    if wrong:
        raise ValueError(f"keys are digits 0-9, * and #, and {NO_KEY} for no key; not {''.join(wrong)!r}")
    return [None if c == NO_KEY else c for c in text]


def keys_text(keys: Iterable[str | None]) -> str:
    return "".join(NO_KEY if key is None else key for key in keys)


def call_numbers(flow: Flow) -> tuple[str, str]:
    """(called, caller) of a simulated call: an incoming call to the flow's first number, or an
    outgoing one from its caller id, with sample numbers where the flow gives none."""
    if flow.numbers:
        return digits_only(flow.numbers[0]), SAMPLE_CALLER
    return SAMPLE_CALLED, digits_only(flow.caller_id) if flow.caller_id else SAMPLE_CALLER


def with_language(flow: Flow, language: str | None) -> Flow:
    return replace(flow, language=language) if language else flow


def live(flow: Flow, keys: Iterable[str | None], variables: Mapping[str, str] | None = None) -> Iterator[Step]:
    """The call as the live interpreter runs it."""
    called, caller = call_numbers(flow)
    return walk(flow, keys, {**(variables or {}), "called": called, "caller": caller})


def v1_fields(flow: Flow, variables: Mapping[str, str] | None = None) -> dict[str, str] | list[Diagnostic]:
    """The v1 fields of a simulated call with `flow`, or the reasons the flow does not fit v1."""
    called, _ = call_numbers(flow)
    params, reasons = compile_v1(flow, CallOptions(to=called, variables=dict(variables or {})))
    return reasons if params is None else params


def v1(
    flow: Flow, keys: Iterable[str | None], variables: Mapping[str, str] | None = None
) -> Iterator[Step] | list[Diagnostic]:
    """The call as Telesign plays the compiled v1 fields, or the reasons the flow does not fit v1."""
    fields = v1_fields(flow, variables)
    return fields if isinstance(fields, list) else play(fields, keys)


def over_http(
    flow: Flow,
    server: str,
    keys: Iterable[str | None],
    *,
    customer_id: str = "",
    api_key: str | None = None,
    gap: float = DUPLICATE_WINDOW + 0.1,
) -> list[Step]:
    """The call as a running `ivrflow serve` at `server` answers it: an incoming call to the flow's
    first number, its events signed with `api_key` when given. Two identical events in a row (a
    caller silent twice) are `gap` seconds apart, beyond the server's duplicate window."""
    if not flow.numbers:
        raise ServerProblem(
            f"flow {flow.id!r} has no `numbers`, so a server starts it only for an outbound call, which needs Telesign; add `numbers:` to try it against a server, or simulate it in process"
        )
    called, caller = call_numbers(flow)
    carrier = Carrier(server.rstrip("/") + "/webhook", customer_id, api_key, {caller: Phone(keys=list(keys))}, gap=gap)
    call = carrier.play(CarriedCall(f"SIM{uuid.uuid4().hex.upper()}", called, caller, direction="inbound"))
    if call.violations:
        raise ServerProblem("; ".join(call.violations))
    return call.heard
