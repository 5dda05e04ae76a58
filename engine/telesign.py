"""Telesign's wire facts in one place: endpoints, and (as they arrive) auth and error codes.

Where Telesign's documentation turns out to differ from what is written here, this module is
the one to change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from email.utils import formatdate

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
