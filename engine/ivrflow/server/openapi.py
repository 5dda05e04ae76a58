"""GET /openapi.json: the server's HTTP interface described in OpenAPI 3.1, built from one small
piece per route (OPERATIONS), the answer shapes (ivrflow/server/openapi_schemas.py) and the JSON
Schemas of Telesign's bodies under schemas/.

Adding a route to the app means adding its piece here: tests/test_openapi.py holds the app's
route table and this document's operations to the same set, and checks every answer the tests
see against the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ivrflow import __version__
from ivrflow.server import openapi_schemas as shapes
from ivrflow.server.http import MAX_BODY
from ivrflow.telesign.facts import DATE_TOLERANCE

JSON = "application/json"
TEXT = "text/plain"
Doc = dict[str, Any]
# Each route's piece: (method, path) -> the operation, given the ids of the flows served now.
Piece = Callable[[list[str]], Doc]

API: list[Doc] = [{"basic": []}, {"tsa": []}]  # the calls API: either of Telesign's schemes
SIGNED: list[Doc] = [{"telesignSignature": []}, {"telesignSignatureBare": []}]  # what Telesign posts
OPEN: list[Doc] = []  # no credentials: health, metrics and this document hold no caller data

# uvicorn's own answer to a request over --max-connections (ivrflow/server/protocol.py), on any route.
BUSY = "Over the connections a worker serves at once (`--max-connections`): uvicorn's plain-text `Service Unavailable`. Try again."


def ref(name: str) -> Doc:
    return {"$ref": f"#/components/schemas/{name}"}


def answer(
    description: str, schema: Doc | None = None, media: str = JSON, headers: Mapping[str, Doc] | None = None
) -> Doc:
    shown: Doc = {"description": description}
    if schema is not None:
        shown["content"] = {media: {"schema": schema}}
    if headers:
        shown["headers"] = dict(headers)
    return shown


def api_error(description: str, headers: Mapping[str, Doc] | None = None) -> Doc:
    return answer(description, ref("ApiError"), headers=headers)


def hook_error(description: str, headers: Mapping[str, Doc] | None = None) -> Doc:
    return answer(description, ref("HookError"), headers=headers)


def unavailable(description: str, error: str) -> Doc:
    """503: the store did not answer (JSON, in the route's error shape), or the worker is full (plain text)."""
    return {
        "description": f"{description} Or: {BUSY}",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait (1) when the store did not answer.",
                "schema": {"type": "string"},
            }
        },
        "content": {JSON: {"schema": ref(error)}, TEXT: {"schema": {"type": "string"}}},
    }


WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"description": '`Basic realm="ivrflow"`', "required": True, "schema": {"type": "string"}}
}
BUSY_503 = answer(BUSY, {"type": "string"}, TEXT)


def api_operation(
    summary: str,
    description: str,
    answers: Mapping[str, Doc],
    *,
    parameters: Iterable[Doc] = (),
    body: Doc | None = None,
) -> Doc:
    """A calls API operation: its own answers, and those every calls API route can give."""
    operation: Doc = {"tags": ["calls API"], "summary": summary, "description": description, "security": API}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = {
        **answers,
        "400": answers.get(
            "400",
            api_error(
                f"The request is framed two ways (`Content-Length` and `Transfer-Encoding`), or its body is over {MAX_BODY} bytes (`PARAMETER_TOO_LONG`)."
            ),
        ),
        "401": api_error(
            "The request does not carry the account's credentials. `Errors` has one entry: Telesign's code for the reason as `ErrorCode` (-30004 no Authorization, -30005 malformed, "
            "-30006 wrong signature, -30007 no Date, -30008 not HMAC-SHA256, -30009 Date not RFC 822, -30010 Date out of range, -30011 nonce missing or too long, "
            "-30012 nonce used before, -30015 wrong API key, -30000 wrong customer id) and the header it is about as `FieldName`.",
            WWW_AUTHENTICATE,
        ),
        "500": api_error(
            "`INTERNAL_ERROR`: a failure of the server's own (logged)."
            + (
                " `NOT_CONFIGURED`: the server has no Telesign credentials, so it cannot dial."
                if "201" in answers
                else ""
            )
        ),
        "503": unavailable(
            "`STORE_UNAVAILABLE`: the call store did not answer in time; try again."
            + (" `TELESIGN_RATE_LIMITED`: Telesign's rate limit, after the retries." if "201" in answers else ""),
            "ApiError",
        ),
    }
    return operation


