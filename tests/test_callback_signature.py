"""Webhook signatures: our check accepts exactly what the official SDK accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st
from telesign.util import verify_telesign_callback_signature

from ivrflow.telesign.auth import callback_signature, verify_callback

KEY = "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw=="


def test_sdk_published_vector() -> None:
    assert callback_signature(KEY, b"{'test': 123}") == "B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744="


def _signature(body: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(KEY), body.encode(), hashlib.sha256).digest()).decode()


@given(
    st.text(max_size=400),
    st.one_of(st.none(), st.text(max_size=60)),
    st.sampled_from(["right", "other", "truncated", "flipped"]),
)
def test_same_verdict_as_the_sdk(body: str, noise: str | None, kind: str) -> None:
    right = _signature(body)
    signature = {
        "right": right,
        "other": noise or "",
        "truncated": right[:-1],
        "flipped": right[:5] + ("A" if right[5] != "A" else "B") + right[6:],
    }[kind]
    sdk = verify_telesign_callback_signature(KEY, signature, body)
    assert verify_callback(KEY, body.encode(), f"TSA FFFF-CUSTOMER:{signature}", customer_id="FFFF-CUSTOMER") is sdk
    assert verify_callback(KEY, body.encode(), None, signature, customer_id="FFFF-CUSTOMER") is sdk


def test_missing_or_malformed_headers_are_refused() -> None:
    body = b'{"event": "call_completed"}'
    good = callback_signature(KEY, body)
    assert verify_callback(KEY, body, f"TSA cid:{good}", customer_id="cid")
    assert not verify_callback(KEY, body, None, customer_id="cid")
    assert not verify_callback(KEY, body, f"Basic {good}", customer_id="cid")
    assert not verify_callback(KEY, body, "TSA no-colon", customer_id="cid")
    assert not verify_callback(KEY, body + b" ", f"TSA cid:{good}", customer_id="cid")


def test_a_signature_naming_another_account_is_refused() -> None:
    body = b'{"event": "call_completed"}'
    good = callback_signature(KEY, body)
    for named in ("evil", "", "CID", "cid ", "other-account"):
        assert not verify_callback(KEY, body, f"TSA {named}:{good}", good, customer_id="cid"), named
