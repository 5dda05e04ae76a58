"""Requests to Telesign's REST API over httpx: place a v1 call and ask for its status, place a v2
call with a `dial`, each retried as a `Sending` says; Telesign's refusals become TelesignError
with its own codes and words."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from ivrflow.errors import TelesignError
from ivrflow.telesign.auth import Credentials, basic_authorization, clock_offset, hmac_headers
from ivrflow.telesign.facts import DEFAULT_BASE_URL, DIAL_STATUSES, FORM, JSON, V1_VOICE, V2_VOICE, DialStatus, Header


def base_url() -> str:
    return os.environ.get("TELESIGN_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


@dataclass(frozen=True, slots=True)
class V1Answer:
    reference_id: str
    status_code: int | None
    description: str


RETRY_STATUSES = (429, 500, 502, 503, 504)
# TelesignError reasons of the engine's own, beside Telesign's codes (answer_code): no answer in
# time (a POST may or may not have taken effect), and no connection at all.
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Sending:
    """How a request goes to Telesign: its auth scheme (`basic` or `hmac`), the seconds allowed for
    an answer, and how 429 and 5xx answers are retried (`retries` more times, waiting `backoff`
    seconds doubled each time, or the server's Retry-After)."""

    auth: str = "basic"
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[str], None] = lambda code: (
        None
    )  # Telesign's code of each answer retried (answer_code), for metrics


def _request(
    method: str, resource: str, credentials: Credentials, how: Sending, body: str = "", content_type: str = ""
) -> httpx.Response:
    """Send one request to Telesign, retrying as `how` says; the last answer whatever its status."""
    url = base_url() + resource
    for attempt in range(how.retries + 1):
        if how.auth == "hmac":
            headers = hmac_headers(
                credentials.customer_id, credentials.api_key, method, resource, body, content_type=content_type
            )
        else:
            headers = {Header.AUTHORIZATION: basic_authorization(credentials.customer_id, credentials.api_key)}
            if content_type:
                headers[Header.CONTENT_TYPE] = content_type
        try:
            response = httpx.request(method, url, content=body.encode() or None, headers=headers, timeout=how.timeout)
        except httpx.TimeoutException:
            maybe = "; the call may or may not have been placed" if method == "POST" else ""
            raise TelesignError(
                f"Telesign did not answer within {how.timeout:g} s ({url}){maybe}", reason=TIMEOUT
            ) from None
        except httpx.HTTPError as error:
            raise TelesignError(f"could not reach Telesign at {url}: {error}", reason=UNREACHABLE) from None
        if response.status_code in RETRY_STATUSES and attempt < how.retries:
            how.on_retry(answer_code(response))
            how.sleep(_retry_after(response) or how.backoff * 2**attempt)
            continue
        return response
    raise AssertionError("unreachable: the last attempt returns")


def send_v1(params: dict[str, str], credentials: Credentials, how: Sending = Sending()) -> V1Answer:
    """POST the form fields to Telesign's /v1/voice. Anything that is not a success raises
    TelesignError with Telesign's own error code and words."""
    return _answer(_request("POST", V1_VOICE, credentials, how, urlencode(params), FORM))


def v1_status(reference_id: str, credentials: Credentials, how: Sending = Sending()) -> dict[str, Any]:
    """Telesign's status answer for a v1 call (GET /v1/voice/{reference_id}), as its JSON object.
    Anything that is not a success raises TelesignError with Telesign's code and words."""
    if not reference_id or not all(c.isalnum() or c in "-_" for c in reference_id):
        raise TelesignError(
            f"{reference_id!r} is not a Telesign reference id (letters and digits, like 0123456789ABCDEF0123456789ABCDEF)",
            reason="reference_id",
        )
    response = _request("GET", f"{V1_VOICE}/{reference_id}", credentials, how)
    data = _json_object(response)
    if response.is_success and isinstance(data.get("status"), dict):
        return data
    raise _refusal(response, data)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {}


def answer_code(response: httpx.Response) -> str:
    """Telesign's code for an answer: a v2 status string, a v1 error number, else `http_<status>`."""
    data = _json_object(response)
    if isinstance(data.get("status"), str) and data["status"]:
        return str(data["status"])
    errors: list[Any] = data["errors"] if isinstance(data.get("errors"), list) else []
    numbers = [e["code"] for e in errors if isinstance(e, dict) and isinstance(e.get("code"), int)]
    return str(numbers[0]) if numbers else f"http_{response.status_code}"


def _answer(response: httpx.Response) -> V1Answer:
    data = _json_object(response)
    status: dict[str, Any] = data["status"] if isinstance(data.get("status"), dict) else {}
    if response.is_success and data.get("reference_id"):
        return V1Answer(str(data["reference_id"]), status.get("code"), str(status.get("description", "")))
    raise _refusal(response, data)


def _refusal(response: httpx.Response, data: dict[str, Any]) -> TelesignError:
    """The error for a v1 answer that is not a success, with Telesign's own codes and words."""
    status: dict[str, Any] = data["status"] if isinstance(data.get("status"), dict) else {}
    errors = [e for e in data["errors"] if isinstance(e, dict)] if isinstance(data.get("errors"), list) else []
    codes = tuple(e["code"] for e in errors if isinstance(e.get("code"), int))
    said = "; ".join(f"error {e.get('code')}: {e.get('description', '')}" for e in errors) or str(
        status.get("description") or response.reason_phrase
    )
    what = {401: "Telesign did not accept the credentials", 429: "Telesign's rate limit was hit (retries used up)"}.get(
        response.status_code
    )
    if what is None:
        what = "Telesign refused the request" if response.status_code < 500 else "Telesign failed (retries used up)"
    offset = clock_offset(response.headers.get("date"))
    return TelesignError(
        f"{what}: HTTP {response.status_code}, {said}",
        status=response.status_code,
        codes=codes,
        reason=answer_code(response),
        clock_offset=offset,
    )


@dataclass(frozen=True, slots=True)
class DialAnswer:
    reference_id: str  # Telesign's id of the new call
    status: str  # dial_accepted


def send_dial(action: dict[str, Any], credentials: Credentials, how: Sending = Sending()) -> DialAnswer:
    """POST a `dial` action to Telesign's /v2/voice. Anything but 202 `dial_accepted` raises
    TelesignError whose `reason` is Telesign's status string."""
    body = json.dumps(action, ensure_ascii=False)
    response = _request("POST", V2_VOICE, credentials, how, body, JSON)
    data = _json_object(response)
    status = str(data.get("status") or "")
    if response.status_code == 202 and data.get("reference_id"):
        return DialAnswer(str(data["reference_id"]), status or DialStatus.ACCEPTED)
    said = DIAL_STATUSES.get(status)
    if said is None:
        said = (
            f"Telesign failed (HTTP {response.status_code}, retries used up)"
            if response.status_code >= 500
            else f"Telesign answered HTTP {response.status_code} {status or response.reason_phrase}"
        )
    raise TelesignError(
        f"Telesign did not place the call: {said} ({status or 'HTTP ' + str(response.status_code)})",
        status=response.status_code,
        reason=answer_code(response),
    )