def signed_operation(summary: str, description: str, body: Doc, ok: Doc, unknown: str) -> Doc:
    """A post from Telesign (an event, a callback): signed, answered `{"error": ...}` when refused."""
    return {
        "tags": ["Telesign"],
        "summary": summary,
        "description": description,
        "security": SIGNED,
        "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
        "responses": {
            "200": ok,
            "400": hook_error(
                "Not strict JSON, framed two ways, or not what Telesign sends (the reason says which field)."
            ),
            "401": hook_error("Missing or wrong signature, or another account's customer id."),
            "404": hook_error(unknown),
            "413": hook_error(f"The body is over {MAX_BODY} bytes."),
            "415": hook_error("Not `Content-Type: application/json` (no charset, or charset=utf-8)."),
            "500": hook_error("A failure of the server's own (logged)."),
            "503": unavailable("The store did not answer: deliver it again.", "HookError"),
        },
    }


def _flow_parameter(flows: list[str]) -> Doc:
    schema: Doc = {"type": "string", "minLength": 1}
    if flows:
        schema["examples"] = flows
    return {
        "name": "flow",
        "in": "path",
        "required": True,
        "description": "A flow's id (served now, or with calls stored).",
        "schema": schema,
    }


QUERY = [
    {"name": "flow", "in": "query", "description": "Only calls of this flow.", "schema": {"type": "string"}},
    {
        "name": "status",
        "in": "query",
        "description": "Only calls with this status.",
        "schema": {"enum": list(shapes.STATUSES)},
    },
    {
        "name": "limit",
        "in": "query",
        "description": "At most this many calls (1-500, ASCII digits; default 50).",
        "schema": {"type": "string", "pattern": "^[0-9]{1,4}$"},
    },
]
REFERENCE_ID = {
    "name": "reference_id",
    "in": "path",
    "required": True,
    "description": "Our reference id (from POST /calls) or Telesign's.",
    "schema": {"type": "string", "minLength": 1},
}


