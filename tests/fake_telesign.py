"""A faithful local stand-in for Telesign's voice endpoints, for tests only.

It enforces what Telesign documents: Basic or TSA HMAC-SHA256 auth (the signature recomputed with
the official SDK's signer, Date within 15 minutes, a nonce used once), and answers with Telesign's
documented shapes, statuses and error codes.

- /v1/voice: the required fields and v1 limits (schemas/v1-voice-request.schema.json).
- /v2/voice: a `dial` that places an outbound call, with the answers of Telesign's Engage API
  (Voice) OpenAPI: 202 `dial_accepted`; 200 `premium_to_number_rejected` and
  `to_number_blocked_*`; 400 `invalid_phone_number`, `to_number_not_provided`,
  `caller_id_number_not_owned`, `caller_id_number_not_provided`, `unsupported_call_state`
  (any action but `dial` with no call to act on); 401 `credentials_not_provided`, `not_authorized`.
  Then it plays the call against the engine's webhook with `engine.carrier` (signed events, the
  phone at the other end as `phones` says), as Telesign's network would.

Tests can script answers before the next success: "429", a 5xx status, "hang" (no answer, no call
placed) and, on /v2/voice, "lost" (the call is placed but the answer comes too late to be read).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telesign.rest import RestClient

from engine.carrier import CarriedCall, Carrier, Phone
from engine.schema import validator

# Which v1 error code Telesign uses for a bad or missing field (Telesign's v1 error catalogue).
INVALID = {"phone_number": 11000, "account_lifecycle_event": 11003, "callback_url": 11004, "message": 11009, "originating_ip": 11010, "message_type": 11017, "voice": 11018}
MISSING = {"phone_number": 12000, "message": 12009, "message_type": 12017}


PREMIUM_PREFIXES = ("1900", "1976")  # North American premium-rate ranges


def _dialable(number: str) -> bool:
    """Digits, country code first, at most 15 (E.164); in North America (+1), a 10-digit number
    whose area code and exchange start with 2-9, as the numbering plan has them."""
    if not number.isdigit() or not 8 <= len(number) <= 15:
        return False
    if number.startswith("1"):
        return len(number) == 11 and number[1] in "23456789" and number[4] in "23456789"
    return True


def _v2(http: int, status: str, reference_id: str = "", external_id: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"reference_id": reference_id, "status": status}
    if external_id is not None:
        body["external_id"] = external_id
    return JSONResponse(body, status_code=http)


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
    # /v2/voice: the account's numbers, its block lists, the phones, where events go, the calls.
    owned: set[str] = field(default_factory=lambda: {"15554441313", "15558675309"})
    blocked_countries: tuple[str, ...] = ()  # country calling codes blocked in the portal
    blocked_by_customer: set[str] = field(default_factory=set)
    blocked_by_telesign: set[str] = field(default_factory=set)
    phones: dict[str, Phone] = field(default_factory=dict)
    webhook: str = ""
    calls: dict[str, CarriedCall] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)  # requests that break Telesign's documented rules

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/voice", self.voice, methods=["POST"]), Route("/v2/voice", self.voice_v2, methods=["POST"])])

    def auth_problem(self, request: Request, body: str) -> tuple[int, str, str] | None:
        """Why the request is not authenticated: (v1 error code, v2 status, description)."""
        header = request.headers.get("authorization", "")
        if not header:
            return 10009, "credentials_not_provided", "Missing Authorization header"
        scheme, _, value = header.partition(" ")
        if scheme == "Basic":
            if base64.b64decode(value).decode(errors="replace") != f"{self.customer_id}:{self.api_key}":
                return 10022, "not_authorized", "Invalid API key"
            return None
        if scheme != "TSA" or ":" not in value:
            return 10028, "not_authorized", "Malformed Authorization header"
        date, nonce = request.headers.get("date", ""), request.headers.get("x-ts-nonce", "")
        try:
            skew = abs(time.time() - parsedate_to_datetime(date).timestamp())
        except (TypeError, ValueError):
            return 10005, "not_authorized", "Date header is not RFC 822"
        if skew > 15 * 60:
            return 10004, "not_authorized", "Date header is not within tolerable range"
        if nonce in self.nonces:
            return 10002, "not_authorized", "Nonce already used"
        expected = RestClient.generate_telesign_headers(self.customer_id, self.api_key, "POST", request.url.path, body, date_rfc2616=date, nonce=nonce, content_type=request.headers.get("content-type"))
        if value.partition(":")[0] != self.customer_id or header != expected["Authorization"]:
            return 10008, "not_authorized", "Invalid signature"
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
        refused = self.auth_problem(request, body)
        if refused is not None:
            return _error(401, refused[0], refused[2])
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


    async def voice_v2(self, request: Request) -> JSONResponse:
        late = False
        if self.script:
            step = self.script.pop(0)
            if step == "hang":
                await asyncio.sleep(30)
                return _v2(503, "")
            if step == "429":
                return _v2(429, "rate_limit_exceeded")
            late = step == "lost"
            if not late:
                return _v2(int(step), "")
        body = (await request.body()).decode()
        refused = self.auth_problem(request, body)
        if refused is not None:
            return _v2(401, refused[1])
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            self.violations.append(f"Content-Type {request.headers.get('content-type')!r}, not application/json")
            return _v2(400, "")
        try:
            action = json.loads(body)
        except ValueError:
            self.violations.append(f"a body that is not JSON: {body[:100]!r}")
            return _v2(400, "")
        if not isinstance(action, dict) or action.get("method") != "dial":
            return _v2(400, "unsupported_call_state")  # there is no call for any other action to act on
        params = action.get("params") if isinstance(action.get("params"), dict) else {}
        to, caller_id, external_id = params.get("to"), params.get("caller_id_number"), params.get("external_id")
        if not to:
            return _v2(400, "to_number_not_provided", external_id=external_id)
        if not isinstance(to, str) or not _dialable(to):
            return _v2(400, "invalid_phone_number", external_id=external_id)
        if not caller_id:
            return _v2(400, "caller_id_number_not_provided", external_id=external_id)
        if caller_id not in self.owned:
            return _v2(400, "caller_id_number_not_owned", external_id=external_id)
        reference = uuid.uuid4().hex.upper()
        for status, refused_here in (
            ("premium_to_number_rejected", to.startswith(PREMIUM_PREFIXES)),
            ("to_number_blocked_by_country", to.startswith(self.blocked_countries) if self.blocked_countries else False),
            ("to_number_blocked_by_customer", to in self.blocked_by_customer),
            ("to_number_blocked_by_telesign", to in self.blocked_by_telesign),
        ):
            if refused_here:
                return _v2(200, status, reference, external_id)
        self.received.append(params)
        call = CarriedCall(reference, to, caller_id, external_id=external_id)
        self.calls[reference] = call
        carrier = threading.Thread(target=Carrier(self.webhook, self.customer_id, self.api_key, self.phones).play, args=(call,), daemon=True)
        if late:  # the call goes ahead, but its answer comes after any client has stopped waiting
            carrier.start()
            await asyncio.sleep(30)
            return _v2(202, "dial_accepted", reference, external_id)
        response = _v2(202, "dial_accepted", reference, external_id)
        response.background = BackgroundTask(carrier.start)  # the call rings once the answer is sent
        return response

    def call_for(self, external_id: str, timeout: float = 20) -> CarriedCall:
        """The call placed with this external_id, once it has ended."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [call for call in self.calls.values() if call.external_id == external_id]
            if found and found[0].done.wait(max(0.0, deadline - time.time())):
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no call with external_id {external_id} ended within {timeout} s: {list(self.calls.values())}")


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
