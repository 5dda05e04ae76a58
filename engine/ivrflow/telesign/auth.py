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

from ivrflow.telesign.auth_codes import (
    AUTH_CODES,
    DATE_NOT_RFC822,
    DATE_OUT_OF_RANGE,
    INVALID_API_KEY,
    INVALID_AUTH_METHOD,
    INVALID_CUSTOMER_ID,
    INVALID_SIGNATURE,
    MALFORMED_AUTHORIZATION,
    MAX_NONCE,
    MISSING_AUTHORIZATION,
    MISSING_DATE,
    NONCE_LENGTH,
)
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


@dataclass(frozen=True, slots=True)
class AuthRefusal:
    """Why a request to us is refused: Telesign's code for the reason (auth_codes.AUTH_CODES, the
    negative family) and the words that say what was wrong with this request."""

    code: int
    message: str

    @property
    def header(self) -> str:
        """The header the reason is about."""
        return AUTH_CODES[self.code].header


def check_request(
    credentials: Credentials,
    method: str,
    resource: str,
    headers: Mapping[str, str],
    body: str,
    *,
    now: float | None = None,
) -> AuthRefusal | None:
    """Why a request to us does not carry these credentials (None: it does), in Telesign's
    Basic or `TSA` scheme, with Telesign's code for the reason. `headers` are looked up by
    lower-case name; `resource` is the path without the query string, as the SDK signs it. The
    caller still has to refuse a reused nonce (`x-ts-nonce`, NONCE_REUSED), which needs memory
    across requests."""
    header = headers.get(Header.AUTHORIZATION.lower(), "")
    scheme, _, value = header.partition(" ")
    if not header:
        return AuthRefusal(
            MISSING_AUTHORIZATION,
            "the Authorization header is missing: use Basic with your customer id and API key, or Telesign's TSA signature",
        )
    if scheme == BASIC:
        return _check_basic(credentials, header, value)
    customer_id, colon, signature = value.partition(":")
    if scheme != TSA or not colon:
        return AuthRefusal(
            MALFORMED_AUTHORIZATION,
            "the Authorization header is neither `Basic ...` nor `TSA <customer id>:<signature>`",
        )
    if headers.get(Header.TS_AUTH_METHOD, HMAC_SHA256) != HMAC_SHA256:
        return AuthRefusal(INVALID_AUTH_METHOD, "x-ts-auth-method must be HMAC-SHA256")
    ts_date = headers.get(Header.TS_DATE)
    date = headers.get(Header.DATE.lower(), "")
    when = ts_date if ts_date is not None else date
    if not when:
        return AuthRefusal(
            MISSING_DATE,
            "the Date (or x-ts-date) header is missing: send the date like `Tue, 24 Nov 2026 09:30:00 GMT`",
        )
    try:
        skew = abs((time.time() if now is None else now) - parsedate_to_datetime(when).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return AuthRefusal(
            DATE_NOT_RFC822, "the Date (or x-ts-date) header is not a date like `Tue, 24 Nov 2026 09:30:00 GMT`"
        )
    if skew > DATE_TOLERANCE:
        return AuthRefusal(
            DATE_OUT_OF_RANGE,
            f"the request's date is {skew / 60:.0f} minutes from now; it must be within {DATE_TOLERANCE // 60} (is the sender's clock right?)",
        )
    nonce = headers.get(Header.TS_NONCE, "")
    if not nonce or len(nonce) > MAX_NONCE:
        return AuthRefusal(
            NONCE_LENGTH,
            f"the x-ts-nonce header is {'missing' if not nonce else 'longer than ' + str(MAX_NONCE) + ' characters'}: send a new random value with each request",
        )
    if not hmac.compare_digest(customer_id.encode(), credentials.customer_id.encode()):
        return AuthRefusal(
            INVALID_CUSTOMER_ID, "wrong customer id or signature: the customer id is not this server's account's"
        )
    text = string_to_sign(
        method, headers.get(Header.CONTENT_TYPE.lower(), ""), date, nonce, body, resource, ts_date=ts_date
    )
    if not hmac.compare_digest(signature.encode(), tsa_signature(credentials.api_key, text).encode()):
        return AuthRefusal(
            INVALID_SIGNATURE,
            "wrong customer id or signature: the signature is not this request's, made with the account's API key",
        )
    return None


def _check_basic(credentials: Credentials, header: str, value: str) -> AuthRefusal | None:
    """Basic credentials: the account's customer id and API key, base64 as `customer id:API key`."""
    expected = basic_authorization(credentials.customer_id, credentials.api_key)
    if hmac.compare_digest(header.encode(), expected.encode()):
        return None
    try:
        customer_id, colon, _ = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        colon = ""
    if not colon:
        return AuthRefusal(
            MALFORMED_AUTHORIZATION, "the Authorization header is `Basic` but not the base64 of `customer id:API key`"
        )
    if not hmac.compare_digest(customer_id.encode(), credentials.customer_id.encode()):
        return AuthRefusal(
            INVALID_CUSTOMER_ID, "wrong customer id or API key: the customer id is not this server's account's"
        )
    return AuthRefusal(INVALID_API_KEY, "wrong customer id or API key: the API key is not the account's")


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


def clock_offset(date: str | None, now: float | None = None) -> float | None:
    """How many seconds this computer's clock is ahead of the other side's (negative: behind),
    from the `Date` header of its answer (one-second precision); None when there is no date to
    read in it."""
    if not date:
        return None
    try:
        theirs = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return (time.time() if now is None else now) - theirs