OPERATIONS: dict[tuple[str, str], Piece] = {
    ("POST", "/calls"): lambda flows: api_operation(
        "Place an outbound call",
        "Stores the call, then sends Telesign's /v2/voice a `dial`. The flow runs when Telesign's events come to POST /webhook.",
        {
            "201": {
                **answer(
                    "Telesign accepted the dial (`dial_accepted`).",
                    ref("PlacedCall"),
                    headers={
                        "Location": {
                            "description": "/calls/{reference_id}",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    },
                ),
                "links": {
                    "GetPlacedCall": {
                        "operationId": "getCall",
                        "parameters": {"reference_id": "$response.body#/reference_id"},
                        "description": "The call just placed.",
                    }
                },
            },
            "400": api_error(
                "A wrong field (every one is named in `Errors`), or a number Telesign says is invalid or a caller id that is not the account's; a body that is not strict JSON in UTF-8."
            ),
            "403": api_error("`FORBIDDEN`: Telesign will not call this number (premium, blocked)."),
            "404": api_error("`FLOW_NOT_FOUND`: no served flow has this id."),
            "502": api_error(
                "`TELESIGN_AUTH_FAILED`, `TELESIGN_ERROR`, `TELESIGN_UNAVAILABLE`: Telesign refused the server's own credentials or request, or failed."
            ),
            "504": api_error("`TELESIGN_TIMEOUT`: Telesign did not answer in time; the call may still run."),
        },
        body={"required": True, "content": {JSON: {"schema": shapes.call_request(flows)}}},
    ),
    ("GET", "/calls"): lambda flows: api_operation(
        "Recent calls",
        "Newest first.",
        {
            "200": answer("The calls.", ref("CallList")),
            "400": api_error("An unknown query parameter, a status that is not one, a limit out of 1-500."),
        },
        parameters=QUERY,
    ),
    ("GET", "/calls/{reference_id}"): lambda flows: {
        **api_operation(
            "One call",
            "With its variables and timed transcript (a v1 call: what Telesign reported).",
            {"200": answer("The call.", ref("Call")), "404": api_error("`CALL_NOT_FOUND`.")},
            parameters=[REFERENCE_ID],
        ),
        "operationId": "getCall",
    },
    ("GET", "/flows"): lambda flows: api_operation(
        "The flows served",
        "Each with its version, numbers, variables and whether it compiles to v1.",
        {"200": answer("The flows.", ref("FlowList"))},
    ),
    ("GET", "/flows/{flow}/outcomes"): lambda flows: api_operation(
        "How a flow's calls went",
        "Every stored call of the flow, as `ivrflow outcomes FLOW --format json`.",
        {
            "200": answer("The summary.", ref("Outcomes")),
            "404": api_error("`FLOW_NOT_FOUND`: neither the flow nor a call of it."),
        },
        parameters=[_flow_parameter(flows)],
    ),
    ("POST", "/webhook"): lambda flows: signed_operation(
        "Telesign's call events",
        "A v2 voice event; the answer is the call's next action.",
        ref("V2Event"),
        answer("The next action, or `{}` when there is none.", {"oneOf": [ref("V2Action"), shapes.EMPTY]}),
        "An event for a call that needs one and there is none with this reference id.",
    ),
    ("POST", "/callbacks/v1"): lambda flows: signed_operation(
        "Telesign's status callbacks for v1 calls",
        "Recorded, or already recorded, or stale: the answer is `{}` all the same.",
        ref("V1Status"),
        answer("`{}`.", shapes.EMPTY),
        "No v1 call with this reference id.",
    ),
    ("GET", "/healthz"): lambda flows: {
        "tags": ["operations"],
        "summary": "Health",
        "security": OPEN,
        "responses": {
            "200": answer("Flows loaded and the store answering.", ref("Health")),
            "503": {
                **answer("No flow loaded, or the store down. " + BUSY),
                "content": {JSON: {"schema": ref("Health")}, TEXT: {"schema": {"type": "string"}}},
            },
        },
    },
    ("GET", "/metrics"): lambda flows: {
        "tags": ["operations"],
        "summary": "Prometheus metrics",
        "security": OPEN,
        "responses": {"200": answer("Prometheus' text format.", {"type": "string"}, TEXT), "503": BUSY_503},
    },
    ("GET", "/openapi.json"): lambda flows: {
        "tags": ["operations"],
        "summary": "This document",
        "security": OPEN,
        "responses": {"200": answer("OpenAPI 3.1.", {"type": "object"}), "503": BUSY_503},
    },
}


SECURITY_SCHEMES: Doc = {
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "Telesign's Basic scheme: `Basic base64(customer id:API key)`, the account's credentials.",
    },
    "tsa": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "Telesign's TSA HMAC-SHA256 signature, as its SDKs sign (`RestClient.generate_telesign_headers`): `Authorization: TSA <customer id>:<signature>`, where the "
            "signature is base64(HMAC-SHA256(base64-decoded API key, text)) and the text is these lines joined by `\\n`: the method; the Content-Type (empty for GET); "
            "the `Date` header (empty when `x-ts-date` is sent instead); `x-ts-auth-method:HMAC-SHA256`; `x-ts-date:<date>` only when that header is sent; "
            "`x-ts-nonce:<nonce>`; the body exactly as sent, only when there is a Content-Type and a body; the path without its query string. "
            f"The date (RFC 822, like `Tue, 24 Nov 2026 09:30:00 GMT`) must be within {DATE_TOLERANCE // 60} minutes of the server's clock; the nonce (1 to 128 characters, "
            "a UUID as a rule) is refused when it is used again."
        ),
    },
    "telesignSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "How Telesign signs what it posts: `Authorization: TSA <customer id>:<signature>`, the signature base64(HMAC-SHA256(base64-decoded API key, the raw body)); the customer id must be the server's account's.",
    },
    "telesignSignatureBare": {
        "type": "apiKey",
        "in": "header",
        "name": "X-TS-Authorization",
        "description": "The same signature of the body, bare, as Telesign also sends it.",
    },
}


def document(flows: Iterable[str] = ()) -> Doc:
    """The OpenAPI document of the server, with the ids of the flows it serves as examples."""
    served = sorted(flows)
    paths: Doc = {}
    for (method, path), piece in OPERATIONS.items():
        paths.setdefault(path, {})[method.lower()] = piece(served)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ivrflow",
            "version": __version__,
            "description": "Phone menus as YAML flows, run live on Telesign voice: Telesign's webhook and callbacks, and the calls API. docs/api.md says the same in words.",
        },
        "tags": [{"name": "calls API"}, {"name": "Telesign"}, {"name": "operations"}],
        "paths": paths,
        "components": {"schemas": shapes.schemas(), "securitySchemes": SECURITY_SCHEMES},
    }
