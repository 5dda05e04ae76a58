"""Telesign request signing, against the official `telesign` SDK and Telesign's own test vectors."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from telesign.rest import RestClient

from ivrflow.telesign.auth import basic_authorization, hmac_headers

CUSTOMER = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
KEY = "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw=="
DATE = "Wed, 14 Dec 2016 18:20:12 GMT"
NONCE = "A1592C6F-E384-4CDB-BC42-C3AB970369E9"


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("POST", "test=param", "2xVlmbrxLjYrrPun3G3WMNG6Jon4yKcTeOoK9DjXJ/Q="),
        ("POST", "test=%CF%BF", "h8d4I0RTxErbxYXuzCOtNqb/f0w3Ck8e5SEkGNj01+8="),
        ("GET", "", "aUm7I+9GKl3ww7PNeeJntCT0iS7b+EmRKEE4LnRzChQ="),
    ],
)
def test_telesign_sdk_test_vectors(method: str, body: str, expected: str) -> None:
    headers = hmac_headers(CUSTOMER, KEY, method, "/v1/resource", body, date=DATE, nonce=NONCE)
    assert headers["Authorization"] == f"TSA {CUSTOMER}:{expected}"


@pytest.mark.parametrize(
    ("method", "resource", "fields", "content_type"),
    [
        ("POST", "/v1/voice", {"phone_number": "15550100200", "message": "Hello", "message_type": "ARN"}, None),
        (
            "POST",
            "/v1/voice",
            {"phone_number": "15550100200", "message": "Grüße, ¿qué tal? 你好 — press 1", "message_type": "ARN"},
            None,
        ),
        ("POST", "/v1/voice", {"message": "a+b=c&d %", "tts_message_1": "line\nbreak"}, None),
        ("GET", "/v1/voice/0123456789ABCDEF0123456789ABCDEF", {}, None),
        ("POST", "/v2/voice", {}, "application/json"),
        ("PUT", "/v1/thing", {"x": "y"}, None),
    ],
)
def test_hmac_headers_equal_the_official_sdk(
    method: str, resource: str, fields: dict[str, str], content_type: str | None
) -> None:
    body = urlencode(fields) if content_type is None else '{"method": "dial", "params": {"to": "15550100200"}}'
    ours = hmac_headers(CUSTOMER, KEY, method, resource, body, content_type=content_type, date=DATE, nonce=NONCE)
    sdk = RestClient.generate_telesign_headers(
        CUSTOMER, KEY, method, resource, body, date_rfc2616=DATE, nonce=NONCE, content_type=content_type
    )
    for name, value in ours.items():
        assert sdk[name] == value, name


def test_basic_equals_the_official_sdk() -> None:
    sdk = RestClient.generate_telesign_headers(
        CUSTOMER, KEY, "POST", "/v1/voice", "a=b", date_rfc2616=DATE, nonce=NONCE, auth_method="Basic"
    )
    assert basic_authorization(CUSTOMER, KEY) == sdk["Authorization"]
