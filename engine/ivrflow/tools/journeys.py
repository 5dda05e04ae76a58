"""Every path a caller can take through a flow, as a file a reviewer can read.

`walk_all(flow)` runs the live interpreter down every branch: at each question every answer, and
one kind of detour per visit (a wrong key, no key, or the repeat key) as often as the question
allows; the flow's own limits (attempts, repeats, prompt chances) end those branches, and a branch
that comes back to a question it had left (a loop through `next`) ends there. A flow in several
languages is walked starting in each (as a call placed in a language, or to a number that has one,
starts), each path listed once. `render` writes the
journeys as stable YAML: the same flow gives the same bytes, so a diff in review shows exactly what
callers will hear differently."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from ivrflow.calls.events import CallStarted, DialDone, Event, Lookup, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import ASKING, CallState, new_call, step
from ivrflow.calls.lookups import LookupDone, Request
from ivrflow.calls.transcripts import Step, heard, transfer_events, walk
from ivrflow.calls.transfer import AGENT_HANGS_UP, NOT_ANSWERED
from ivrflow.language.branches import Branch
from ivrflow.language.clock import ANCHOR, Moment, moments
from ivrflow.language.http_node import Http
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.model import Dial, Flow, Menu, Message, message_run
from ivrflow.tools.answers import journey_answers
from ivrflow.tools.questions import Keys, options
from ivrflow.tools.questions import entry_keys as entry_keys  # where the studio and tests have found it
from ivrflow.tools.questions import sample_entry as sample_entry
from ivrflow.tools.simulate import call_numbers, keys_text

MAX_JOURNEYS = 1000  # a flow with more paths than this is listed up to here, and says so
MAX_STEPS = 500  # steps in one journey
# The time a flow that tests no schedule is walked at (it changes nothing such a flow says): noon UTC
# on the clock's anchor day, so that the journeys file never depends on the day it was made.
FIXED_TIME = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, 12, tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class Journey:
    keys: tuple[str | None, ...]
    steps: tuple[Step, ...]
    ends_at: str  # the node the call ended at ("" if none)
    loops_to: str = ""  # the call came back to this question, which it had left
    transfer_failed: bool = False  # a transfer on this journey was not answered (a dial's on_fail way)
    at: float | None = None  # the time of the call (seconds since the epoch)
    moment: str = ""  # that time and the state of each schedule then, for a flow whose branches test one
    language: str = ""  # the language the call starts in, for a flow in several


@dataclass
class Walked:
    """The journeys of a flow, and what they reached (for coverage)."""

    journeys: list[Journey] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)  # the times walked, for a flow that tests schedules
    nodes: set[str] = field(default_factory=set)
    choices: set[tuple[str, str]] = field(default_factory=set)  # (menu, key) taken
    truncated: bool = False

    def saw(self, flow: Flow, before: CallState, event: Event, after: CallState) -> None:
        """Note what one step reached: the nodes entered, and the menu (or select_language) choice taken."""
        self.nodes.update(reached(flow, before, event, after))
        asked = flow.nodes.get(before.node)
        if not isinstance(event, SpeakDone):
            return
        if before.waiting == "key" and isinstance(asked, Menu) and event.digits in asked.choices:
            self.choices.add((before.node, event.digits))
            self.nodes.add(asked.choices[event.digits])  # a repeat node is never the call's node
        elif before.waiting == "language" and isinstance(asked, LanguageMenu) and event.digits[:1] in asked.choices:
            self.choices.add((before.node, event.digits[:1]))

    def uncovered(self, flow: Flow) -> tuple[list[str], list[tuple[str, str]]]:
        """The nodes, and the (menu, key) choices, that nothing reached."""
        nodes = [name for name in flow.nodes if name not in self.nodes]
        choices = [
            (name, key)
            for name, node in flow.nodes.items()
            if isinstance(node, (Menu, LanguageMenu))
            for key in node.choices
            if (name, key) not in self.choices
        ]
        return nodes, choices


def journeys_path(flow_path: str | Path) -> Path:
    path = Path(flow_path)
    return path.with_name(path.name.removesuffix(path.suffix) + ".journeys.yaml")


def tests_path(flow_path: str | Path) -> Path:
    path = Path(flow_path)
    return path.with_name(path.name.removesuffix(path.suffix) + ".tests.yaml")


def call_variables(flow: Flow) -> dict[str, str]:
    called, caller = call_numbers(flow)
    return {"called": called, "caller": caller}


def reached(flow: Flow, before: CallState, event: Event, after: CallState) -> Iterator[str]:
    """The nodes a step entered: the node the call is at now, and the messages of a run that led
    there (a run of messages is said as one text, and the call only remembers its last node)."""
    if after.node:
        yield after.node
    node = flow.nodes.get(before.node) if before.node else None
    starts = (
        [flow.start] if isinstance(event, CallStarted) else [target for _, target in node.targets()] if node else []
    )
    for start in starts:
        yield from _branches_to(flow, start, after.node, set())
    for start in starts:
        run = message_run(flow, start)
        if run.last is not None and run.last.name == after.node:
            current: str | None = start
            while current is not None and current != after.node:
                yield current
                entered = flow.nodes.get(current)
                current = entered.next if isinstance(entered, Message) else None


def _branches_to(flow: Flow, start: str, landed: str, seen: set[str]) -> list[str]:
    """The branches a call went through from `start` to `landed` (a branch says nothing, so the
    call never rests at one), with the messages that followed the last of them."""
    node = flow.nodes.get(start)
    if not isinstance(node, Branch) or start in seen:
        return []
    seen.add(start)
    for _, target in node.targets():
        run = message_run(flow, target)
        if target == landed or (run.last is not None and run.last.name == landed):
            went: list[str] = []
            current: str | None = target
            while current is not None and current != landed:
                went.append(current)
                entered = flow.nodes.get(current)
                current = entered.next if isinstance(entered, Message) else None
            return [start, *went]
        deeper = _branches_to(flow, target, landed, seen)
        if deeper:
            return [start, *deeper]
    return []


def flow_moments(flow: Flow) -> list[Moment]:
    """The times a flow is walked at: one per combination of states (open, closed, a closed date,
    special hours) of the schedules its branches test; none for a flow that tests no schedule."""
    used = {
        name
        for node in flow.nodes.values()
        if isinstance(node, Branch)
        for case in node.cases
        for name in case.when.schedules()
    }
    return moments({name: each for name, each in flow.schedules.items() if name in used})


def walk_all(flow: Flow) -> Walked:
    """Every journey through `flow` with its default variables, in a stable order (keys in the
    order `options` lists them); for a flow in several languages, starting in each of them; for a
    flow that tests schedules, at each of `flow_moments`; each journey listed the first time it is
    heard (a path through a select_language sounds the same whichever language the call started in)."""
    walked = Walked(moments=flow_moments(flow))
    for language in starts(flow):
        if not walked.moments:
            _walk_at(flow, walked, FIXED_TIME, "", language)
        for moment in walked.moments:
            _walk_at(flow, walked, moment.at, moment.label, language)
    return walked


def starts(flow: Flow) -> tuple[str, ...]:
    """The languages a flow's calls are walked starting in: each of a flow's several, or "" (its one)."""
    return flow.languages if len(flow.languages) > 1 else ("",)


def _heard(journey: Journey) -> str:
    """A journey's keys and steps as one comparable text."""
    return json.dumps([keys_text(journey.keys), journey.steps], ensure_ascii=False)


