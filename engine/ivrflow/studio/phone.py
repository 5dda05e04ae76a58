"""The studio's phone: a call on the interpreter, driven one answer at a time from the page.

The server keeps nothing between two answers: the page holds the call's state (the interpreter's
`CallState`, small and serialisable) and the flow text the call started with, and sends both back
with each answer. So a call survives the server's restarts and works with `ivrflow serve`'s
several workers. The steps are `heard()` (ivrflow/calls/transcripts.py), the same the simulator and a live
call's transcript show, sensitive values masked.

Each request also says when the call takes place (every `step()` is given that moment, so a
`branch` on a schedule goes the way it would then) and what each `http` node's web service
answers (as `ivrflow simulate --http` does: the node's example, a status, no answer in time, no
connection). A lookup is answered within the request that reaches it, so a call only ever waits
for the caller: a question, or a transfer's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, get_args

from ivrflow.calls.events import CallEnded, CallStarted, DialDone, Event, LegEnded, Lookup, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import ASKING, CallState, Waiting, new_call, step
from ivrflow.calls.lookups import LookupDone, Request
from ivrflow.calls.transcripts import MAX_STEPS, Step, heard
from ivrflow.language.http_node import Http
from ivrflow.language.model import Flow
from ivrflow.telesign.facts import LANGUAGES
from ivrflow.tools.answers import NO_ANSWER, answerer
from ivrflow.tools.simulate import with_language

Answer = Callable[[Request], LookupDone]

ANSWERS = ("keys", "silent", "answered", "not_answered", "hang_up")
MAX_KEYS = 64  # keys in one answer: far more than any entry takes
PHONE_KEYS = set("0123456789*#")


class BadCall(ValueError):
    """What the page sent is not a call this flow can go on with."""


def lookups(flow: Flow, given: object, folder: Path) -> Answer:
    """What each lookup of a call comes to, from the page's choice per http node: `example` (the
    default: its example answer, or each saved value as `[name]`), a status from 100 to 599,
    `timeout` or `refused`. Only answers are chosen, never files: a read-only studio must not
    read a file the page names (and the loader reads an example only from the flow's own folder)."""
    if given is None:
        given = {}
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise BadCall("the web services' answers are an object of texts, by http node")
    for node, chosen in given.items():
        if not isinstance(flow.nodes.get(node), Http):
            raise BadCall(f"{flow.id} has no http node `{node}`")
        if chosen != "example" and chosen not in NO_ANSWER and not (chosen.isdigit() and 100 <= int(chosen) <= 599):
            raise BadCall(f"the answer of `{node}` is example, a status from 100 to 599, timeout or refused")
    return answerer(flow, {node: chosen for node, chosen in given.items() if chosen != "example"}, folder)


def in_language(flow: Flow, language: object) -> tuple[Flow, str]:
    """The flow as the phone plays it, and the language its call starts in ("": the flow's
    first), as the page chose `language` (None or "": none). A flow with several languages starts
    in one of them; a flow in one language may be heard in any of Telesign's voices, as
    `ivrflow simulate --language` plays it."""
    if language is None or language == "":
        return flow, ""
    if len(flow.languages) > 1:
        if language not in flow.languages:
            raise BadCall(f"{language!r} is not a language of {flow.id}: choose one of {', '.join(flow.languages)}")
        return flow, str(language)
    if not isinstance(language, str) or language not in LANGUAGES:
        raise BadCall(f"a language is one of {', '.join(LANGUAGES)}")
    return with_language(flow, language), ""


def start(flow: Flow, variables: Mapping[str, str], at: float, lookup: Answer, language: str = "") -> dict[str, Any]:
    """A call of `flow` in `language` ("": the flow's first) with these variables at `at`, run
    until it asks the caller something or ends; `lookup` answers the lookups it makes."""
    return _run(flow, new_call(flow, language=language), [CallStarted(dict(variables))], at, lookup)


def answer(flow: Flow, state_json: object, kind: str, keys: str, at: float, lookup: Answer) -> dict[str, Any]:
    """The call in `state_json` after the caller's answer at `at`: `keys` pressed, `silent` (lets
    the question time out), a transfer `answered` or `not_answered`, or `hang_up`; `lookup` answers
    the lookups it makes."""
    state = _state(flow, state_json)
    if state.ended:
        raise BadCall("this call has ended: start another")
    if state.waiting not in (*ASKING, "transfer"):  # the phone pauses only where the caller answers
        raise BadCall("the call is not waiting for the caller")
    if kind not in ANSWERS:
        raise BadCall(f"an answer is one of {', '.join(ANSWERS)}")
    if kind == "keys" and (not keys or len(keys) > MAX_KEYS or not set(keys) <= PHONE_KEYS):
        raise BadCall(f"keys are 1 to {MAX_KEYS} of 0-9, * and #")
    events: list[Event]
    if kind == "hang_up":
        events = [CallEnded()]
    elif state.waiting == "transfer":
        if kind not in ("answered", "not_answered"):
            raise BadCall("the call is being put through: say whether the transfer is answered")
        events = [DialDone(True), LegEnded()] if kind == "answered" else [DialDone(False)]
    elif kind in ("answered", "not_answered"):
        raise BadCall("no transfer is waiting for an answer")
    else:
        events = [SpeakDone(keys if kind == "keys" else "")]
    return _run(flow, state, events, at, lookup)


def _run(flow: Flow, state: CallState, events: list[Event], at: float, lookup: Answer) -> dict[str, Any]:
    steps: list[Step] = []
    ask: dict[str, Any] | None = None
    for _ in range(MAX_STEPS):
        if not events:
            break
        event = events.pop(0)
        before = state
        state, action = step(flow, state, event, at)
        steps += heard(before, event, action, flow)
        if isinstance(action, Speak) and action.collect:
            ask = {"kind": state.waiting, "most": action.most, "end_key": action.end_key, "timeout": action.timeout}
            break
        if isinstance(action, Speak):
            events.append(SpeakDone(""))
        elif isinstance(action, Transfer):
            ask = {"kind": "transfer", "to": action.to}
            break
        elif isinstance(action, Lookup):  # its hold words are said, then its answer comes
            events.append(SpeakDone("") if action.hold is not None else lookup(action.request))
    return {
        "steps": steps,
        "state": asdict(state),
        "node": state.node,
        "ask": None if state.ended else ask,
        "ended": state.ended,
        "outcome": state.outcome,
    }


def _state(flow: Flow, data: object) -> CallState:
    """The page's copy of a call's state, checked field by field before the interpreter trusts it."""
    if not isinstance(data, dict):
        raise BadCall("the call's state is an object")
    # A page that started its call before calls had a language holds a state without one: its
    # call goes on in the flow's first language.
    data = {"language": "", "line": 0, **data}
    text = ("flow", "version", "node", "outcome", "entry", "language")
    if set(data) != {*text, "waiting", "tries", "line", "repeats", "variables"}:
        raise BadCall("the call's state has other fields than a call's")
    if not all(isinstance(data[name], str) for name in (*text, "waiting")) or data["waiting"] not in get_args(Waiting):
        raise BadCall("the call's state is not a call's")
    if not all(isinstance(data[name], int) and data[name] >= 0 for name in ("tries", "line")):
        raise BadCall("the call's state is not a call's")
    if not _str_map(data["variables"]) or not _int_map(data["repeats"]):
        raise BadCall("the call's state is not a call's")
    if data["language"] and data["language"] not in flow.languages:
        raise BadCall(f"the call is in a language the flow does not have: {', '.join(flow.languages)}")
    if data["flow"] != flow.id or data["version"] != flow.version:
        raise BadCall("the flow changed since this call started: start another")
    if data["node"] and data["node"] not in flow.nodes:
        raise BadCall("the call is at a node the flow does not have")
    return CallState(**data)


def _str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _int_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, int) for k, v in value.items())
