"""Telesign's wire facts in one place: endpoints, Basic and TSA HMAC auth, the v1 request and
its errors, callback signatures, and v2 events and actions.

Where Telesign's documentation turns out to differ from what is written here, this module is
the one to change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import httpx
from jsonschema.exceptions import best_match

from engine.errors import IvrflowError
from engine.interpreter import Action, HangUp, Speak, Transfer
from engine.model import digits_only
from engine.schema import validator

# The `telesign` SDK's default REST host (self-service accounts); enterprise accounts use
# https://rest-ww.telesign.com. Set TELESIGN_BASE_URL to choose.
DEFAULT_BASE_URL = "https://rest-api.telesign.com"
V1_VOICE = "/v1/voice"


def base_url() -> str:
    return os.environ.get("TELESIGN_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


def basic_authorization(customer_id: str, api_key: str) -> str:
    """`Authorization` for Telesign's Basic scheme."""
    return "Basic " + base64.b64encode(f"{customer_id}:{api_key}".encode()).decode()


def hmac_headers(
    customer_id: str,
    api_key: str,
    method: str,
    resource: str,
    body: str = "",
    *,
    content_type: str | None = None,
    date: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers for Telesign's `TSA` HMAC-SHA256 scheme, byte for byte as the official SDK's
    `RestClient.generate_telesign_headers` makes them. `body` is the exact text sent."""
    date = date or formatdate(usegmt=True)
    nonce = nonce or str(uuid.uuid4())
    if content_type is None:
        content_type = "application/x-www-form-urlencoded" if method in ("POST", "PUT") else ""
    lines = [method, content_type, date, "x-ts-auth-method:HMAC-SHA256", f"x-ts-nonce:{nonce}"]
    if content_type and body:
        lines.append(body)
    lines.append(resource)
    # Telesign's keys are base64; like the SDK, decode leniently (Python drops non-alphabet characters).
    digest = hmac.new(base64.b64decode(api_key), "\n".join(lines).encode("utf-8"), hashlib.sha256).digest()
    return {
        "Authorization": f"TSA {customer_id}:{base64.b64encode(digest).decode()}",
        "Date": date,
        "Content-Type": content_type,
        "x-ts-auth-method": "HMAC-SHA256",
        "x-ts-nonce": nonce,
    }


class TelesignError(IvrflowError):
    """Telesign refused or did not answer a request; the message says which and why, in one line."""

    def __init__(self, message: str, *, status: int | None = None, codes: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.codes = codes


@dataclass(frozen=True, slots=True)
class Credentials:
    customer_id: str
    api_key: str

    @classmethod
    def from_env(cls) -> Credentials | None:
        customer_id, api_key = os.environ.get("TELESIGN_CUSTOMER_ID"), os.environ.get("TELESIGN_API_KEY")
        return cls(customer_id, api_key) if customer_id and api_key else None


@dataclass(frozen=True, slots=True)
class V1Answer:
    reference_id: str
    status_code: int | None
    description: str


RETRY_STATUSES = (429, 500, 502, 503, 504)


def send_v1(
    params: dict[str, str],
    credentials: Credentials,
    *,
    auth: str = "basic",
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> V1Answer:
    """POST the form fields to Telesign's /v1/voice. 429 and 5xx are retried `retries` times
    with exponential backoff (or the server's Retry-After); anything else that is not a success
    raises TelesignError with Telesign's own error code and words."""
    body = urlencode(params)
    url = base_url() + V1_VOICE
    for attempt in range(retries + 1):
        if auth == "hmac":
            headers = hmac_headers(credentials.customer_id, credentials.api_key, "POST", V1_VOICE, body)
        else:
            headers = {"Authorization": basic_authorization(credentials.customer_id, credentials.api_key), "Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = httpx.post(url, content=body.encode(), headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise TelesignError(f"Telesign did not answer within {timeout:g} s ({url}); the call may or may not have been placed") from None
        except httpx.HTTPError as error:
            raise TelesignError(f"could not reach Telesign at {url}: {error}") from None
        if response.status_code in RETRY_STATUSES and attempt < retries:
            sleep(_retry_after(response) or backoff * 2**attempt)
            continue
        return _answer(response)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _answer(response: httpx.Response) -> V1Answer:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    data: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    status: dict[str, Any] = data["status"] if isinstance(data.get("status"), dict) else {}
    errors = [e for e in data["errors"] if isinstance(e, dict)] if isinstance(data.get("errors"), list) else []
    codes = tuple(e["code"] for e in errors if isinstance(e.get("code"), int))
    if response.is_success and data.get("reference_id"):
        return V1Answer(str(data["reference_id"]), status.get("code"), str(status.get("description", "")))
    said = "; ".join(f"error {e.get('code')}: {e.get('description', '')}" for e in errors) or str(status.get("description") or response.reason_phrase)
    what = {401: "Telesign did not accept the credentials", 429: "Telesign's rate limit was hit (retries used up)"}.get(response.status_code)
    if what is None:
        what = "Telesign refused the request" if response.status_code < 500 else "Telesign failed (retries used up)"
    raise TelesignError(f"{what}: HTTP {response.status_code}, {said}", status=response.status_code, codes=codes)


# --- v2 voice: webhook events in, actions out ---------------------------------------------
# Assumptions where Telesign's documentation could not be read in full (say so in docs/):
# - an action is `{"method", "params"}` without `jsonrpc`/`id` (Telesign's documented examples);
# - `speak` takes `tts.message`, `tts.language` and `collect_digits.max` (Telesign's demo code);
# - collected keys arrive as `data.collected_digits` of `speak_completed`;
# - `dial_completed` with `data.status == "answered"` means answered, any other status means not;
# - `collect_digits` takes no documented wait: a menu's `timeout` rides on the Speak action but is
#   not sent, so Telesign's own wait for a key applies until the parameter is confirmed;
# - `{}` answers an event that needs no action (a connected transfer, an unknown event);
#   Telesign ignores the answer to `call_completed`, and its handling of `{}` mid-call is unconfirmed;
# - a redelivered event is byte-identical to the first delivery (so its SHA-256 finds it);
# - events are signed like other Telesign callbacks: base64 HMAC-SHA256 of the raw body.


def callback_signature(api_key: str, body: bytes) -> str:
    """The signature Telesign puts on a callback: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(base64.b64decode(api_key), body, hashlib.sha256).digest()).decode()


def verify_callback(api_key: str, body: bytes, authorization: str | None, ts_authorization: str | None = None) -> bool:
    """Whether a callback carries Telesign's signature, in `Authorization: TSA <customer id>:<sig>`
    or the bare `X-TS-Authorization: <sig>`. Compared in constant time; accepts exactly the
    signatures the official SDK's `verify_telesign_callback_signature` accepts."""
    if authorization and authorization.startswith("TSA ") and ":" in authorization:
        signature = authorization[4:].partition(":")[2]
    elif ts_authorization:
        signature = ts_authorization
    else:
        return False
    return hmac.compare_digest(signature.encode(), callback_signature(api_key, body).encode())


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A Telesign v2 event that passed schemas/v2-event.schema.json."""

    name: str
    reference_id: str
    external_id: str | None
    data: dict[str, Any]

    @property
    def digits(self) -> str:
        value = self.data.get("collected_digits")
        return value if isinstance(value, str) else ""

    @property
    def answered(self) -> bool:
        return self.data.get("status") == "answered"


class BadEvent(IvrflowError):
    """A webhook body that is not a Telesign event; the message says why, for the 400 answer."""


def parse_event(body: bytes) -> WebhookEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadEvent("the body is not JSON") from None
    error = best_match(validator("v2-event").iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the event"
        raise BadEvent(f"not a Telesign voice event: {where}: {error.message}")
    return WebhookEvent(data["event"], data["reference_id"], data.get("external_id"), data["data"])


def action_json(action: Action) -> dict[str, Any]:
    """The JSON body that answers a webhook event with `action` (`{}`: nothing to do)."""
    if isinstance(action, Speak):
        params: dict[str, Any] = {"tts": {"message": action.text, "language": action.language}}
        if action.collect:
            params["collect_digits"] = {"max": 1}
        return {"method": "speak", "params": params}
    if isinstance(action, Transfer):
        params = {"to": digits_only(action.to), "caller_id_number": digits_only(action.caller_id)}
        if action.max_call_duration is not None:
            params["max_call_duration"] = str(action.max_call_duration)  # Telesign wants a string
        if action.send_dtmf:
            params["send_dtmf"] = action.send_dtmf
        return {"method": "dial", "params": params}
    if isinstance(action, HangUp):
        return {"method": "hangup", "params": {}}
    return {}
