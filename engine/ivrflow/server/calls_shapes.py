"""What the calls API reads and writes, apart from its routes (calls_api.py): POST /calls's body
checked field by field (`parse_call_request`, every wrong field named with how to fix it), and
the shapes of its answers: a call's summary, its steps with their times, its variables as shown
(sensitive ones masked), a served flow as GET /flows lists it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ivrflow.calls.record import CallRecord, language_of
from ivrflow.calls.transcripts import Step
from ivrflow.errors import ApiError, FieldError
from ivrflow.language.diagnostics import no_such_variable, suggestion
from ivrflow.language.model import BUILTIN_VARS, Flow, digits_only
from ivrflow.language.texts import MASK
from ivrflow.language.v1plan import plan_v1
from ivrflow.server.schedule_clock import schedule_states

MAX_VALUE = 500  # characters in one call variable: longer is not something to read to a caller
NUMBER = re.compile(r"\+?[1-9][0-9]{7,14}")  # E.164: country code first, at most 15 digits
CALL_FIELDS = ("flow", "to", "caller_id", "vars", "language")


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timed_step(step: Step) -> dict[str, object]:
    """A stored step as the API shows it: `at` as an ISO date-time."""
    at = step.get("at")
    return {"at": _when(at) if isinstance(at, (int, float)) else None, **{k: v for k, v in step.items() if k != "at"}}


def call_summary(record: CallRecord, flow: Flow | None) -> dict[str, object]:
    """A call as GET /calls lists it; `flow`: its flow, when served (for the language a call that
    never chose one is in: the flow's first)."""
    state = record.state
    return {
        "reference_id": record.reference_id,
        "telesign_reference_id": record.telesign_id or None,
        "direction": record.direction,
        "flow": state.flow or None,
        "version": state.version or None,
        "status": record.status,
        "language": language_of(state, flow),
        "node": state.node or None,
        "to": state.variables.get("called"),
        "from": state.variables.get("caller"),
        "created": _when(record.created),
        "updated": _when(record.updated),
        "error": record.error or None,
    }


@dataclass(frozen=True, slots=True)
class CallRequest:
    flow: Flow
    to: str
    caller_id: str
    variables: dict[str, str]
    language: str = ""  # the language the call starts in ("": the flow's first)


def _number(value: object, name: str, errors: list[FieldError]) -> str:
    if not isinstance(value, str) or not NUMBER.fullmatch(value.strip()):
        errors.append(
            FieldError(
                name,
                "INVALID_PHONENUMBER_FORMAT",
                f"{value!r} is not a phone number: write it with its country code, digits only, like +15551234567",
            )
        )
        return ""
    return digits_only(value.strip())


def request_object(data: object, fields: tuple[str, ...], example: str) -> tuple[dict[str, Any], list[FieldError]]:
    """A request body that must be a JSON object of `fields` (ApiError when it is no object, like
    `example`), and an error for each field it has that is not one of them."""
    if not isinstance(data, dict):
        raise ApiError(400, "PARAMETER_INVALID", f"the body must be a JSON object like {example}")
    unknown = [
        FieldError(name, "PARAMETER_INVALID", f"unknown field; the fields are {', '.join(fields)}")
        for name in data
        if name not in fields
    ]
    return data, unknown


def parse_call_request(data: object, flows: Mapping[str, Flow]) -> CallRequest:
    """The call asked for, or an ApiError naming every field that is wrong and how to fix it."""
    data, errors = request_object(data, CALL_FIELDS, '{"flow": "appointment-reminder", "to": "+15551234567"}')
    flow_id = data.get("flow")
    if not flow_id:
        errors.append(
            FieldError("flow", "PARAMETER_REQUIRED", f"name the flow to run, one of: {', '.join(sorted(flows))}")
        )
    elif not isinstance(flow_id, str) or flow_id not in flows:
        raise ApiError(
            404,
            "FLOW_NOT_FOUND",
            f"no flow {flow_id!r} is served here. {hint_for(str(flow_id), flows)}The flows are: {', '.join(sorted(flows))}",
            [FieldError("flow", "FLOW_NOT_FOUND", "no such flow")],
        )
    flow = flows.get(flow_id) if isinstance(flow_id, str) else None
    to = _number(data["to"], "to", errors) if data.get("to") else ""
    if not data.get("to"):
        errors.append(
            FieldError("to", "PARAMETER_REQUIRED", "give the number to call, with its country code, like +15551234567")
        )
    caller_id = ""
    if data.get("caller_id") not in (None, ""):  # `{}` or `0` is a wrong caller_id, not an absent one
        caller_id = _number(data["caller_id"], "caller_id", errors)
    elif flow is not None and flow.caller_id:
        caller_id = digits_only(flow.caller_id)
    elif flow is not None:
        errors.append(
            FieldError(
                "caller_id",
                "PARAMETER_REQUIRED",
                f"the flow {flow.id!r} sets no caller_id: give the number to call from, one of your Telesign numbers",
            )
        )
    variables = _variables(data.get("vars", {}), flow, {"called": to, "caller": caller_id}, errors)
    language = _language(data.get("language"), flow, errors)
    if errors:
        raise ApiError.of_fields(400, errors)
    assert flow is not None
    return CallRequest(flow, to, caller_id, variables, language)


def _language(given: object, flow: Flow | None, errors: list[FieldError]) -> str:
    """The language the call is to start in: one of the flow's (absent, null or empty: its first)."""
    if given is None or given == "":
        return ""
    if flow is not None and (not isinstance(given, str) or given not in flow.languages):
        languages = ", ".join(flow.languages)
        errors.append(
            FieldError(
                "language",
                "PARAMETER_INVALID",
                f"{given!r} is not a language of the flow {flow.id!r}: give one of its languages, {languages}",
            )
        )
        return ""
    return given if isinstance(given, str) else ""


def hint_for(word: str, choices: Iterable[str]) -> str:
    hint = suggestion(word, choices)
    return hint[:1].upper() + hint[1:]


def _variables(given: object, flow: Flow | None, builtin: dict[str, str], errors: list[FieldError]) -> dict[str, str]:
    if not isinstance(given, dict):
        errors.append(
            FieldError("vars", "PARAMETER_INVALID", 'give the call variables as a JSON object, like {"name": "Ana"}')
        )
        return {}
    variables: dict[str, str] = {}
    for name, value in given.items():
        where = f"vars.{name}"
        if name in BUILTIN_VARS:
            origin = "to" if name == "called" else "caller_id"
            if str(value).lstrip("+") != builtin[name]:
                errors.append(
                    FieldError(
                        where,
                        "CONFLICTING_PARAMETERS",
                        f"`{name}` is the call's own number, set by `{origin}`; leave it out of vars",
                    )
                )
            continue
        if flow is not None and name not in flow.vars:
            errors.append(FieldError(where, "PARAMETER_INVALID", no_such_variable(flow.id, name, flow.vars)))
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            errors.append(FieldError(where, "PARAMETER_INVALID", "a variable's value is text (or a number)"))
        elif len(str(value)) > MAX_VALUE:
            errors.append(FieldError(where, "PARAMETER_TOO_LONG", f"{len(str(value))} characters; at most {MAX_VALUE}"))
        else:
            variables[name] = str(value)
    return {**variables, **builtin}


def shown_variables(record: CallRecord, flow: Flow | None) -> dict[str, str]:
    """A call's variables as the API shows them: sensitive ones as MASK (all but the call's own
    numbers when the flow is no longer served, as nothing then says which are sensitive)."""
    state = record.state
    if flow is None:
        return {name: value if name in BUILTIN_VARS else MASK for name, value in state.variables.items()}
    return {name: MASK if name in flow.sensitive else value for name, value in state.variables.items()}


def flow_summary(flow: Flow, at: float) -> dict[str, object]:
    """A served flow as GET /flows lists it; its schedules as they are at `at`."""
    plan, reasons = plan_v1(flow)
    return {
        "id": flow.id,
        "version": flow.version,
        "description": flow.description or None,
        "file": flow.path,
        "numbers": list(flow.numbers),
        "languages": list(flow.languages),
        "number_languages": dict(flow.number_languages),
        "caller_id": flow.caller_id,
        "vars": {name: MASK if name in flow.sensitive else value for name, value in flow.vars.items()},
        "schedules": schedule_states(flow, at),
        "v1": {
            "compiles": plan is not None,
            "reasons": [
                str(reason.in_file(flow.path))
                for reason in sorted(reasons, key=lambda d: d.sort_key())
                if reason.level == "error"
            ],
        },
    }