def _walk_at(flow: Flow, walked: Walked, at: float, label: str, language: str) -> None:
    listed = {_heard(journey) for journey in walked.journeys}  # heard at an earlier moment, or in another language

    def add(journey: Journey) -> None:
        if _heard(journey) not in listed:
            walked.journeys.append(replace(journey, at=at, moment=label, language=language))

    def follow(
        state: CallState,
        event: Event,
        keys: Keys,
        steps: tuple[Step, ...],
        left: frozenset[str],
        kind: str | None,
        failed: bool = False,
    ) -> None:
        """Go on from `event` until the next question, then down each of its options. `left`: the
        questions this journey has asked and moved on from; `kind`: the detour taken at the
        question being asked, if any; `failed`: a transfer on the way was not answered."""
        pending: list[Event] = [event]
        asking = state.node if state.waiting in ASKING else ""
        moved = False  # the call has left the question it was asking
        while pending and len(steps) < MAX_STEPS:
            event = pending.pop(0)
            after, action = step(flow, state, event, at)
            steps += tuple(heard(state, event, action, flow))
            walked.saw(flow, state, event, after)
            state = after
            moved = moved or state.node != asking
            if isinstance(action, Transfer):  # the far end answers, and hangs up first
                dial = flow.nodes.get(state.node)
                if (
                    isinstance(dial, Dial) and dial.on_fail and len(walked.journeys) < MAX_JOURNEYS
                ):  # or nobody answers: its own way, its letter in the keys
                    follow(state, DialDone(False), (*keys, NOT_ANSWERED), steps, left, kind, True)
                pending += transfer_events(AGENT_HANGS_UP, action.to)
            elif isinstance(action, Lookup) and action.hold is None:  # each answer its way: on_error's first
                lookup = flow.nodes[state.node]
                assert isinstance(lookup, Http)
                answered, *others = journey_answers(flow, lookup)
                for other in others:
                    if len(walked.journeys) < MAX_JOURNEYS:
                        follow(state, other, keys, steps, left, kind, failed)
                pending.append(answered)
            elif isinstance(action, Speak) and action.collect:
                if moved and state.node in left | {asking}:
                    add(Journey(keys, steps, state.node, loops_to=state.node, transfer_failed=failed))
                    return
                now_left, now_kind = (left, kind) if not moved else (left | {asking} - {""}, None)
                for pressed, detour in options(flow, state, now_kind):
                    if len(walked.journeys) >= MAX_JOURNEYS:
                        walked.truncated = True
                        return
                    follow(
                        state,
                        SpeakDone("".join(key for key in pressed if key)),
                        (*keys, *pressed),
                        steps,
                        now_left,
                        detour,
                        failed,
                    )
                return
            elif isinstance(action, (Speak, Lookup)):  # said, or the hold words of a lookup said
                pending.append(SpeakDone(""))
        add(Journey(keys, steps, state.node, transfer_failed=failed))

    follow(new_call(flow, language=language), CallStarted(call_variables(flow)), (), (), frozenset(), None)


