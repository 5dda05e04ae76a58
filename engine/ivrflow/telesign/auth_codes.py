"""Telesign's error codes for a signed request it refuses (HTTP 401), with what each means and
what to do about it, in words for people.

Telesign documents two families of the same reasons (the reference's section 7): the negative
codes of its Verify-family APIs (-30004 ...) and the positive codes of /v1/voice's Swagger
(10009 ...); which one an answer carries is read from the answer. The calls API of `ivrflow
serve` authenticates as Telesign does and answers with the negative codes, so that code written
for Telesign's answers reads ours the same way.

Pure data: imports nothing of ivrflow but the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ivrflow.telesign.facts import DATE_TOLERANCE, Header


@dataclass(frozen=True, slots=True)
class AuthCode:
    """One reason Telesign refuses a request's authentication: its negative code, its positive
    twin (None: Telesign lists none), the header it is about, what it means and what to do. In
    `meaning`, `{who}` stands for the side that refused (Telesign, or an ivrflow server)."""

    code: int
    twin: int | None
    header: str
    meaning: str
    remedy: str


INVALID_CUSTOMER_ID: Final = -30000
MISSING_AUTHORIZATION: Final = -30004
MALFORMED_AUTHORIZATION: Final = -30005
INVALID_SIGNATURE: Final = -30006
MISSING_DATE: Final = -30007
INVALID_AUTH_METHOD: Final = -30008
DATE_NOT_RFC822: Final = -30009
DATE_OUT_OF_RANGE: Final = -30010
NONCE_LENGTH: Final = -30011
NONCE_REUSED: Final = -30012
INVALID_API_KEY: Final = -30015

TOLERANCE_MINUTES: Final = DATE_TOLERANCE // 60
# How long an x-ts-nonce may be (characters). Telesign's SDKs send a UUID (36); Telesign publishes
# no limit, only that a nonce "too long or too short" is refused (-30011).
MAX_NONCE: Final = 128

_CREDENTIALS = "check TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY: copy both again from the Telesign portal"

AUTH_CODES: Final[dict[int, AuthCode]] = {
    entry.code: entry
    for entry in (
        AuthCode(
            INVALID_CUSTOMER_ID,
            10015,
            Header.AUTHORIZATION,
            "{who} does not know this customer id",
            _CREDENTIALS + " (the customer id looks like FFFFFFFF-EEEE-DDDD-1234-AB1234567890)",
        ),
        AuthCode(
            MISSING_AUTHORIZATION,
            10009,
            Header.AUTHORIZATION,
            "the request carried no Authorization header",
            "set TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY; if they are set, something between here and there (a proxy) drops the header",
        ),
        AuthCode(
            MALFORMED_AUTHORIZATION,
            10028,
            Header.AUTHORIZATION,
            "the Authorization header is neither `Basic <base64 of customer id:API key>` nor `TSA <customer id>:<signature>`",
            _CREDENTIALS + "; the customer id has no colon or space in it",
        ),
        AuthCode(
            INVALID_SIGNATURE,
            10008,
            Header.AUTHORIZATION,
            "the signature does not match: the API key is not the account's, or the request changed on the way",
            "check TELESIGN_API_KEY: copy it again from the Telesign portal (it is base64, ending in = as a rule); or try --auth basic",
        ),
        AuthCode(
            MISSING_DATE,
            10007,
            Header.DATE,
            "the signed request carried neither a Date nor an x-ts-date header",
            "send the Date header with the request; if it is sent, something between here and there (a proxy) drops it",
        ),
        AuthCode(
            INVALID_AUTH_METHOD,
            10006,
            Header.TS_AUTH_METHOD,
            "x-ts-auth-method is not HMAC-SHA256",
            "sign with HMAC-SHA256, the one method accepted",
        ),
        AuthCode(
            DATE_NOT_RFC822,
            10005,
            Header.DATE,
            "the Date (or x-ts-date) header is not a date like `Tue, 24 Nov 2026 09:30:00 GMT` (RFC 822)",
            "send the date in that form, in GMT",
        ),
        AuthCode(
            DATE_OUT_OF_RANGE,
            10004,
            Header.DATE,
            f"the request's date is more than {TOLERANCE_MINUTES} minutes away from {{who}}'s clock",
            "set this computer's clock right (turn on automatic time sync, NTP)",
        ),
        AuthCode(
            NONCE_LENGTH,
            10003,
            Header.TS_NONCE,
            f"the x-ts-nonce header is missing, empty or longer than {MAX_NONCE} characters",
            "send a new random value (a UUID) with each request",
        ),
        AuthCode(
            NONCE_REUSED,
            10002,
            Header.TS_NONCE,
            "this x-ts-nonce was used recently",
            "send a new random value with each request; if that is done, something resends the requests (a retrying proxy)",
        ),
        AuthCode(
            INVALID_API_KEY,
            10022,
            Header.AUTHORIZATION,
            "{who} does not accept this API key for the customer id",
            _CREDENTIALS,
        ),
    )
}

# Either family's code -> its entry.
BY_CODE: Final[dict[int, AuthCode]] = {
    **AUTH_CODES,
    **{entry.twin: entry for entry in AUTH_CODES.values() if entry.twin is not None},
}


def auth_code(code: int | str) -> AuthCode | None:
    """The entry for a code of either family (an int, or its text as our API's ErrorCode has it); None: not an auth code."""
    try:
        return BY_CODE.get(int(code))
    except (TypeError, ValueError):
        return None
