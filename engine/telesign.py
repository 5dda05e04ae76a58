"""Telesign's wire facts in one place: endpoints, and (as they arrive) auth and error codes.

Where Telesign's documentation turns out to differ from what is written here, this module is
the one to change.
"""

from __future__ import annotations

import os

# The `telesign` SDK's default REST host (self-service accounts); enterprise accounts use
# https://rest-ww.telesign.com. Set TELESIGN_BASE_URL to choose.
DEFAULT_BASE_URL = "https://rest-api.telesign.com"
V1_VOICE = "/v1/voice"


def base_url() -> str:
    return os.environ.get("TELESIGN_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
