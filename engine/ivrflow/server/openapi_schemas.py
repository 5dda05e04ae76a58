"""The JSON Schemas of the server's bodies, for its OpenAPI document (ivrflow/server/openapi.py):
the calls API's requests and answers (as calls_api.py, calls/outcomes.py, v1/outcomes.py write them), its error
shape, the webhook's, and Telesign's own bodies from schemas/ (an event, an action, a v1 status
report). Objects the server writes are closed (`additionalProperties: false`), so that a field
added in code and not here fails the test that checks answers against the document."""

from __future__ import annotations

from typing import Any

from ivrflow.calls.record import STATUSES
from ivrflow.language.schema_files import load_schema
from ivrflow.server.check_report import CANNOT, HELD, NOT_HELD, NOT_SEEN
from ivrflow.server.checks import MAX_BYTES, MAX_EVENTS, MAX_SECONDS
from ivrflow.server.webhook_auth import NONE, SECRET, SIGNATURE

__all__ = ["CHECK_REQUEST", "EMPTY", "STATUSES", "call_request", "schemas"]

Doc = dict[str, Any]

TEXT: Doc = {"type": "string"}
MAYBE_TEXT: Doc = {"type": ["string", "null"]}
COUNT: Doc = {"type": "integer", "minimum": 0}
WHEN: Doc = {"type": "string", "format": "date-time"}
EMPTY: Doc = {"type": "object", "maxProperties": 0}
# A phone number as the calls API takes it: country code first, `+` or not, at most 15 digits
# (surrounding white space is ignored).
NUMBER = r"^\s*\+?[1-9][0-9]{7,14}\s*$"


