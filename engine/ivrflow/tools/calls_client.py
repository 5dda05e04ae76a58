"""A client of a running server's calls API: ask it (POST /calls) to place an outbound call, as
`ivrflow call` does, or any other request of the API (`ivrflow check-telesign`), signed the way
Telesign's own API is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from ivrflow.errors import ApiError, FieldError, ServerProblem
from ivrflow.telesign.auth import Credentials, basic_authorization, clock_offset, hmac_headers
from ivrflow.telesign.facts import Header

# Telesign may take its retries before it answers the server: wait longer than they do.
TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Started:
    """The server's answer to a call it placed: its id for the call, the call's status, and
    Telesign's reference id."""

    reference_id: str
    status: str
    telesign_reference_id: str


def start_call(
    server: str,
    flow: str,
    to: str,
    variables: dict[str, str],
    *,
    caller_id: str | None,
    credentials: Credentials | None,
    auth: str = "hmac",
    language: str | None = None,
) -> Started:
    """Ask the server at `server` to call `to` with `flow` (starting in `language`, one of the
    flow's; None: its first). Requests are signed with `credentials`
    (Telesign's TSA HMAC scheme, or Basic with `auth="basic"`) when there are any. Raises ApiError,
    as the server answered it, when the server or Telesign refused the call; ServerProblem when
    the server could not be reached or did not answer in the API's shape."""
    request: dict[str, object] = {"flow": flow, "to": to, "vars": variables}
    if caller_id:
        request["caller_id"] = caller_id
    if language:
        request["language"] = language
    answer = api_request(server, "POST", "/calls", request, credentials=credentials, auth=auth, expect=201)
    return Started(answer["reference_id"], answer["status"], answer["telesign"]["reference_id"])


def api_request(
    server: str,
    method: str,
    path: str,
    request: dict[str, object] | None,
    *,
    credentials: Credentials | None,
    auth: str = "hmac",
    expect: int = 200,
) -> dict[str, Any]:
    """One request to the server's API, signed as `start_call` says: its JSON answer when its
    status is `expect`; else ApiError as the server answered it, or ServerProblem."""
    body = json.dumps(request) if request is not None else ""
    headers = {"Content-Type": "application/json"} if request is not None else {}
    if credentials is not None and auth == "hmac":
        headers = hmac_headers(
            credentials.customer_id,
            credentials.api_key,
            method,
            path,
            body,
            content_type="application/json" if request is not None else "",
        )
    elif credentials is not None:
        headers[Header.AUTHORIZATION] = basic_authorization(credentials.customer_id, credentials.api_key)
    url = server.rstrip("/") + path
    try:
        response = httpx.request(method, url, content=body.encode() or None, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise ServerProblem(f"could not reach the server at {url}: {error}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == expect and isinstance(answer, dict):
        return answer
    status = answer.get("ResponseStatus") if isinstance(answer, dict) else None
    if not isinstance(status, dict) or not isinstance(answer, dict):
        raise ServerProblem(f"the server answered HTTP {response.status_code}: {response.text[:500]}")
    errors = [
        FieldError(field["FieldName"], field.get("ErrorCode", ""), field["Message"])
        for field in status.get("Errors", [])
    ]
    extra = {"reference_id": answer["reference_id"]} if answer.get("reference_id") else {}
    raise ApiError(
        response.status_code,
        status["ErrorCode"],
        status["Message"],
        errors,
        extra=extra,
        clock_offset=clock_offset(response.headers.get("date")),
    )
