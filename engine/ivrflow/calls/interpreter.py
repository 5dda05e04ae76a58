"""The live interpreter: `step(flow, state, event) -> (state, action)`, pure, no I/O.

Telesign v2 answers each call event with exactly one action, so every node that says something
is one `Speak` and the next move happens on the following `SpeakDone` (Telesign's
`speak_completed`). The events and actions (ivrflow/calls/events.py) are Telesign-neutral; the
adapter (ivrflow/telesign/v2.py) turns them into and from Telesign's JSON. A whole call's
transcript is ivrflow/calls/transcripts.py's.

Live defaults equal v1's fixed behaviour (flow-language.md), so that a v1-compilable flow sounds
the same run either way: a prompt gives two chances, a menu one (`attempts`), a repeat three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from ivrflow.calls.branching import at_time, take
from ivrflow.calls.entries import entry_digits, entry_ok
from ivrflow.calls.events import (
    Action,
    CallEnded,
    CallStarted,
    DialDone,
    Event,
    HangUp,
    LegEnded,
    Lookup,
    NoAction,
    Speak,
    Transfer,
)
from ivrflow.calls.lookups import LookupDone, request_for
from ivrflow.calls.transfer import after_leg
from ivrflow.language.branches import Branch
from ivrflow.language.http_node import Http
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.model import (
    CONFIRM_AGAIN,
    CONFIRM_YES,
    DEFAULT_TIMEOUT,
    PROMPT_CHANCES,
    Collect,
    Dial,
    Flow,
    Hangup,
    Menu,
    Message,
    Node,
    Prompt,
    Repeat,
    message_run,
)
from ivrflow.language.texts import fill

# What a caller hears when they call a number no flow serves (the server says it; the simulator
# recognises it when it drives a server).
NOT_IN_SERVICE = "Sorry, this number is not in service. Goodbye."

# What the call is waiting for after the last action.
Waiting = Literal[
    "start",
    "key",
    "digits",
    "confirm",
    "spoken",
    "reprompt",
    "repeat",
    "last-words",
    "transfer",
    "hold",
    "lookup",
    "language-line",
    "language",
    "ended",
]
# The waits at which the caller answers a question (their keys are transcript steps).
ASKING: tuple[Waiting, ...] = ("key", "digits", "confirm", "language")
# What a `dial` without `on_fail` says when the transfer fails, so the call never ends in silence.
TRANSFER_FAILED = "Sorry, we could not put your call through. Please call again later. Goodbye."
# How an ended call ended: the flow ran to its end; the callee of an outbound call never answered;
# the caller hung up mid-flow; the call was put through to the flow's `dial` (and that leg ended);
# nobody answered the transfer; Telesign refused to place the call (set by the calls API). A v1
# call's outcome comes from Telesign's status reports instead, which can also say the line was busy.
Outcome = Literal["", "completed", "no_answer", "caller_hung_up", "transferred", "transfer_failed", "failed", "busy"]


@dataclass(frozen=True, slots=True)
class CallState:
    """Everything the engine remembers about one call between events: small and serialisable."""

    flow: str
    version: str
    node: str = ""
    waiting: Waiting = "start"
    tries: int = 0  # failed tries at the current prompt, menu or collect_digits
    repeats: Mapping[str, int] = field(default_factory=dict)  # menu → times repeated
    variables: Mapping[str, str] = field(default_factory=dict)
    outcome: Outcome = ""  # set when the call ends
    entry: str = ""  # a collect_digits entry being read back, not yet confirmed
    language: str = ""  # the language the call is in; "": the flow's first
    line: int = 0  # which line of a select_language is being said

    @property
    def ended(self) -> bool:
        return self.waiting == "ended"


def new_call(flow: Flow, variables: Mapping[str, str] | None = None, language: str = "") -> CallState:
    """A call that has not started yet, in `language` ("": the flow's first). An outbound call
    carries its variables from the moment it is placed, and starts when its `DialDone` reports the
    callee answered."""
    return CallState(flow=flow.id, version=flow.version, variables=dict(variables or {}), language=language)


def step(flow: Flow, state: CallState, event: Event, at: float | None = None) -> tuple[CallState, Action]:
    """The call's next state and the one action that answers `event`, which happened at `at`
    (seconds since the epoch; the clock is an input, for a `branch` that tests a schedule). When
    the call ends, its sensitive values are erased from the state."""
    with at_time(at):
        after, action = _step(flow.speaking(state.language), state, event)
    if after.ended and (after.entry or not flow.sensitive.isdisjoint(after.variables)):
        after = replace(
            after,
            entry="",
            variables={name: value for name, value in after.variables.items() if name not in flow.sensitive},
        )
    return after, action


def _step(flow: Flow, state: CallState, event: Event) -> tuple[CallState, Action]:
    if state.ended:
        return state, NoAction()
    if isinstance(event, CallEnded):
        return _end(state, state.outcome or _OUTCOME_OF_HANGING_UP.get(state.waiting, "caller_hung_up")), NoAction()
    if isinstance(event, CallStarted):
        if state.waiting != "start":
            return state, NoAction()  # a second start changes nothing
        return _start(flow, state, event.variables)
    if isinstance(event, DialDone):
        return _after_dial(flow, state, event.answered)
    if isinstance(event, LookupDone):
        node = flow.nodes.get(state.node)
        if state.waiting != "lookup" or not isinstance(node, Http) or event.node != node.name:
            return state, NoAction()  # a result the call is not waiting for
        if not event.ok:
            return _enter(flow, state, node.on_error)
        return _enter(flow, replace(state, variables={**state.variables, **event.saved}), node.next)
    if isinstance(event, LegEnded):  # the far end hung up: the dial's `next`, or the end of the call
        dial = flow.nodes.get(state.node)
        if state.waiting != "transfer" or not isinstance(dial, Dial):
            return state, NoAction()
        then = after_leg(dial, state.variables, event.number)
        return _enter(flow, state, then) if then else _hang_up(state, "transferred")
    return _after_speak(flow, state, event.digits)


# What a CallEnded means, by what the call was waiting for when it came.
_OUTCOME_OF_HANGING_UP: dict[Waiting, Outcome] = {
    "start": "no_answer",
    "transfer": "transferred",
    "last-words": "completed",
}


def _start(flow: Flow, state: CallState, variables: Mapping[str, str]) -> tuple[CallState, Action]:
    started = replace(state, variables={**flow.vars, **state.variables, **variables})
    return _enter(flow, started, flow.start)


def _after_dial(flow: Flow, state: CallState, answered: bool) -> tuple[CallState, Action]:
    if state.waiting == "start":  # an outbound call: the callee answered, or it never connected
        return _start(flow, state, {}) if answered else _hang_up(state, "no_answer")
    if state.waiting == "transfer" and not answered:  # the transfer failed: on_fail, or words and the end
        dial = flow.nodes.get(state.node)
        if isinstance(dial, Dial) and dial.on_fail:
            return _enter(flow, state, dial.on_fail)
        return _speak(flow, state, TRANSFER_FAILED, waiting="last-words", outcome="transfer_failed")
    return state, NoAction()  # a transfer that connected, or a dial result the call is not waiting for


def _say(state: CallState, text: str) -> str:
    return fill(text, state.variables)


def _speak(
    flow: Flow,
    state: CallState,
    text: str,
    *,
    waiting: Waiting,
    ask: Prompt | Menu | Collect | None = None,
    **changes: object,
) -> tuple[CallState, Action]:
    """Say `text`; when `ask` names the prompt, menu or collect_digits, collect its keys: one, or
    a collect_digits entry (but one for its read-back)."""
    after = replace(state, waiting=waiting, **changes)  # type: ignore[arg-type]
    values = state.variables
    if isinstance(ask, Collect) and after.entry:  # the read-back says the entry before it is saved
        values = {**values, ask.save_as: after.entry}
    spoken = fill(text, values)
    shown = fill(text, values, flow.sensitive) if flow.masked(text) else None
    if ask is None:
        return after, Speak(spoken, flow.language, False, shown=shown)
    timeout = ask.timeout if isinstance(ask, Menu) else DEFAULT_TIMEOUT
    if isinstance(ask, Collect) and waiting == "digits":
        return after, Speak(spoken, flow.language, True, timeout, most=ask.most_keys, end_key=ask.end_key, shown=shown)
    return after, Speak(spoken, flow.language, True, timeout, shown=shown)


def _end(state: CallState, outcome: Outcome) -> CallState:
    return replace(state, waiting="ended", outcome=outcome)


def _hang_up(state: CallState, outcome: Outcome = "completed") -> tuple[CallState, Action]:
    return _end(state, outcome), HangUp()


def _enter(flow: Flow, state: CallState, name: str | None) -> tuple[CallState, Action]:
    """Arrive at node `name` (None: the call ends) and say or do what it says."""
    if name is None:
        return _hang_up(state)
    node: Node = flow.nodes[name]
    if isinstance(node, Branch):  # says nothing: on at once to the node it chooses
        return _enter(flow, state, take(flow, node, state.variables))
    if isinstance(node, (Prompt, Menu)):
        return _speak(flow, state, node.message, ask=node, waiting="key", node=name, tries=0)
    if isinstance(node, Collect):
        return _speak(flow, state, node.message, ask=node, waiting="digits", node=name, tries=0, entry="")
    if isinstance(node, Message):
        return _speak_run(flow, state, node)
    if isinstance(node, Hangup):
        if node.message:
            return _speak(flow, state, node.message, waiting="last-words", node=name)
        return _hang_up(replace(state, node=name))
    if isinstance(node, Dial):
        caller_id = node.caller_id or flow.caller_id or "{{ caller }}"
        action = Transfer(
            _say(state, node.to), _say(state, caller_id).lstrip("+"), node.max_call_duration, node.send_dtmf
        )
        return replace(state, node=name, waiting="transfer"), action
    if isinstance(node, Http):
        request = request_for(node, state.variables)
        if node.hold:  # say it now; the result is asked for when it has been said
            held, hold = _speak(flow, replace(state, node=name), node.hold, waiting="hold")
            return held, Lookup(request, hold if isinstance(hold, Speak) else None)
        return replace(state, node=name, waiting="lookup"), Lookup(request)
    if isinstance(node, LanguageMenu):
        return _say_line(flow, replace(state, node=name, tries=0), node, 0)
    raise AssertionError(f"a repeat node is entered from its menu, not as {name!r}")  # repeat-outside-menu


def _speak_run(flow: Flow, state: CallState, first: Message) -> tuple[CallState, Action]:
    """A straight run of messages is one spoken text, last words included when the run ends the
    call; the next event moves on from the run's last node."""
    run = message_run(flow, first.name)
    assert run.last is not None  # the run starts at a message
    waiting: Waiting = "spoken" if run.leads_to is not None else "last-words"
    return _speak(flow, state, " ".join(run.texts), waiting=waiting, node=run.last.name)


def _after_speak(flow: Flow, state: CallState, keys: str) -> tuple[CallState, Action]:
    key = keys[:1]  # a prompt or a menu takes one key
    if state.waiting == "start":
        return state, NoAction()  # an outbound call that has not been answered has said nothing yet
    node = flow.nodes.get(state.node)
    if state.waiting == "spoken" and isinstance(node, Message):
        return _enter(flow, state, node.next)
    if state.waiting == "hold" and isinstance(node, Http):  # the hold words are said: the result, now
        return replace(state, waiting="lookup"), Lookup(request_for(node, state.variables))
    if state.waiting == "last-words" or node is None:
        return _hang_up(state, state.outcome or "completed")
    if state.waiting == "language-line" and isinstance(node, LanguageMenu):
        return _say_line(flow, state, node, state.line + 1)
    if state.waiting == "language" and isinstance(node, LanguageMenu):
        return _choose_language(flow, state, node, key)
    if state.waiting in ("reprompt", "repeat") and isinstance(node, Menu):
        return _speak(flow, state, node.message, ask=node, waiting="key")
    if isinstance(node, Collect):
        if state.waiting == "reprompt":
            return _speak(flow, state, node.message, ask=node, waiting="digits")
        if state.waiting == "digits":
            return _entered(flow, state, node, keys)
        if state.waiting == "confirm":
            return _confirmed(flow, state, node, key)
    if state.waiting == "key" and isinstance(node, Prompt):
        if key == node.digit:
            return _enter(flow, state, node.next)
        if state.tries + 1 < PROMPT_CHANCES:
            return _speak(flow, state, node.message, ask=node, waiting="key", tries=state.tries + 1)
        return _enter(flow, state, node.on_fail)
    if state.waiting == "key" and isinstance(node, Menu):
        return _choose(flow, state, node, key)
    return state, NoAction()  # an event the call is not waiting for (a late or repeated delivery)


def _choose(flow: Flow, state: CallState, menu: Menu, key: str) -> tuple[CallState, Action]:
    target = menu.choices.get(key) if key else None
    if target is not None:
        chosen = flow.nodes[target]
        if not isinstance(chosen, Repeat):
            return _enter(flow, state, target)
        done = state.repeats.get(menu.name, 0)
        if done >= chosen.max:
            return _hang_up(state)
        repeats = {**state.repeats, menu.name: done + 1}
        if chosen.message:
            return _speak(flow, state, chosen.message, waiting="repeat", repeats=repeats)
        return _speak(flow, state, menu.message, ask=menu, waiting="key", repeats=repeats)
    tries = state.tries + 1
    if tries >= menu.attempts:
        return _enter(flow, replace(state, tries=tries), menu.on_fail)
    sorry = menu.invalid if key else menu.no_input
    if sorry:
        return _speak(flow, state, sorry, waiting="reprompt", tries=tries)
    return _speak(flow, state, menu.message, ask=menu, waiting="key", tries=tries)


def _entered(flow: Flow, state: CallState, node: Collect, collected: str) -> tuple[CallState, Action]:
    digits = entry_digits(collected, node.end_key)
    if not digits or not entry_ok(node, digits):
        return _retry(flow, state, node, node.no_input if not collected else node.invalid)
    if node.confirm:
        return _speak(flow, state, node.confirm, ask=node, waiting="confirm", entry=digits)
    return _saved(flow, state, node, digits)


def _confirmed(flow: Flow, state: CallState, node: Collect, key: str) -> tuple[CallState, Action]:
    """The read-back: 1 keeps the entry, 2 asks for it again, anything else (silence included)
    reads it back again; each but 1 uses one of the node's attempts."""
    if key == CONFIRM_YES:
        return _saved(flow, state, node, state.entry)
    tries = state.tries + 1
    if tries >= node.attempts:
        return _enter(flow, replace(state, tries=tries, entry=""), node.on_fail)
    if key == CONFIRM_AGAIN:
        return _speak(flow, state, node.message, ask=node, waiting="digits", tries=tries, entry="")
    assert node.confirm is not None  # the call waits at a read-back only when there is one
    return _speak(flow, state, node.confirm, ask=node, waiting="confirm", tries=tries)


def _saved(flow: Flow, state: CallState, node: Collect, digits: str) -> tuple[CallState, Action]:
    return _enter(flow, replace(state, variables={**state.variables, node.save_as: digits}, entry=""), node.next)


def _retry(flow: Flow, state: CallState, node: Collect, sorry: str | None) -> tuple[CallState, Action]:
    tries = state.tries + 1
    if tries >= node.attempts:
        return _enter(flow, replace(state, tries=tries, entry=""), node.on_fail)
    if sorry:
        return _speak(flow, state, sorry, waiting="reprompt", tries=tries)
    return _speak(flow, state, node.message, ask=node, waiting="digits", tries=tries)


def _say_line(flow: Flow, state: CallState, menu: LanguageMenu, index: int) -> tuple[CallState, Action]:
    """Line `index` of a select_language, in its own language. Telesign speaks one language per
    action, so each line is an action of its own; only the last waits for the key (whether a key
    pressed during an earlier line is kept is unconfirmed: item 26 of ivrflow/telesign's list)."""
    language, text = list(menu.lines.items())[index]
    last = index == len(menu.lines) - 1
    after = replace(state, waiting="language" if last else "language-line", line=index)
    shown = fill(text, state.variables, flow.sensitive) if flow.masked(text) else None
    return after, Speak(fill(text, state.variables), language, last, menu.timeout if last else None, shown=shown)


def _choose_language(flow: Flow, state: CallState, menu: LanguageMenu, key: str) -> tuple[CallState, Action]:
    """A key that chooses a language: the rest of the call in it. No key or another one: the lines
    again, as many times as `attempts`; then on in the language the call is in."""
    language = menu.choices.get(key) if key else None
    if language is not None:
        return _enter(flow.speaking(language), replace(state, language=language, line=0), menu.next)
    tries = state.tries + 1
    if tries < menu.attempts:
        return _say_line(flow, replace(state, tries=tries), menu, 0)
    return _enter(flow, replace(state, tries=tries, line=0), menu.next)
