"""Hear a flow without placing a phone call, three ways that must agree:

- live: the interpreter, in process (what `ivrflow serve` would answer);
- v1: the flow compiled to Telesign's v1 fields, through the v1 behaviour model;
- over HTTP: a running `ivrflow serve` driven by the carrier (ivrflow/tools/carrier.py), which posts v2
  events shaped and signed as Telesign's.

Every way gives the same steps: `{"say"}`, `{"press"}`, `{"no_input"}`, `{"dial"}`, `{"hangup"}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace

from ivrflow.calls.events import Event
from ivrflow.calls.interpreter import NOT_IN_SERVICE, CallState
from ivrflow.calls.lookups import LookupDone, Request
from ivrflow.calls.transcripts import MAX_STEPS, Step, shown_language, walk
from ivrflow.calls.transfer import TRANSFER_MARKS
from ivrflow.errors import EndlessCall, ServerProblem
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
    """`9_1` → press 9, let one question time out, press 1; `2a5` → press 2, be put through, the
    far end hangs up first, press 5 (ivrflow/calls/transfer.py). ValueError names a wrong character."""
    wrong = sorted({c for c in text if not (c.isdigit() or c in "*#" or c == NO_KEY or c in TRANSFER_MARKS)})
    if wrong:
        raise ValueError(
            f"keys are digits 0-9, * and #, {NO_KEY} for no key, and at a transfer a (the far end hangs up first), n (nobody answers) or c (the caller hangs up); not {''.join(wrong)!r}"
        )
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
    """The flow's texts said in another voice: what the studio's phone does with its language
    until it starts a call in one of the flow's languages (`live(..., language=)`) as the
    commands do; remove it then."""
    return replace(flow, language=language) if language else flow


def live(
    flow: Flow,
    keys: Iterable[str | None],
    variables: Mapping[str, str] | None = None,
    answer: Callable[[Request], LookupDone] | None = None,
    at: float | None = None,
    language: str = "",
) -> Iterator[Step]:
    """The call as the live interpreter runs it, at `at` (seconds since the epoch), starting in
    `language` ("": the flow's first); `answer` gives each lookup's outcome."""
    called, caller = call_numbers(flow)
    track = _Track(list(flow.nodes))
    variables = {**(variables or {}), "called": called, "caller": caller}
    return _ended(walk(flow, keys, variables, track, answer=answer, at=at, language=language), track)


class _Track:
    """Follows a walk: the nodes it was at, and whether the call ended."""

    def __init__(self, order: list[str]) -> None:
        self.order = {name: index for index, name in enumerate(order)}
        self.nodes: list[str] = []
        self.ended = False

    def __call__(self, before: CallState, event: Event, after: CallState) -> None:
        self.ended = after.ended
        if after.node and (not self.nodes or self.nodes[-1] != after.node):
            self.nodes.append(after.node)
            del self.nodes[:-200]  # enough to see the circle it goes round

    def circle(self) -> str:
        """The nodes the call went round last, from the one written first: `menu` → `sorry` → `menu`."""
        last = self.nodes[-1] if self.nodes else ""
        before = (
            len(self.nodes) - 1 - self.nodes[-2::-1].index(last) if last in self.nodes[:-1] else len(self.nodes) - 1
        )
        circle = self.nodes[before:] or [last]
        first = min(range(len(circle)), key=lambda i: self.order.get(circle[i], 0))
        circle = circle[first:] + circle[:first]
        return " → ".join(f"`{name}`" for name in [*circle, circle[0]])


def _ended(steps: Iterator[Step], track: _Track) -> Iterator[Step]:
    """The steps, then EndlessCall if the interpreter stopped at its limit with the call still on."""
    yield from steps
    if not track.ended:
        raise EndlessCall(
            f"stopped after {MAX_STEPS:,} steps: the call never ended; it was going round {track.circle()}. "
            "A caller who does this would stay on the line until they hang up: give that circle a way out (a menu without `on_fail` ends the call when its tries are used up)"
        )


def v1_fields(
    flow: Flow, variables: Mapping[str, str] | None = None, at: float | None = None
) -> dict[str, str] | list[Diagnostic]:
    """The v1 fields of a simulated call with `flow` sent at `at`, or the reasons the flow does not
    fit v1; sensitive values in them are masked, as in every transcript."""
    called, _ = call_numbers(flow)
    params, reasons = compile_v1(flow, CallOptions(to=called, variables=dict(variables or {}), masked=True, at=at))
    return reasons if params is None else params


def v1(
    flow: Flow,
    keys: Iterable[str | None],
    variables: Mapping[str, str] | None = None,
    at: float | None = None,
    language: str = "",
) -> Iterator[Step] | list[Diagnostic]:
    """The call as Telesign plays the v1 fields compiled in `language` ("": the flow's first; a v1
    call has one voice), or the reasons the flow does not fit v1."""
    spoken = flow.speaking(language)
    fields = v1_fields(spoken, variables, at)
    pressed = (key for key in keys if key not in TRANSFER_MARKS)  # a v1 call has no transfer
    return fields if isinstance(fields, list) else play(fields, pressed, shown_language(spoken, spoken.language))


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
    if call.heard[:1] == [{"say": NOT_IN_SERVICE}]:
        raise ServerProblem(
            f'the server at {server} does not serve the number {called}, so it answered "not in service": '
            f"put {flow.path} in the folder it serves (--flows) and check that it loaded (GET /flows lists the flows and their numbers)"
        )
    return call.heard
