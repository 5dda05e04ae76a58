"""A faithful local stand-in for Telesign's voice endpoints, for tests only.

It enforces what Telesign documents: Basic or TSA HMAC-SHA256 auth, each refusal with Telesign's code
for it (the positive family of /v1/voice, or the negative one; `error_family`), its clock off by
`clock_offset` if asked (the signature recomputed with
the official SDK's signer, Date within 15 minutes, a nonce used once), and answers with Telesign's
documented shapes, statuses and error codes.

- /v1/voice: the required fields and v1 limits (schemas/v1-voice-request.schema.json). The call is
  then played with the v1 behaviour model against the `phones` (which keys, answered or not), or
  ends as `v1_codes` says (101, 104, 106, 107, 130 for a number); GET /v1/voice/{reference_id}
  answers 103 "in progress" `v1_polls` times, then the final status with `voice.user_input` (the
  last key pressed after the message); when the request had a `callback_url`, the 103 and final
  statuses are posted there, signed, in the order `v1_callbacks` says, each delivered again after
  an answer other than 200 (up to 4 attempts, as Telesign documents for its callbacks).
- /v2/voice: a `dial` that places an outbound call, with the answers of Telesign's Engage API
  (Voice) OpenAPI: 202 `dial_accepted`; 200 `premium_to_number_rejected` and
  `to_number_blocked_*`; 400 `invalid_phone_number`, `to_number_not_provided`,
  `caller_id_number_not_owned`, `caller_id_number_not_provided`, `unsupported_call_state`
  (any action but `dial` with no call to act on); 401 `credentials_not_provided`, `not_authorized`.
  Then it plays the call against the engine's webhook with `ivrflow.tools.carrier` (signed events, the
  phone at the other end as `phones` says), as Telesign's network would.

Tests can script answers before the next success: "429", a 5xx status, "hang" (no answer, no call
placed), "placed-500" (the call is placed, then the answer is a 500 without a reference id;
"placed-500+id": with the call's reference id in it, as some Telesign errors carry one) and, on
/v2/voice, "lost" (the call is placed but the answer comes too late to be read). `placed` counts
the calls placed, whatever was answered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from telesign.rest import RestClient

from ivrflow.language.schema_files import validator
from ivrflow.telesign.auth import callback_signature
from ivrflow.telesign.facts import V1_STATUS_CODES
from ivrflow.tools.carrier import CarriedCall, Carrier, Phone
from ivrflow.v1.playback import hear

# The negative twin of each positive auth code (the reference's section 7.3).
NEGATIVE = {
    10009: -30004,
    10028: -30005,
    10008: -30006,
    10007: -30007,
    10006: -30008,
    10005: -30009,
    10004: -30010,
    10003: -30011,
    10002: -30012,
    10022: -30015,
    10015: -30000,
}


class _Dated:
    """Every answer's Date header from the fake's clock, as a server's answers carry its own."""

    def __init__(self, app: ASGIApp, clock: Callable[[], float]) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"date", formatdate(self.clock(), usegmt=True).encode()),
                ]
            await send(message)

        await self.app(scope, receive, dated)


# Which v1 error code Telesign uses for a bad or missing field (Telesign's v1 error catalogue).
INVALID = {
    "phone_number": 11000,
    "account_lifecycle_event": 11003,
    "callback_url": 11004,
    "message": 11009,
    "originating_ip": 11010,
    "message_type": 11017,
    "voice": 11018,
}
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


def _now(offset: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + offset)) + ".000000Z"


@dataclass
class V1Call:
    """A v1 call as the fake placed it: how it ends, and the statuses it goes through."""

    reference_id: str
    fields: dict[str, str]
    final: int
    user_input: str | None
    polls_left: int
    started_on: str = field(default_factory=_now)
    ended_on: str = field(default_factory=lambda: _now(30))  # a call takes a while
    callbacks: list[tuple[int, int]] = field(default_factory=list)  # (status code posted, HTTP answer)

    code_text: bool = False  # `status.code` as text ("100"), as Telesign's v1 reference documents it

    def report(self, code: int) -> dict[str, Any]:
        """Telesign's status answer (and callback body) for the call at `code`."""
        final = code == self.final
        description = {
            100: "Call answered",
            101: "Not answered",
            103: "Call in progress",
            104: "Wrong/invalid phone number",
            106: "Call failed",
            107: "Line busy",
            130: "Call blocked by Telesign",
        }.get(code, V1_STATUS_CODES.get(code, ("",))[0])
        return {
            "reference_id": self.reference_id,
            "external_id": self.fields.get("external_id"),
            "submit_timestamp": self.started_on,
            "status": {
                "code": str(code) if self.code_text else code,
                "description": description,
                "updated_on": self.ended_on if final else self.started_on,
            },
            "errors": [],
            "voice": {"caller_id": self.fields.get("caller_id"), "user_input": self.user_input if final else None},
        }