def trace(
    flow: Flow,
    keys: list[str | None],
    variables: dict[str, str],
    walked: Walked,
    answer: Callable[[Request], LookupDone] | None = None,
    at: float = 0.0,
    language: str = "",
) -> Journey:
    """One call with these keys at `at`, starting in `language` (a hand-written test case), its
    reach noted in `walked`; `answer` gives each lookup's outcome."""
    ended = [""]

    def seen(before: CallState, event: Event, after: CallState) -> None:
        walked.saw(flow, before, event, after)
        ended[0] = after.node

    steps = tuple(
        walk(flow, keys, {**variables, **call_variables(flow)}, seen, answer=answer, at=at, language=language)
    )
    return Journey(tuple(keys), steps, ended[0], at=at, language=language)


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _step_line(each: Step) -> str:
    """One step on one line: `say: "..."`, or with its language first, where it is easy to scan
    in a review, `{language: "es-MX", say: "..."}`."""
    if "language" in each:
        return f"{{language: {_quoted(str(each['language']))}, say: {_quoted(str(each['say']))}}}"
    ((name, value),) = each.items()
    return f"{name}: {_quoted(value) if isinstance(value, str) else 'true'}"


def render(flow: Flow, walked: Walked) -> str:
    """The journeys file's text: stable for the same flow, one journey per block."""
    path = Path(flow.path).as_posix()
    lines = [
        f"# Every path a caller can take through {flow.id}: made by `ivrflow journeys {path}`.",
        "# Do not edit. After changing the flow, run that command again and review the difference;",
        "# `ivrflow test` fails while this file differs from what the flow does.",
        f"flow: {_quoted(flow.id)}",
        f"journeys: {len(walked.journeys)}"
        + (f"  # stopped at {MAX_JOURNEYS}: the flow has more paths" if walked.truncated else ""),
    ]
    if len(flow.languages) > 1:
        lines.append(
            "languages:  # the flow speaks several: it was walked starting in each (a path's `language`), each path listed once"
        )
        lines += [f"- {_quoted(language)}" for language in flow.languages]
    if walked.moments:
        lines.append("times:  # the flow tests schedules: it was walked at each of their states, each path listed once")
        lines += [f"- {_quoted(moment.label)}" for moment in walked.moments]
    lines.append("paths:")
    for journey in walked.journeys:
        lines.append(f"- keys: {_quoted(keys_text(journey.keys))}")
        if journey.language:
            lines.append(f"  language: {_quoted(journey.language)}")
        if journey.moment:
            lines.append(f"  at: {_quoted(journey.moment)}")
        if journey.transfer_failed:
            lines.append('  transfer: "not answered"')
        lines.append(
            f"  loops_back_to: {_quoted(journey.loops_to)}"
            if journey.loops_to
            else f"  ends_at: {_quoted(journey.ends_at)}"
        )
        lines.append("  heard:")
        lines += [f"  - {_step_line(each)}" for each in journey.steps]
    return "\n".join(lines) + "\n"
