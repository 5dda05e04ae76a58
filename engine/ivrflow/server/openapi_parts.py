"""The parts the server's OpenAPI document (ivrflow/server/openapi.py) is built of: answers and
error answers, the shapes of a calls API operation and of a post from Telesign, the parameters
several operations share, and the security schemes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivrflow.server import openapi_schemas as shapes
from ivrflow.server.http import MAX_BODY
from ivrflow.server.webhook_auth import MIN_SECRET
from ivrflow.telesign.facts import DATE_TOLERANCE

JSON = "application/json"
TEXT = "text/plain"
Doc = dict[str, Any]

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


def signed_operation(summary: str, description: str, body: Doc, ok: Doc, unknown: str, *, secret: bool = False) -> Doc:
    """A post from Telesign (an event, a callback): signed, answered `{"error": ...}` when refused.
    `secret`: its twin at the path with the secret (`--webhook-auth secret`), which the secret
    authenticates instead of a signature."""
    if secret:
        description += (
            " Only on a server run with `--webhook-auth secret`: Telesign posts to this URL with the value of IVRFLOW_WEBHOOK_SECRET "
            "as its last segment (registered with Telesign), and that secret, compared in constant time, is what authenticates the post; "
            "no signature is checked. Bodies and answers are those of the path without the secret."
        )
    operation: Doc = {
        "tags": ["Telesign"],
        "summary": summary,
        "description": description,
        "security": OPEN if secret else SIGNED,
    }
    if secret:
        operation["parameters"] = [SECRET_PARAMETER]
    not_found = hook_error(unknown)
    if secret:  # on a server in another mode the route does not exist: Starlette's own answer
        not_found["description"] += (
            " Or: the server does not run with `--webhook-auth secret` (plain-text `Not Found`)."
        )
        not_found["content"][TEXT] = {"schema": {"type": "string"}}
    operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    operation["responses"] = {
        "200": ok,
        "400": hook_error(
            "Not strict JSON, framed two ways, or not what Telesign sends (the reason says which field)."
        ),
        "401": hook_error(
            "No secret or a wrong secret in the path (`not authenticated`)."
            if secret
            else "Missing or wrong signature, or another account's customer id. With `--webhook-auth secret`, every post here "
            "(`not authenticated`): Telesign's posts go to the path with the secret."
        ),
        "404": not_found,
        "413": hook_error(f"The body is over {MAX_BODY} bytes."),
        "415": hook_error("Not `Content-Type: application/json` (no charset, or charset=utf-8)."),
        "500": hook_error("A failure of the server's own (logged)."),
        "503": unavailable("The store did not answer: deliver it again.", "HookError"),
    }
    return operation


def flow_parameter(flows: list[str]) -> Doc:
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
SECRET_PARAMETER: Doc = {
    "name": "secret",
    "in": "path",
    "required": True,
    "description": f"The value of IVRFLOW_WEBHOOK_SECRET: at least {MIN_SECRET} letters, digits, `-` and `_`. It authenticates the post.",
    "schema": {"type": "string", "minLength": 1},
}
CHECK_ID: Doc = {
    "name": "check_id",
    "in": "path",
    "required": True,
    "description": "The check's id (from POST /checks).",
    "schema": {"type": "string", "minLength": 1},
}
# How placing a call can fail on Telesign's side, for POST /calls and POST /checks alike.
PLACING: dict[str, Doc] = {
    "400": api_error(
        "A wrong field (every one is named in `Errors`), or a number Telesign says is invalid or a caller id that is not the account's; a body that is not strict JSON in UTF-8."
    ),
    "403": api_error("`FORBIDDEN`: Telesign will not call this number (premium, blocked)."),
    "502": api_error(
        "`TELESIGN_AUTH_FAILED`, `TELESIGN_ERROR`, `TELESIGN_UNAVAILABLE`: Telesign refused the server's own credentials or request, or failed."
    ),
    "504": api_error("`TELESIGN_TIMEOUT`: Telesign did not answer in time; the call may still run."),
}
REFERENCE_ID = {
    "name": "reference_id",
    "in": "path",
    "required": True,
    "description": "Our reference id (from POST /calls) or Telesign's.",
    "schema": {"type": "string", "minLength": 1},
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


def created(description: str, schema: str, collection: str, key: str, read: str, link: tuple[str, str]) -> Doc:
    """A 201 that made a resource: its `schema`, a Location header `{collection}/{{key}}`, and the link
    to the operation `read` that reads it back by the answer's `key` (Schemathesis follows it): `link`
    is its name and what it says."""
    location = {"description": f"{collection}/{{{key}}}", "required": True, "schema": {"type": "string"}}
    name, says = link
    follow = {"operationId": read, "parameters": {key: f"$response.body#/{key}"}, "description": says}
    return {**answer(description, ref(schema), headers={"Location": location}), "links": {name: follow}}
