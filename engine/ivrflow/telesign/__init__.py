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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from jsonschema.exceptions import best_match

from ivrflow.errors import BadEvent, TelesignError
from ivrflow.calls.interpreter import Action, HangUp, Speak, Transfer
from ivrflow.language.model import digits_only
from ivrflow.language.schema import validator

# The `telesign` SDK's default REST host (self-service accounts); enterprise accounts use
# https://rest-ww.telesign.com. Set TELESIGN_BASE_URL to choose.
DEFAULT_BASE_URL = "https://rest-api.telesign.com"
V1_VOICE = "/v1/voice"


def base_url() -> str:
    return os.environ.get("TELESIGN_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


def basic_authorization(customer_id: str, api_key: str) -> str:
    """`Authorization` for Telesign's Basic scheme."""
    return "Basic " + base64.b64encode(f"{customer_id}:{api_key}".encode()).decode()


def string_to_sign(method: str, content_type: str, date: str, nonce: str, body: str, resource: str, *, ts_date: str | None = None) -> str:
    """What Telesign's `TSA` scheme signs, lines joined by newlines: the SDK's layout, with the
    `x-ts-date` line of Telesign's sample signer when that header is used instead of `Date`."""
    lines = [method, content_type, date, "x-ts-auth-method:HMAC-SHA256"]
    if ts_date is not None:
        lines.append(f"x-ts-date:{ts_date}")
    lines.append(f"x-ts-nonce:{nonce}")
    if content_type and body:
        lines.append(body)
    lines.append(resource)
    return "\n".join(lines)


def _hmac_base64(api_key: str, data: bytes) -> str:
    # Telesign's keys are base64; like the SDK, decode leniently (Python drops non-alphabet characters).
    return base64.b64encode(hmac.new(base64.b64decode(api_key), data, hashlib.sha256).digest()).decode()


def tsa_signature(api_key: str, text: str) -> str:
    """The signature of a `TSA` request: base64 HMAC-SHA256 of its string to sign."""
    return _hmac_base64(api_key, text.encode("utf-8"))


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
    signature = tsa_signature(api_key, string_to_sign(method, content_type, date, nonce, body, resource))
    return {
        "Authorization": f"TSA {customer_id}:{signature}",
        "Date": date,
        "Content-Type": content_type,
        "x-ts-auth-method": "HMAC-SHA256",
        "x-ts-nonce": nonce,
    }


# How far a signed request's date may be from now, either way (Telesign's own window).
DATE_TOLERANCE = 15 * 60


def check_request(credentials: Credentials, method: str, resource: str, headers: Mapping[str, str], body: str, *, now: float | None = None) -> str | None:
    """Why a request to us does not carry these credentials (None: it does), in Telesign's
    Basic or `TSA` scheme. `headers` are looked up by lower-case name; `resource` is the path
    without the query string, as the SDK signs it. The caller still has to refuse a reused
    nonce (`x-ts-nonce`), which needs memory across requests."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        return "the Authorization header is missing: use Basic with your customer id and API key, or Telesign's TSA signature"
    if scheme == "Basic":
        expected = basic_authorization(credentials.customer_id, credentials.api_key)
        return None if hmac.compare_digest(header.encode(), expected.encode()) else "wrong customer id or API key"
    customer_id, colon, signature = value.partition(":")
    if scheme != "TSA" or not colon:
        return "the Authorization header is neither `Basic ...` nor `TSA <customer id>:<signature>`"
    if headers.get("x-ts-auth-method", "HMAC-SHA256") != "HMAC-SHA256":
        return "x-ts-auth-method must be HMAC-SHA256"
    ts_date = headers.get("x-ts-date")
    date = headers.get("date", "")
    when = ts_date if ts_date is not None else date
    try:
        skew = abs((time.time() if now is None else now) - parsedate_to_datetime(when).timestamp())
    except (TypeError, ValueError, IndexError):
        return "the Date (or x-ts-date) header is missing or not a date like `Tue, 24 Nov 2026 09:30:00 GMT`"
    if skew > DATE_TOLERANCE:
        return f"the request's date is {skew / 60:.0f} minutes from now; it must be within {DATE_TOLERANCE // 60} (is the sender's clock right?)"
    if not headers.get("x-ts-nonce"):
        return "the x-ts-nonce header is missing: send a new random value with each request"
    text = string_to_sign(method, headers.get("content-type", ""), date, headers["x-ts-nonce"], body, resource, ts_date=ts_date)
    if customer_id != credentials.customer_id or not hmac.compare_digest(signature.encode(), tsa_signature(credentials.api_key, text).encode()):
        return "wrong customer id or signature"
    return None


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
    on_retry: Callable[[str], None] = lambda code: None  # Telesign's code of each answer retried (answer_code), for metrics


def _request(method: str, resource: str, credentials: Credentials, how: Sending, body: str = "", content_type: str = "") -> httpx.Response:
    """Send one request to Telesign, retrying as `how` says; the last answer whatever its status."""
    url = base_url() + resource
    for attempt in range(how.retries + 1):
        if how.auth == "hmac":
            headers = hmac_headers(credentials.customer_id, credentials.api_key, method, resource, body, content_type=content_type)
        else:
            headers = {"Authorization": basic_authorization(credentials.customer_id, credentials.api_key)}
            if content_type:
                headers["Content-Type"] = content_type
        try:
            response = httpx.request(method, url, content=body.encode() or None, headers=headers, timeout=how.timeout)
        except httpx.TimeoutException:
            maybe = "; the call may or may not have been placed" if method == "POST" else ""
            raise TelesignError(f"Telesign did not answer within {how.timeout:g} s ({url}){maybe}", reason="timeout") from None
        except httpx.HTTPError as error:
            raise TelesignError(f"could not reach Telesign at {url}: {error}", reason="unreachable") from None
        if response.status_code in RETRY_STATUSES and attempt < how.retries:
            how.on_retry(answer_code(response))
            how.sleep(_retry_after(response) or how.backoff * 2**attempt)
            continue
        return response
    raise AssertionError("unreachable: the last attempt returns")


def send_v1(params: dict[str, str], credentials: Credentials, how: Sending = Sending()) -> V1Answer:
    """POST the form fields to Telesign's /v1/voice. Anything that is not a success raises
    TelesignError with Telesign's own error code and words."""
    return _answer(_request("POST", V1_VOICE, credentials, how, urlencode(params), "application/x-www-form-urlencoded"))


def v1_status(reference_id: str, credentials: Credentials, how: Sending = Sending()) -> dict[str, Any]:
    """Telesign's status answer for a v1 call (GET /v1/voice/{reference_id}), as its JSON object.
    Anything that is not a success raises TelesignError with Telesign's code and words."""
    if not reference_id or not all(c.isalnum() or c in "-_" for c in reference_id):
        raise TelesignError(f"{reference_id!r} is not a Telesign reference id (letters and digits, like 0123456789ABCDEF0123456789ABCDEF)", reason="reference_id")
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
    said = "; ".join(f"error {e.get('code')}: {e.get('description', '')}" for e in errors) or str(status.get("description") or response.reason_phrase)
    what = {401: "Telesign did not accept the credentials", 429: "Telesign's rate limit was hit (retries used up)"}.get(response.status_code)
    if what is None:
        what = "Telesign refused the request" if response.status_code < 500 else "Telesign failed (retries used up)"
    return TelesignError(f"{what}: HTTP {response.status_code}, {said}", status=response.status_code, codes=codes, reason=answer_code(response))


# --- v1 voice: what happened on a call ----------------------------------------------------
# Telesign's v1 voice status codes (Voice API reference): the words for people, and the status the
# engine gives a call that reports it ("": the call is not over). The last six are documented for
# Voice Verify and may come for /v1/voice too (unconfirmed); a code not listed is taken as "not
# over", so that an unknown code can never end a call that is still going on.
V1_STATUS_CODES: dict[int, tuple[str, str]] = {
    100: ("answered", "completed"),
    101: ("not answered", "no_answer"),
    103: ("in progress", ""),
    104: ("wrong or invalid phone number", "failed"),
    106: ("call failed", "failed"),
    107: ("line busy", "busy"),
    130: ("blocked by Telesign", "failed"),
    105: ("not handled yet", ""),
    108: ("canceled by Telesign", "failed"),
    129: ("blocked by your request", "failed"),
    500: ("not attempted", "failed"),
    501: ("not authorized", "failed"),
    599: ("status not available", ""),
}


@dataclass(frozen=True, slots=True)
class V1Report:
    """One report of a v1 call's status: Telesign's answer to GET /v1/voice/{reference_id}, or the
    transaction callback it posts to `callback_url`. That the callback carries `voice.user_input`
    like the answer, and the `external_id` sent, is assumed (documented for callbacks in general,
    unconfirmed for voice); a report without `voice` leaves the key as it was."""

    reference_id: str
    code: int
    description: str
    updated_on: str
    user_input: str | None  # the last key pressed after the message ("": none); None: not reported
    external_id: str | None = None

    @property
    def final(self) -> str:
        """The call's status when this report ends it; "" when the call is not over."""
        return V1_STATUS_CODES.get(self.code, ("", ""))[1]


def parse_v1_report(data: object) -> V1Report:
    """A status report from Telesign's JSON, or BadEvent saying why it is not one."""
    error = best_match(validator("v1-status").iter_errors(data))
    if error is not None or not isinstance(data, dict):
        where = "/".join(str(part) for part in error.absolute_path) if error is not None else ""
        raise BadEvent(f"not a Telesign v1 status report: {where or 'the body'}: {error.message if error is not None else 'not an object'}")
    status, voice = data["status"], data.get("voice") or {}
    return V1Report(
        str(data["reference_id"]),
        int(status["code"]),
        str(status.get("description") or ""),
        str(status.get("updated_on") or ""),
        (voice.get("user_input") or "")[-1:] if "user_input" in voice else None,  # only the last key counts
        data.get("external_id"),
    )


# --- v2 voice: placing a call ----------------------------------------------------------------
V2_VOICE = "/v2/voice"

# Telesign's documented answers to a `dial` (Engage API - Voice, OpenAPI), in words for people.
# HTTP 202 `dial_accepted` is the only success; HTTP 200 with one of the first four is a refusal.
DIAL_STATUSES = {
    "premium_to_number_rejected": "the number is a premium-rate number, which Telesign does not call",
    "to_number_blocked_by_country": "calls to this number's country are blocked (in your Telesign portal, or by Telesign)",
    "to_number_blocked_by_customer": "the number is on your account's block list",
    "to_number_blocked_by_telesign": "Telesign blocks calls to this number",
    "caller_id_number_not_owned": "the caller id is not a number of your Telesign account",
    "caller_id_number_not_provided": "no caller id was sent",
    "invalid_phone_number": "Telesign says the number to call is not a valid phone number",
    "to_number_not_provided": "no number to call was sent",
    "unsupported_call_state": "Telesign does not allow this action in the call's current state",
    "credentials_not_provided": "the request carried no Telesign credentials",
    "not_authorized": "Telesign did not accept the customer id and API key",
    "rate_limit_exceeded": "Telesign's rate limit for calls was hit, and stayed hit after retrying",
}


@dataclass(frozen=True, slots=True)
class DialAnswer:
    reference_id: str  # Telesign's id of the new call
    status: str  # dial_accepted


def dial_params(to: str, caller_id: str, external_id: str) -> dict[str, Any]:
    """The `dial` action that places an outbound call."""
    return {"method": "dial", "params": {"to": digits_only(to), "caller_id_number": digits_only(caller_id), "external_id": external_id}}


def send_dial(action: dict[str, Any], credentials: Credentials, how: Sending = Sending()) -> DialAnswer:
    """POST a `dial` action to Telesign's /v2/voice. Anything but 202 `dial_accepted` raises
    TelesignError whose `reason` is Telesign's status string."""
    body = json.dumps(action, ensure_ascii=False)
    response = _request("POST", V2_VOICE, credentials, how, body, "application/json")
    data = _json_object(response)
    status = str(data.get("status") or "")
    if response.status_code == 202 and data.get("reference_id"):
        return DialAnswer(str(data["reference_id"]), status or "dial_accepted")
    said = DIAL_STATUSES.get(status)
    if said is None:
        said = f"Telesign failed (HTTP {response.status_code}, retries used up)" if response.status_code >= 500 else f"Telesign answered HTTP {response.status_code} {status or response.reason_phrase}"
    raise TelesignError(f"Telesign did not place the call: {said} ({status or 'HTTP ' + str(response.status_code)})", status=response.status_code, reason=answer_code(response))


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
# - every event of a call placed with a `dial` carrying `external_id` carries that `external_id`
#   (DOC-events: present "if you put one in the originating action"); the engine finds such a
#   call by it, so a call whose 202 answer was lost still runs;
# - events are signed like other Telesign callbacks: base64 HMAC-SHA256 of the raw body.


def callback_signature(api_key: str, body: bytes) -> str:
    """The signature Telesign puts on a callback: base64 HMAC-SHA256 of the raw body."""
    return _hmac_base64(api_key, body)


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


def parse_event(body: bytes) -> WebhookEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadEvent("the body is not JSON") from None
    if not looks_like_event(data):  # the schema says why (slow, and only for what is refused)
        error = best_match(validator("v2-event").iter_errors(data))
        where = "/".join(str(part) for part in error.absolute_path) if error is not None else ""
        raise BadEvent(f"not a Telesign voice event: {where or 'the event'}: {error.message if error is not None else 'not an event'}")
    return WebhookEvent(data["event"], data["reference_id"], data.get("external_id"), data["data"])


def _text(value: object, least: int = 0, most: int | None = None) -> bool:
    return isinstance(value, str) and least <= len(value) and (most is None or len(value) <= most)


def looks_like_event(data: object) -> bool:
    """Exactly schemas/v2-event.schema.json, written out: validating every event with jsonschema
    took most of the time of answering one (a test holds the two to the same verdicts)."""
    if not isinstance(data, dict) or not _text(data.get("event"), 1, 64) or not _text(data.get("reference_id"), 1, 128):
        return False
    if "external_id" in data and data["external_id"] is not None and not isinstance(data["external_id"], str):
        return False
    event, fields = data["event"], data.get("data")
    if not isinstance(fields, dict):
        return False
    if event == "incoming_call":
        return _text(fields.get("to"), 1) and _text(fields.get("from"), 1)
    if event == "dial_completed":
        return _text(fields.get("status")) and all(_text(fields[key]) for key in ("to", "from") if key in fields)
    if event in ("speak_completed", "play_completed"):
        return ("status" not in fields or _text(fields["status"])) and ("collected_digits" not in fields or fields["collected_digits"] is None or _text(fields["collected_digits"]))
    return True


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
