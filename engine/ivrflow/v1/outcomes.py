"""A v1 call after it is placed: what its Telesign status means (the key pressed mapped back to
the flow's choice, and the call said in words), Telesign's status reports applied to it, and the
outcomes of a flow's calls. What is kept of a v1 call is `V1Call`, in `ivrflow.calls.record`.

Telesign reports a v1 call twice over: the answer to GET /v1/voice/{reference_id} (`ivrflow
status`, `ivrflow send --wait`) and the callback to `callback_url` (POST /callbacks/v1). Both go
through `apply_report`, which orders them by Telesign's `updated_on`, never lets a final status go
back to one that is not, and ignores a report it has already applied, so that repeated, late and
crossing reports all leave the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from ivrflow.calls import tally
from ivrflow.calls.interpreter import Outcome
from ivrflow.calls.record import CallRecord, V1Call
from ivrflow.calls.transcripts import Step
from ivrflow.language.model import Flow
from ivrflow.language.v1plan import plan_v1
from ivrflow.telesign.facts import V1_STATUS_CODES, V1Code
from ivrflow.telesign.v1 import V1Report


def choice(v1: V1Call) -> str:
    """The node the caller chose, or "" (no key, or a key that is not a choice)."""
    return v1.choices.get(v1.user_input or "", "") if v1.code == V1Code.ANSWERED else ""


def in_words(v1: V1Call) -> str:
    """What happened, in plain words: `answered; pressed 1 → confirmed`."""
    if v1.code is None:
        return "no status reported yet"
    said, _ = V1_STATUS_CODES.get(v1.code, (v1.description or f"status {v1.code}", ""))
    if v1.code != V1Code.ANSWERED:
        return said
    key = v1.user_input
    if key is None:
        return "answered; Telesign did not say which key was pressed"
    if not v1.params:  # a call this store did not place: the key cannot be mapped to a flow
        return f"answered; pressed {key}" if key else "answered; no key pressed after the message"
    if not v1.choices and not v1.repeat_digit:
        return "answered; the message was played (the flow asks for no key)"
    chosen = choice(v1)
    if chosen:
        return f"answered; pressed {key} → {chosen}"
    if not key:
        return "answered; no key pressed after the message (no choice)"
    if key == v1.repeat_digit:
        return f"answered; pressed {key} to repeat the message, then chose nothing"
    return f"answered; pressed {key}, which is not a choice (no choice)"


def v1_summary(v1: V1Call) -> dict[str, object]:
    """The call's v1 part as GET /calls/{reference_id} shows it."""
    chosen = choice(v1)
    shown = {"key": v1.user_input, "node": chosen} if chosen else None
    status = (
        {"code": v1.code, "description": v1.description, "updated_on": v1.updated_on or None}
        if v1.code is not None
        else None
    )
    return {
        "status": status,
        "user_input": v1.user_input,
        "choice": shown,
        "in_words": in_words(v1),
        "params": dict(v1.params),
    }


def v1_call(flow: Flow, params: Mapping[str, str]) -> V1Call:
    """The v1 part of a call about to be placed with `params`, compiled from `flow`."""
    plan, _ = plan_v1(flow)
    if plan is None or plan.menu is None:
        return V1Call(dict(params))
    choices = {key: plan.menu.choices[key] for key in plan.choices}
    return V1Call(dict(params), choices, plan.repeat_digit or "", menu=plan.menu.name)


def v1_tally(call: V1Call, status: str) -> tuple[str, ...]:
    """What a v1 call that ended now, in `status`, adds to its flow's outcome counts: the key it
    chose at its menu (Telesign reports the last one), or none (in v1 the call then ends, as a
    live menu with one attempt does), where it ended, and the v1 choice counts of old."""
    chosen, key = choice(call), call.user_input
    names: list[str] = []
    if call.code == V1Code.ANSWERED and call.menu and key is not None:
        names.append(tally.menu(call.menu, f"key:{key}" if key else "no_input"))
        if not chosen:
            names.append(tally.menu(call.menu, "used_up"))
    if status == "completed":
        names.append(f"v1_choice:{key}:{chosen}" if chosen else "v1_no_choice")
        if chosen or call.menu:
            names.append(tally.ending(chosen or call.menu, status))
    return tuple(names)


def _moment(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _older(report: str, kept: str) -> bool:
    first, second = _moment(report), _moment(kept)
    return first is not None and second is not None and first < second


@dataclass(frozen=True, slots=True)
class Reported:
    """What a report did: `recorded`, `duplicate`, `stale` (older than what is kept, or not final
    after a final one), or `unknown` (no v1 call with that reference id); and the status the call
    ended with now, if it ended now."""

    outcome: str
    ended: str = ""


def apply_report(
    record: CallRecord | None, report: V1Report, now: float
) -> tuple[CallRecord | None, list[Step], Reported]:
    """Inside the call's transaction: the record with `report` applied (None: unchanged)."""
    if record is None or record.v1 is None or record.telesign_id not in ("", report.reference_id):
        return None, [], Reported("unknown")
    kept, was_over, final = record.v1, record.state.ended, report.final
    if was_over and not final:
        return None, [], Reported("stale")  # a final status never goes back
    if was_over == bool(final) and _older(report.updated_on, kept.updated_on):
        return None, [], Reported("stale")
    user_input = report.user_input if report.user_input is not None else kept.user_input
    call = replace(
        kept,
        code=report.code,
        description=report.description,
        updated_on=report.updated_on or kept.updated_on,
        user_input=user_input,
    )
    if call == kept and record.telesign_id:
        return None, [], Reported("duplicate")
    state = record.state
    if final:
        state = replace(state, waiting="ended", outcome=cast(Outcome, final), node=choice(call))
    counted = v1_tally(call, final) if final and not was_over else ()
    updated = replace(record, v1=call, state=state, telesign_id=report.reference_id, updated=now, tally=counted)
    return updated, [], Reported("recorded", ended=final if final and not was_over else "")