def closed(required: list[str] | None = None, **properties: Doc) -> Doc:
    """An object with exactly these properties (all required unless `required` says which)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


def telesign(name: str) -> Doc:
    """One of the JSON Schemas under schemas/, as a schema of this document (their draft-07 keywords mean the same in OpenAPI 3.1's JSON Schema)."""
    return {key: value for key, value in load_schema(name).items() if key != "$schema"}


def call_request(flows: list[str]) -> Doc:
    """POST /calls's body; the flows served now are the examples of `flow`."""
    flow: Doc = {"type": "string", "minLength": 1, "description": "The id of a served flow (GET /flows)."}
    if flows:
        flow["examples"] = flows
    return {
        **closed(
            ["flow", "to"],
            flow=flow,
            to={
                "type": "string",
                "pattern": NUMBER,
                "examples": ["+15552010200"],
                "description": "The number to call, country code first.",
            },
            caller_id={
                "type": ["string", "null"],
                "pattern": r"^\s*(\+?[1-9][0-9]{7,14})?\s*$",
                "description": "One of the account's Telesign numbers (empty or null: the flow's caller_id).",
            },
            vars={
                "type": "object",
                "description": "Values of the flow's variables (`called` and `caller` are the call's own numbers).",
                "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "number"}]},
            },
            language={
                "type": ["string", "null"],
                "examples": ["es-MX"],
                "description": "The language the call starts in: one of the flow's `languages` (GET /flows); absent, empty or null: its first.",
            },
        ),
        "examples": [{"flow": flows[0] if flows else "appointment-reminder", "to": "+15552010200"}],
    }


# POST /checks's body (ivrflow/server/checks.py).
CHECK_REQUEST: Doc = {
    **closed(
        ["to", "caller_id"],
        to={
            "type": "string",
            "pattern": NUMBER,
            "examples": ["+15552010200"],
            "description": "The phone to call, country code first: the operator answers it and follows the instructions.",
        },
        caller_id={
            "type": "string",
            "pattern": NUMBER,
            "description": "One of the account's Telesign numbers, to call from (the check flow sets none).",
        },
        transfer_to={
            "type": ["string", "null"],
            "pattern": NUMBER,
            "description": "A second phone: the call ends with a transfer to it after a menu (absent or null: a hang-up).",
        },
    ),
    "examples": [{"to": "+15552010200", "caller_id": "+15554441313"}],
}


SUMMARY: Doc = {
    "reference_id": TEXT,
    "telesign_reference_id": MAYBE_TEXT,
    "direction": {"enum": ["inbound", "outbound"]},
    "flow": MAYBE_TEXT,
    "version": MAYBE_TEXT,
    "status": {"enum": list(STATUSES)},
    "language": {
        "type": ["string", "null"],
        "description": "The language the call is in now (a `select_language` may change it); null: its flow is no longer served.",
    },
    "node": MAYBE_TEXT,
    "to": MAYBE_TEXT,
    "from": MAYBE_TEXT,
    "created": WHEN,
    "updated": WHEN,
    "error": MAYBE_TEXT,
}

STEP: Doc = {
    "type": "object",
    "required": ["at"],
    "description": "A step of the transcript, as the simulator has them: say (in a flow of several languages, with the `language` it was said in), press, no_input, dial (a transfer), hangup, lookup; `at`: when the engine answered the event that led to it.",
    "properties": {
        "at": {"type": ["string", "null"], "format": "date-time"},
        "say": TEXT,
        "language": TEXT,
        "press": TEXT,
        "no_input": {"type": "boolean"},
        "dial": TEXT,
        "hangup": {"type": "boolean"},
        "lookup": TEXT,
    },
}

V1_PART: Doc = closed(
    status={
        "oneOf": [
            closed(["code"], code={"type": "integer"}, description=MAYBE_TEXT, updated_on=MAYBE_TEXT),
            {"type": "null"},
        ]
    },
    user_input=MAYBE_TEXT,
    choice={"oneOf": [closed(key=MAYBE_TEXT, node=TEXT), {"type": "null"}]},
    in_words=TEXT,
    params={"type": "object", "additionalProperties": TEXT},
)

FLOW: Doc = closed(
    id=TEXT,
    version=TEXT,
    description=MAYBE_TEXT,
    file=TEXT,
    numbers={"type": "array", "items": TEXT},
    languages={
        "type": "array",
        "items": TEXT,
        "minItems": 1,
        "description": "The languages the flow speaks, the first its default (a one-language flow: its `language`).",
    },
    number_languages={
        "type": "object",
        "additionalProperties": TEXT,
        "description": "The numbers that name the language their calls start in (`{ number, language }`), as the flow writes them.",
    },
    caller_id=MAYBE_TEXT,
    vars={"type": "object", "additionalProperties": TEXT},
    v1=closed(compiles={"type": "boolean"}, reasons={"type": "array", "items": TEXT}),
    # Each schedule of the flow as it is now: open or not, in words, and when that changes next
    # (local time with its offset; null when it does not within a year).
    schedules={
        "type": "object",
        "additionalProperties": closed(
            timezone=TEXT, open={"type": "boolean"}, state=TEXT, changes_at={"type": ["string", "null"]}
        ),
    },
)

OUTCOMES: Doc = closed(
    flow=TEXT,
    calls=COUNT,
    v1_calls=COUNT,
    live_calls=COUNT,
    answered=COUNT,
    choices={"type": "array", "items": closed(key=TEXT, node=TEXT, calls=COUNT)},
    no_choice=COUNT,
    statuses={"type": "object", "additionalProperties": COUNT},
    menus={
        "type": "array",
        "description": "Per menu and prompt (the flow's in written order, then any counted that it no longer has): how often each key was pressed, no key came, the attempts ran out.",
        "items": closed(
            node=TEXT,
            type=MAYBE_TEXT,
            keys={"type": "array", "items": closed(key=TEXT, node=MAYBE_TEXT, times=COUNT)},
            no_input=COUNT,
            used_up=COUNT,
        ),
    },
    answers={
        "type": "array",
        "description": "Per collect_digits node: entries given, missing, not valid, attempts used up; `values` counts each answer of a survey-like node (few answers, not sensitive), else null.",
        "items": closed(
            node=TEXT,
            save_as=MAYBE_TEXT,
            sensitive={"type": "boolean"},
            entered=COUNT,
            no_input=COUNT,
            invalid=COUNT,
            used_up=COUNT,
            values={"type": ["array", "null"], "items": closed(value=TEXT, times=COUNT)},
        ),
    },
    endings={
        "type": "array",
        "description": "How many calls ended at each node, each way (most first).",
        "items": closed(node=TEXT, outcome=TEXT, calls=COUNT),
    },
)

API_ERROR: Doc = {
    **closed(
        ["ResponseStatus"],
        reference_id={
            "type": "string",
            "description": "The call's, when Telesign did not place it (it is kept, as failed).",
        },
        ResponseStatus=closed(
            ErrorCode={"type": "string", "minLength": 1},
            Message={"type": "string", "minLength": 1},
            Errors={
                "type": "array",
                "description": "One entry per wrong field; on a 401, Telesign's code for the reason (such as -30010) on the header it is about.",
                "items": closed(ErrorCode=TEXT, FieldName=TEXT, Message=TEXT),
            },
        ),
    ),
    "description": "Every error of the calls API. `ErrorCode` and `Message` are the first entry's of `Errors`, when there is one.",
}


PLACED: Doc = {
    "reference_id": TEXT,
    "status": {"enum": list(STATUSES)},
    "flow": TEXT,
    "telesign": closed(reference_id=TEXT, status=TEXT),
}

# One post Telesign made for a check's call, as it arrived (ivrflow/server/checks.py, Checks.observe).
CHECK_EVENT: Doc = closed(
    n={"type": "integer", "minimum": 1},
    at={"type": "number", "description": "Seconds after the check started."},
    path={
        "enum": ["/webhook", "/webhook/<secret>", "/callbacks/v1", "/callbacks/v1/<secret>"],
        "description": "Where it came; a secret in the path is never shown.",
    },
    header_names={"type": "array", "items": TEXT},
    signed={
        **closed(None, **{"authorization": TEXT, "x-ts-authorization": TEXT}),
        "description": "For each of Telesign's two headers: absent, its scheme, and whether the signature holds with the API key (never the values).",
    },
    body={"type": "string", "description": "The exact body."},
    answered=closed(status={"type": "integer"}, body=TEXT, ms={"type": "number", "minimum": 0}),
    same_bytes_as={"type": ["integer", "null"], "description": "The post it repeats byte for byte (a redelivery)."},
)

CHECK: Doc = closed(
    check_id=TEXT,
    started={"type": "number", "description": "When the check started (Unix time)."},
    recording={"type": "boolean", "description": f"Still recording (for {MAX_SECONDS // 60} minutes after the start)."},
    webhook_auth={"enum": [SIGNATURE, SECRET, NONE], "description": "How the server authenticates Telesign's posts."},
    transfer_to=MAYBE_TEXT,
    placing={
        "description": "What POST /checks answered (`http`: its status), `{}` while it is being placed.",
        "oneOf": [
            EMPTY,
            closed(http={"type": "integer"}, **PLACED),
            closed(
                ["http", "ResponseStatus"],
                http={"type": "integer"},
                **API_ERROR["properties"],
            ),
        ],
    },
    telesign_reference_ids={"type": "array", "items": TEXT},
    call={
        "description": "The test call as GET /calls/{reference_id} gives it, without variables; null until it is stored.",
        "oneOf": [
            closed([*SUMMARY, "transcript"], **SUMMARY, transcript={"type": "array", "items": STEP}),
            {"type": "null"},
        ],
    },
    events={"type": "array", "items": CHECK_EVENT, "description": "Each post that named the test call, in order."},
    left_out={
        **COUNT,
        "description": f"Posts not kept: over {MAX_EVENTS} of them, or {MAX_BYTES // 1024} KiB of bodies.",
    },
    verdicts={
        "type": "array",
        "items": closed(
            number={"type": "integer", "minimum": 1},
            assumption=TEXT,
            result={"enum": [HELD, NOT_HELD, NOT_SEEN, CANNOT]},
            evidence=TEXT,
        ),
    },
)


def schemas() -> Doc:
    return {
        "ApiError": API_ERROR,
        "HookError": {
            **closed(error={"type": "string", "minLength": 1}),
            "description": "A refusal of POST /webhook or POST /callbacks/v1 (or their paths with the secret): the reason, in words.",
        },
        "PlacedCall": closed(**PLACED),
        "PlacedCheck": closed(check_id={**TEXT, "description": "The test call's `reference_id` too."}, **PLACED),
        "Check": CHECK,
        "CallSummary": closed(**SUMMARY),
        "Call": closed(
            [*SUMMARY, "variables", "transcript"],
            **SUMMARY,
            variables={"type": "object", "additionalProperties": TEXT},
            transcript={"type": "array", "items": STEP},
            v1=V1_PART,
        ),
        "CallList": closed(calls={"type": "array", "items": {"$ref": "#/components/schemas/CallSummary"}}),
        "Flow": FLOW,
        "FlowList": closed(flows={"type": "array", "items": {"$ref": "#/components/schemas/Flow"}}),
        "Outcomes": OUTCOMES,
        "Health": closed(flows=COUNT, store={"enum": ["ok", "down"]}),
        "V2Event": telesign("v2-event"),
        "V2Action": telesign("v2-action"),
        "V1Status": telesign("v1-status"),
    }