def _last_key_after_message(fields: dict[str, str], keys: list[str | None]) -> str | None:
    """Telesign's `user_input`: the last key pressed after the message started (None: no key)."""
    heard = hear(fields, keys)
    start = next((i for i, step in enumerate(heard) if step.get("say") == fields["message"]), len(heard))
    pressed = [str(step["press"]) for step in heard[start:] if "press" in step]
    return pressed[-1] if pressed else None


def _error(http: int, code: int, description: str) -> JSONResponse:
    return JSONResponse(
        {
            "status": {"code": 501 if http == 401 else 500, "description": description},
            "errors": [{"code": code, "description": description}],
        },
        status_code=http,
    )


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
    # v1 calls: how a number's call ends (else 100 answered, or 101 when its phone does not
    # answer), how many status queries say "in progress" first, and the order callbacks go in.
    v1_codes: dict[str, int] = field(default_factory=dict)
    v1_polls: int = 1
    v1_callbacks: str = (
        "in_order"  # "in_order" (103, final), "reversed" (final, 103), "twice" (103, final, final), "none"
    )
    v1_calls: dict[str, V1Call] = field(default_factory=dict)
    callback_retry_wait: float = 0.2  # Telesign waits 5, 10, 15 s between attempts; tests cannot
    placed: int = 0  # calls placed (v1 and v2), whatever the answer to the request was
    v1_code_text: bool = False  # spell v1 status codes as text ("100"), as Telesign's reference documents them
    unsigned: bool = False  # post v2 events unsigned, as an account that does not sign them
    clock_offset: float = 0.0  # seconds the fake's clock is ahead of this machine's (its Date header, its date checks)
    error_family: str = "positive"  # the auth codes it answers with: "positive" (10009 ...) or "negative" (-30004 ...)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/voice", self.voice, methods=["POST"]),
                Route("/v1/voice/{reference_id}", self.voice_status, methods=["GET"]),
                Route("/v2/voice", self.voice_v2, methods=["POST"]),
            ],
            middleware=[Middleware(_Dated, clock=self.now)],
        )

    def now(self) -> float:
        """The fake's clock: this machine's, `clock_offset` seconds off (as Telesign's is to a computer whose clock is wrong)."""
        return time.time() + self.clock_offset

    def auth_problem(self, request: Request, body: str) -> tuple[int, str, str] | None:
        """Why the request is not authenticated: (error code, v2 status, description), the code of
        the `error_family` Telesign answers with (its v1 Swagger's positive codes, or the negative
        codes of its other APIs)."""
        refused = self._auth_problem(request, body)
        if refused is None:
            return None
        code, status, description = refused
        return (code if self.error_family == "positive" else NEGATIVE[code]), status, description

    def _auth_problem(self, request: Request, body: str) -> tuple[int, str, str] | None:
        header = request.headers.get("authorization", "")
        if not header:
            return 10009, "credentials_not_provided", "Missing Authorization header"
        scheme, _, value = header.partition(" ")
        if scheme == "Basic":
            try:
                customer_id, colon, api_key = base64.b64decode(value, validate=True).decode().partition(":")
            except ValueError:
                colon = ""
            if not colon:
                return 10028, "not_authorized", "Malformed Authorization header"
            if customer_id != self.customer_id:
                return 10015, "not_authorized", "Invalid Customer ID"
            if api_key != self.api_key:
                return 10022, "not_authorized", "Invalid API key"
            return None
        if scheme != "TSA" or ":" not in value:
            return 10028, "not_authorized", "Malformed Authorization header"
        if request.headers.get("x-ts-auth-method", "HMAC-SHA256") != "HMAC-SHA256":
            return 10006, "not_authorized", "Invalid value for x-ts-auth-method header"
        date, nonce = request.headers.get("date", ""), request.headers.get("x-ts-nonce", "")
        if not date:
            return 10007, "not_authorized", "Missing Date or x-ts-date header"
        try:
            skew = abs(self.now() - parsedate_to_datetime(date).timestamp())
        except (TypeError, ValueError):
            return 10005, "not_authorized", "Date header is not RFC 822"
        if skew > 15 * 60:
            return 10004, "not_authorized", "Date header is not within tolerable range"
        if not 1 <= len(nonce) <= 128:
            return 10003, "not_authorized", "Nonce is too long or too short"
        if nonce in self.nonces:
            return 10002, "not_authorized", "Nonce already used"
        if value.partition(":")[0] != self.customer_id:
            return 10015, "not_authorized", "Invalid Customer ID"
        expected = RestClient.generate_telesign_headers(
            self.customer_id,
            self.api_key,
            request.method,
            request.url.path,
            body,
            date_rfc2616=date,
            nonce=nonce,
            content_type=request.headers.get("content-type"),
        )
        if header != expected["Authorization"]:
            return 10008, "not_authorized", "Invalid signature"
        self.nonces.add(nonce)
        return None

    async def voice(self, request: Request) -> JSONResponse:
        failure = ""
        if self.script:
            step = self.script.pop(0)
            if step == "hang":  # answer far later than any client waits
                await asyncio.sleep(30)
                return _error(503, 10000, "System unavailable, please try again later")
            if step == "429":
                return _error(429, 10019, "Rate limit exceeded")
            if not step.startswith("placed-"):
                return _error(int(step), 10000, "System unavailable, please try again later")
            failure = step
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
        if (repeat and repeat in digits) or len(set(digits)) != len(digits):
            return _error(400, 11009, "Invalid value for parameter select_digits")
        self.received.append(fields)
        reference = uuid.uuid4().hex.upper()
        phone = self.phones.get(fields["phone_number"], Phone())
        final = self.v1_codes.get(fields["phone_number"], 100 if phone.answers else 101)
        call = V1Call(
            reference,
            fields,
            final,
            _last_key_after_message(fields, phone.keys) if final == 100 else None,
            self.v1_polls,
            code_text=self.v1_code_text,
        )
        self.v1_calls[reference] = call
        self.placed += 1
        answer = JSONResponse(call.report(103))
        if failure:  # the call is placed, and then the answer fails
            answer = _error(500, 10000, "System unavailable, please try again later")
            if failure.endswith("+id"):
                answer = JSONResponse({**json.loads(bytes(answer.body)), "reference_id": reference}, status_code=500)
        if fields.get("callback_url") and self.v1_callbacks != "none":
            order = {"in_order": [103, final], "reversed": [final, 103], "twice": [103, final, final]}[
                self.v1_callbacks
            ]
            answer.background = BackgroundTask(
                threading.Thread(target=self._post_callbacks, args=(call, order), daemon=True).start
            )
        return answer

    async def voice_status(self, request: Request) -> JSONResponse:
        if self.script and self.script[0].isdigit():  # a status query fails as scripted, and changes nothing
            step = self.script.pop(0)
            return (
                _error(429, 10019, "Rate limit exceeded")
                if step == "429"
                else _error(int(step), 10000, "System unavailable, please try again later")
            )
        refused = self.auth_problem(request, "")
        if refused is not None:
            return _error(401, refused[0], refused[2])
        call = self.v1_calls.get(request.path_params["reference_id"])
        if call is None:
            return _error(404, 10017, "Reference ID not found")
        if call.polls_left > 0:
            call.polls_left -= 1
            return JSONResponse(call.report(103))
        return JSONResponse(call.report(call.final))

    def _post_callbacks(self, call: V1Call, codes: list[int]) -> None:
        """Post each status to the call's callback_url as Telesign does: signed, and again after
        anything but a 200, up to 4 attempts."""
        for code in codes:
            body = json.dumps(call.report(code)).encode()
            signature = callback_signature(self.api_key, body)
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"TSA {self.customer_id}:{signature}",
                "X-TS-Authorization": signature,
            }
            for _ in range(4):
                try:
                    status = httpx.post(
                        call.fields["callback_url"], content=body, headers=headers, timeout=5
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                call.callbacks.append((code, status))
                if status == 200:
                    break
                time.sleep(self.callback_retry_wait)

    def callbacks_done(self, reference_id: str, count: int, timeout: float = 10) -> list[tuple[int, int]]:
        """The callbacks posted for a v1 call, once `count` have been answered."""
        deadline = time.time() + timeout
        call = self.v1_calls[reference_id]
        while len(call.callbacks) < count and time.time() < deadline:
            time.sleep(0.02)
        return list(call.callbacks)

    async def voice_v2(self, request: Request) -> JSONResponse:
        late, failure = False, ""
        if self.script:
            step = self.script.pop(0)
            if step == "hang":
                await asyncio.sleep(30)
                return _v2(503, "")
            if step == "429":
                return _v2(429, "rate_limit_exceeded")
            late = step == "lost"
            failure = step if step.startswith("placed-") else ""
            if not late and not failure:
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
            (
                "to_number_blocked_by_country",
                to.startswith(self.blocked_countries) if self.blocked_countries else False,
            ),
            ("to_number_blocked_by_customer", to in self.blocked_by_customer),
            ("to_number_blocked_by_telesign", to in self.blocked_by_telesign),
        ):
            if refused_here:
                return _v2(200, status, reference, external_id)
        self.received.append(params)
        call = CarriedCall(reference, to, caller_id, external_id=external_id)
        self.calls[reference] = call
        self.placed += 1
        carrier = threading.Thread(
            target=Carrier(self.webhook, self.customer_id, None if self.unsigned else self.api_key, self.phones).play,
            args=(call,),
            daemon=True,
        )
        if late:  # the call goes ahead, but its answer comes after any client has stopped waiting
            carrier.start()
            await asyncio.sleep(30)
            return _v2(202, "dial_accepted", reference, external_id)
        response = _v2(202, "dial_accepted", reference, external_id)
        if failure:  # the call is placed, and then the answer fails
            response = _v2(500, "", reference if failure.endswith("+id") else "")
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
        raise AssertionError(
            f"no call with external_id {external_id} ended within {timeout} s: {list(self.calls.values())}"
        )


@contextmanager
def running(fake: FakeTelesign) -> Iterator[FakeTelesign]:
    """Serve the fake on a free loopback port for the duration of the block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), log_level="warning", lifespan="off", date_header=False)
    )  # the fake says its own date
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
