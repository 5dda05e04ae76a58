"""Transcripts of calls on the interpreter: what a caller did and heard in each step (`heard`),
and a whole call played from a key script (`walk`, `transcript`). The simulator, journeys, flow
tests and a live call's record all show these steps, so that they can be compared step for step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from ivrflow.calls.entries import take_keys
from ivrflow.calls.events import (
    Action,
    CallEnded,
    CallStarted,
    DialDone,
    Event,
    HangUp,
    LegEnded,
    Lookup,
    Speak,
    SpeakDone,
    Transfer,
)
from ivrflow.calls.interpreter import ASKING, CallState, new_call, step
from ivrflow.calls.lookups import LookupDone, Request, describe
from ivrflow.calls.transfer import CALLER_HANGS_UP, NOT_ANSWERED, Script
from ivrflow.language.model import Collect, Flow
from ivrflow.language.texts import MASK

MAX_STEPS = 10_000  # a transcript longer than this is a flow that never ends; stop there

Step = dict[str, object]


def said(text: str, language: str | None = None) -> Step:
    """A `say` step, with the language it is said in when there is one to show."""
    return {"say": text} if language is None else {"say": text, "language": language}


def shown_language(flow: Flow | None, language: str) -> str | None:
    """The language a say step shows: only in a flow of several languages, so that the transcripts
    of a flow in one language stay as they were (and as v1's, which has one voice, are)."""
    return language if flow is not None and len(flow.languages) > 1 else None


def heard(before: CallState, event: Event, action: Action, flow: Flow | None = None) -> list[Step]:
    """What the caller did and heard in one step, as transcript steps: `{"press": keys}` or
    `{"no_input": True}` when `event` answers a question, then `{"say": text}`, `{"dial": number}`
    or `{"hangup": True}` for `action`. The simulator's transcript and a live call's are both made
    of these, so the two can be compared step for step. In a flow of several languages each say
    step says which (`shown_language`). Sensitive values show as MASK: the keys of a sensitive
    collect_digits entry (`flow` says which), a text that says one."""
    steps: list[Step] = []
    if isinstance(event, LookupDone) and before.waiting == "lookup":
        steps.append({"lookup": describe(event)})
    if isinstance(event, SpeakDone) and before.waiting in ASKING:
        keys = event.digits if before.waiting == "digits" else event.digits[:1]
        if keys and before.waiting == "digits" and flow is not None and _secret_entry(flow, before.node):
            keys = MASK
        steps.append({"press": keys} if keys else {"no_input": True})
    if isinstance(action, Speak):
        steps.append(said(action.seen, shown_language(flow, action.language)))
    elif isinstance(action, Transfer):
        steps.append({"dial": action.to})
    elif isinstance(action, HangUp):
        steps.append({"hangup": True})
    elif isinstance(action, Lookup) and action.hold is not None:
        steps.append(said(action.hold.seen, shown_language(flow, action.hold.language)))
    return steps


def walk(
    flow: Flow,
    keys: Iterable[str | None],
    variables: Mapping[str, str] | None = None,
    on_step: Callable[[CallState, Event, CallState], None] | None = None,
    answer: Callable[[Request], LookupDone] | None = None,
    at: float | None = None,
    language: str = "",
) -> Iterator[Step]:
    """The steps of a call, one at a time, as the caller presses `keys` (None: lets a question
    time out); when the keys run out, the caller presses nothing more. A key is taken from `keys`
    only when a question has been asked, after its steps are given, so that `keys` can be a
    person at a terminal answering what they just heard. `on_step(before, event, after)` sees
    every step (for coverage); `answer(request)` is what each lookup comes to (default: a service
    that cannot be reached). The call takes place at `at` (seconds since the epoch) and starts in
    `language` ("": the flow's first)."""
    presses = Script(keys)
    state = new_call(flow, language=language)
    events: list[Event] = [CallStarted(variables or {})]
    for _ in range(MAX_STEPS):
        if not events:
            return
        event = events.pop(0)
        state_before = state
        state, action = step(flow, state, event, at)
        if on_step is not None:
            on_step(state_before, event, state)
        yield from heard(state_before, event, action, flow)
        if isinstance(action, Speak):
            events.append(SpeakDone(take_keys(presses, action.most, action.end_key) if action.collect else ""))
        elif isinstance(action, Transfer):  # as the script says at a transfer (default: the far end hangs up)
            events += transfer_events(presses.transfer(), action.to)
        elif isinstance(action, Lookup):
            if action.hold is not None:
                events.append(SpeakDone(""))
            else:
                events.append(answer(action.request) if answer else LookupDone(action.request.node, "refused"))


def transfer_events(mark: str, to: str) -> list[Event]:
    """What follows a transfer the way `mark` says: nobody answers; or it connects, and the far
    end (`to`) or the caller hangs up first."""
    if mark == NOT_ANSWERED:
        return [DialDone(False)]
    return [DialDone(True), CallEnded() if mark == CALLER_HANGS_UP else LegEnded(to)]


def _secret_entry(flow: Flow, name: str) -> bool:
    node = flow.nodes.get(name)
    return isinstance(node, Collect) and node.save_as in flow.sensitive


def transcript(
    flow: Flow,
    keys: Iterable[str | None],
    variables: Mapping[str, str] | None = None,
    at: float | None = None,
    language: str = "",
) -> list[Step]:
    """What a caller hears and does when pressing `keys` at `at`, in a call that starts in
    `language` (see `walk`)."""
    return list(walk(flow, keys, variables, at=at, language=language))
