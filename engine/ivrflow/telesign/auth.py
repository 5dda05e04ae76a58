"""Telesign's authentication: the Basic and `TSA` HMAC-SHA256 schemes of its REST API, as the
engine signs its requests and checks those made to it, and the signature on Telesign's callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from ivrflow.telesign.facts import BASIC, DATE_TOLERANCE, FORM, HMAC_SHA256, TSA, Header


@dataclass(frozen=True, slots=True)
class Credentials:
    customer_id: str
    api_key: str

    @classmethod
    def from_env(cls) -> Credentials | None:
        customer_id, api_key = os.environ.get("TELESIGN_CUSTOMER_ID"), os.environ.get("TELESIGN_API_KEY")
        return cls(customer_id, api_key) if customer_id and api_key else None


def basic_authorization(customer_id: str, api_key: str) -> str:
    """`Authorization` for Telesign's Basic scheme."""
    return f"{BASIC} " + base64.b64encode(f"{customer_id}:{api_key}".encode()).decode()


def string_to_sign(
    method: str, content_type: str, date: str, nonce: str, body: str, resource: str, *, ts_date: str | None = None
) -> str:
    """What Telesign's `TSA` scheme signs, lines joined by newlines: the SDK's layout, with the
    `x-ts-date` line of Telesign's sample signer when that header is used instead of `Date`."""
    lines = [method, content_type, date, f"{Header.TS_AUTH_METHOD}:{HMAC_SHA256}"]
    if ts_date is not None:
        lines.append(f"{Header.TS_DATE}:{ts_date}")
    lines.append(f"{Header.TS_NONCE}:{nonce}")
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
        content_type = FORM if method in ("POST", "PUT") else ""
    signature = tsa_signature(api_key, string_to_sign(method, content_type, date, nonce, body, resource))
    return {
        Header.AUTHORIZATION: f"{TSA} {customer_id}:{signature}",
        Header.DATE: date,
        Header.CONTENT_TYPE: content_type,
        Header.TS_AUTH_METHOD: HMAC_SHA256,
        Header.TS_NONCE: nonce,
    }


def check_request(
    credentials: Credentials,
    method: str,
    resource: str,
    headers: Mapping[str, str],
    body: str,
    *,
    now: float | None = None,
) -> str | None:
    """Why a request to us does not carry these credentials (None: it does), in Telesign's
    Basic or `TSA` scheme. `headers` are looked up by lower-case name; `resource` is the path
    without the query string, as the SDK signs it. The caller still has to refuse a reused
    nonce (`x-ts-nonce`), which needs memory across requests."""
    header = headers.get(Header.AUTHORIZATION.lower(), "")
    scheme, _, value = header.partition(" ")
    if not header:
        return "the Authorization header is missing: use Basic with your customer id and API key, or Telesign's TSA signature"
    if scheme == BASIC:
        expected = basic_authorization(credentials.customer_id, credentials.api_key)
        return None if hmac.compare_digest(header.encode(), expected.encode()) else "wrong customer id or API key"
    customer_id, colon, signature = value.partition(":")
    if scheme != TSA or not colon:
        return "the Authorization header is neither `Basic ...` nor `TSA <customer id>:<signature>`"
    if headers.get(Header.TS_AUTH_METHOD, HMAC_SHA256) != HMAC_SHA256:
        return "x-ts-auth-method must be HMAC-SHA256"
    ts_date = headers.get(Header.TS_DATE)
    date = headers.get(Header.DATE.lower(), "")
    when = ts_date if ts_date is not None else date
    try:
        skew = abs((time.time() if now is None else now) - parsedate_to_datetime(when).timestamp())
    except (TypeError, ValueError, IndexError):
        return "the Date (or x-ts-date) header is missing or not a date like `Tue, 24 Nov 2026 09:30:00 GMT`"
    if skew > DATE_TOLERANCE:
        return f"the request's date is {skew / 60:.0f} minutes from now; it must be within {DATE_TOLERANCE // 60} (is the sender's clock right?)"
    if not headers.get(Header.TS_NONCE):
        return "the x-ts-nonce header is missing: send a new random value with each request"
    text = string_to_sign(
        method,
        headers.get(Header.CONTENT_TYPE.lower(), ""),
        date,
        headers[Header.TS_NONCE],
        body,
        resource,
        ts_date=ts_date,
    )
    if customer_id != credentials.customer_id or not hmac.compare_digest(
        signature.encode(), tsa_signature(credentials.api_key, text).encode()
    ):
        return "wrong customer id or signature"
    return None


def callback_signature(api_key: str, body: bytes) -> str:
    """The signature Telesign puts on a callback: base64 HMAC-SHA256 of the raw body."""
    return _hmac_base64(api_key, body)


def verify_callback(
    api_key: str, body: bytes, authorization: str | None, ts_authorization: str | None = None, *, customer_id: str
) -> bool:
    """Whether a callback carries Telesign's signature for the account `customer_id`, in
    `Authorization: TSA <customer id>:<sig>` or the bare `X-TS-Authorization: <sig>`. Compared in
    constant time; accepts the signatures the official SDK's `verify_telesign_callback_signature`
    accepts, and where `Authorization` names a customer id, only this account's (the SDK's check
    takes the signature alone)."""
    if authorization and authorization.startswith(f"{TSA} ") and ":" in authorization:
        named, _, signature = authorization[len(TSA) + 1 :].partition(":")
        if not hmac.compare_digest(named.encode(), customer_id.encode()):
            return False
    elif ts_authorization:
        signature = ts_authorization
    else:
        return False
    return hmac.compare_digest(signature.encode(), callback_signature(api_key, body).encode())
