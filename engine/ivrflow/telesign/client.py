"""Requests to Telesign's REST API over httpx: place a v1 call and ask for its status, place a v2
call with a `dial`, each retried as a `Sending` says (a request that may have placed a call never
is); Telesign's refusals become TelesignError with its own codes and words."""

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
from ivrflow.telesign.facts import (
    DEFAULT_BASE_URL,
    DIAL_STATUSES,
    FORM,
    JSON,
    V1_RATE_LIMITED,
    V1_VOICE,
    V2_VOICE,
    DialStatus,
    Header,
)
from ivrflow.telesign.v1 import status_code


def base_url() -> str:
    return os.environ.get("TELESIGN_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


@dataclass(frozen=True, slots=True)
class V1Answer:
    reference_id: str
    status_code: int | None
    description: str


# What is retried. A GET changes nothing, so any failure of Telesign's (429, 5xx) is asked again.
# A POST places a call: Telesign may have placed it before failing to answer (a 5xx, no answer in
# time, a connection lost after the request went out), and asking again could ring the callee
# twice. So a POST is sent again only when Telesign certainly did not act on it: its documented
# rate-limit refusal (429 with `rate_limit_exceeded`, or v1 error 10019), or a connection that was
# never made (nothing was sent).
RETRY_STATUSES = (429, 500, 502, 503, 504)  # for GET
# TelesignError reasons of the engine's own, beside Telesign's codes (answer_code): no answer in
# time, no connection at all (nothing was sent), and a connection lost after the request was sent.
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
CUT_OFF = "cut_off"
MAY_BE_PLACED = "the call may or may not have been placed, so it was not sent again"


@dataclass(frozen=True, slots=True)
class Sending:
    """How a request goes to Telesign: its auth scheme (`basic` or `hmac`), the seconds allowed for
    an answer, and how failures Telesign certainly did not act on are retried (`retries` more
    times, waiting `backoff` seconds doubled each time, or the server's Retry-After): see
    RETRY_STATUSES for which."""

    auth: str = "basic"
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[str], None] = lambda code: (
        None
    )  # Telesign's code of each answer retried (answer_code), for metrics


def _rate_limited(response: httpx.Response) -> bool:
    """Whether the answer is Telesign's documented refusal for a rate limit, which acted on nothing."""
    return response.status_code == 429 and answer_code(response) in (
        DialStatus.RATE_LIMIT_EXCEEDED,
        str(V1_RATE_LIMITED),
    )


def _request(
    method: str, resource: str, credentials: Credentials, how: Sending, body: str = "", content_type: str = ""
) -> httpx.Response:
    """Send one request to Telesign, retrying what is safe to retry (see RETRY_STATUSES); the last
    answer whatever its status. A POST that may have taken effect without an answer raises
    TelesignError with `in_doubt`."""
    url = base_url() + resource
    post = method == "POST"
    maybe = f"; {MAY_BE_PLACED}" if post else ""
    for attempt in range(how.retries + 1):
        last = attempt == how.retries
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
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # No connection, so not a byte of the request left: Telesign knows nothing of it.
            if not last:
                how.on_retry(UNREACHABLE)
                how.sleep(how.backoff * 2**attempt)
                continue
            nothing = " (nothing was sent: the call was not placed)" if post else ""
            raise TelesignError(
                f"could not reach Telesign at {url}: {error or type(error).__name__}{nothing}", reason=UNREACHABLE
            ) from None
        except httpx.TimeoutException:
            raise TelesignError(
                f"Telesign did not answer within {how.timeout:g} s ({url}){maybe}", reason=TIMEOUT, in_doubt=post
            ) from None
        except httpx.HTTPError as error:
            raise TelesignError(
                f"the connection to Telesign at {url} broke before its answer ({error or type(error).__name__}){maybe}",
                reason=CUT_OFF,
                in_doubt=post,
            ) from None
        retry = _rate_limited(response) if post else response.status_code in RETRY_STATUSES
        if retry and not last:
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
    numbers = [code for e in errors if isinstance(e, dict) and (code := status_code(e.get("code"))) is not None]
    return str(numbers[0]) if numbers else f"http_{response.status_code}"


def _answer(response: httpx.Response) -> V1Answer:
    data = _json_object(response)
    status: dict[str, Any] = data["status"] if isinstance(data.get("status"), dict) else {}
    if response.is_success and data.get("reference_id"):
        return V1Answer(str(data["reference_id"]), status_code(status.get("code")), str(status.get("description", "")))
    raise _refusal(response, data)


def _refusal(response: httpx.Response, data: dict[str, Any]) -> TelesignError:
    """The error for a v1 answer that is not a success, with Telesign's own codes and words."""
    status: dict[str, Any] = data["status"] if isinstance(data.get("status"), dict) else {}
    errors = [e for e in data["errors"] if isinstance(e, dict)] if isinstance(data.get("errors"), list) else []
    codes = tuple(code for e in errors if (code := status_code(e.get("code"))) is not None)
    said = "; ".join(f"error {e.get('code')}: {e.get('description', '')}" for e in errors) or str(
        status.get("description") or response.reason_phrase
    )
    posted = response.request.method == "POST"
    in_doubt = posted and response.status_code >= 500
    what = {
        401: "Telesign did not accept the credentials",
        429: "Telesign's rate limit was hit" + (" (retries used up)" if _rate_limited(response) else ""),
    }.get(response.status_code)
    if what is None:
        what = (
            "Telesign refused the request"
            if response.status_code < 500
            else ("Telesign failed" if posted else "Telesign failed (retries used up)")
        )
    maybe = f"; {MAY_BE_PLACED}" if in_doubt else ""
    reference_id = str(data.get("reference_id") or "")
    offset = clock_offset(response.headers.get("date"))
    return TelesignError(
        f"{what}: HTTP {response.status_code}, {said}{maybe}",
        status=response.status_code,
        codes=codes,
        reason=answer_code(response),
        in_doubt=in_doubt,
        reference_id=reference_id,
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
    if response.status_code >= 500:
        # Telesign may have placed the call before it failed: its events, which carry our
        # external_id, will run it if so; dialing again could ring the callee twice.
        raise TelesignError(
            f"Telesign failed (HTTP {response.status_code}) without saying whether it placed the call: {MAY_BE_PLACED}",
            status=response.status_code,
            reason=answer_code(response),
            in_doubt=True,
            reference_id=str(data.get("reference_id") or ""),
        )
    said = (
        DIAL_STATUSES.get(status) or f"Telesign answered HTTP {response.status_code} {status or response.reason_phrase}"
    )
    raise TelesignError(
        f"Telesign did not place the call: {said} ({status or 'HTTP ' + str(response.status_code)})",
        status=response.status_code,
        reason=answer_code(response),
    )
