"""A faithful local stand-in for Telesign's v1 voice endpoint, for tests only.

It enforces what Telesign documents: Basic or TSA HMAC-SHA256 auth (the signature recomputed with
the official SDK's signer, Date within 15 minutes, a nonce used once), the required fields and
the v1 limits (schemas/v1-voice-request.schema.json), and it answers with Telesign's documented
shapes and error codes. Tests can script failures (429, 5xx, a hang) before the next success.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telesign.rest import RestClient

from engine.schema import validator

# Which v1 error code Telesign uses for a bad or missing field (Telesign's v1 error catalogue).
INVALID = {"phone_number": 11000, "account_lifecycle_event": 11003, "callback_url": 11004, "message": 11009, "originating_ip": 11010, "message_type": 11017, "voice": 11018}
MISSING = {"phone_number": 12000, "message": 12009, "message_type": 12017}


def _error(http: int, code: int, description: str) -> JSONResponse:
    return JSONResponse({"status": {"code": 501 if http == 401 else 500, "description": description}, "errors": [{"code": code, "description": description}]}, status_code=http)


@dataclass
class FakeTelesign:
    customer_id: str
    api_key: str
    script: list[str] = field(default_factory=list)  # "429", "503", "hang": answered before the next success
    received: list[dict[str, str]] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/voice", self.voice, methods=["POST"])])

    def check_auth(self, request: Request, body: str) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return _error(401, 10009, "Missing Authorization header")
        scheme, _, value = header.partition(" ")
        if scheme == "Basic":
            if base64.b64decode(value).decode(errors="replace") != f"{self.customer_id}:{self.api_key}":
                return _error(401, 10022, "Invalid API key")
            return None
        if scheme != "TSA" or ":" not in value:
            return _error(401, 10028, "Malformed Authorization header")
        date, nonce = request.headers.get("date", ""), request.headers.get("x-ts-nonce", "")
        try:
            skew = abs(time.time() - parsedate_to_datetime(date).timestamp())
        except (TypeError, ValueError):
            return _error(401, 10005, "Date header is not RFC 822")
        if skew > 15 * 60:
            return _error(401, 10004, "Date header is not within tolerable range")
        if nonce in self.nonces:
            return _error(401, 10002, "Nonce already used")
        expected = RestClient.generate_telesign_headers(self.customer_id, self.api_key, "POST", "/v1/voice", body, date_rfc2616=date, nonce=nonce, content_type=request.headers.get("content-type"))
        if value.partition(":")[0] != self.customer_id or header != expected["Authorization"]:
            return _error(401, 10008, "Invalid signature")
        self.nonces.add(nonce)
        return None

    async def voice(self, request: Request) -> JSONResponse:
        if self.script:
            step = self.script.pop(0)
            if step == "hang":  # answer far later than any client waits
                await asyncio.sleep(30)
                return _error(503, 10000, "System unavailable, please try again later")
            if step == "429":
                return _error(429, 10019, "Rate limit exceeded")
            return _error(int(step), 10000, "System unavailable, please try again later")
        body = (await request.body()).decode()
        refused = self.check_auth(request, body)
        if refused is not None:
            return refused
        fields = dict(parse_qsl(body, keep_blank_values=True))
        for name, code in MISSING.items():
            if not fields.get(name):
                return _error(400, code, f"Missing required parameter {name}")
        for error in validator("v1-voice-request").iter_errors(fields):
            name = str(error.absolute_path[0]) if error.absolute_path else "message"
            return _error(400, INVALID.get(name, 11009), f"Invalid value for parameter {name}")
        digits, repeat = fields.get("select_digits", ""), fields.get("repeat_digit")
        if repeat and repeat in digits or len(set(digits)) != len(digits):
            return _error(400, 11009, "Invalid value for parameter select_digits")
        self.received.append(fields)
        reference = uuid.uuid4().hex.upper()
        status = {"code": 103, "description": "Call in progress", "updated_on": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())}
        return JSONResponse({"reference_id": reference, "status": status, "voice": {"caller_id": fields.get("caller_id"), "user_input": None}})


@contextmanager
def running(fake: FakeTelesign) -> Iterator[FakeTelesign]:
    """Serve the fake on a free loopback port for the duration of the block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
