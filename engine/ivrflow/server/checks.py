"""The server's side of `ivrflow check-telesign`: a test call that walks through what the engine
assumes of Telesign, and a record of every post Telesign made for it, exactly as it arrived.

POST /checks {"to", "caller_id"?, "transfer_to"?} places the test call with a built-in check flow
(one step per assumption: a key press, a silence, several keys in one go, a transfer after a menu
when `transfer_to` is given, ended by the second phone so that the caller comes back, a hang-up) and starts recording; GET /checks/{check_id} gives the
record. Both authenticate as the calls API does.

Recording is off until a check starts, and bounded: only posts to /webhook and /callbacks/v1 that
name the test call (our external_id, or Telesign's reference id of it) are kept, at most
MAX_EVENTS of them and MAX_BYTES of bodies, for at most MAX_SECONDS; at most KEPT records are held,
in this process's memory (so with --workers N, a check sees only the posts its worker answered:
run checks with one worker). For each post: when it came, the path (a secret in it replaced by
<secret>), its header names, how it was signed and whether the signature holds, the exact body,
what was answered and how long that took, and whether it repeats an earlier post byte for byte.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivrflow import strictjson
from ivrflow.errors import ApiError, BadJson, FieldError
from ivrflow.language.loader import check_bytes
from ivrflow.language.model import Flow, digits_only
from ivrflow.server.calls_api import Api
from ivrflow.server.calls_shapes import NUMBER, call_summary, parse_call_request, request_object, timed_step
from ivrflow.server.check_report import as_json, verdicts
from ivrflow.server.flows import Flows
from ivrflow.server.webhook_auth import WebhookAuth
from ivrflow.stores import Store
from ivrflow.telesign.auth import Credentials, verify_callback
from ivrflow.telesign.facts import TSA, Header

MAX_EVENTS = 200
MAX_BYTES = 512 * 1024
MAX_SECONDS = 15 * 60
KEPT = 3
CHECK_FIELDS = ("to", "caller_id", "transfer_to")

_STEPS = """flow: {id}
description: The test call of `ivrflow check-telesign`, one step for each of the engine's assumptions about Telesign.
language: en-US
{vars}start: press-1
nodes:
  press-1:
    type: select_digits
    message: "This is the ivrflow check of your Telesign account. Follow each instruction, then wait. First, press 1."
    choices:
      "1": silence
    timeout: 10
    on_fail: silence
  silence:
    type: select_digits
    message: "Now press nothing at all, and wait. If you press 1, the check goes on all the same."
    choices:
      "1": several
    timeout: 10
    on_fail: several
  several:
    type: select_digits
    message: "Now press 1, 2 and 3 quickly, one after the other, in one go."
    choices:
      "1": after-several
      "2": after-several
      "3": after-several
    timeout: 10
    on_fail: after-several
  after-several:
    type: select_digits
    message: "Thank you. Press 4, or wait."
    choices:
      "4": {last}
    timeout: 10
    on_fail: {last}
"""
_HANG_UP = """  hang-up:
    type: select_digits
    message: "The check is done. Please hang up now. If you press 1 instead, I will hang up."
    choices:
      "1": goodbye
    timeout: 20
    on_fail: goodbye
  goodbye:
    type: hangup
    message: "Goodbye."
"""
_TRANSFER = """  transfer-menu:
    type: select_digits
    message: "Last, a transfer to your second number after this menu. Answer the second phone, then hang it up first and stay on this one. Press 5 to be transferred now."
    choices:
      "5": transfer
    timeout: 10
    on_fail: transfer
  transfer:
    type: dial
    to: "{{ transfer }}"
    next: back
  back:
    type: hangup
    message: "You are back on this phone: the second one hung up first. The check is done. Goodbye."
"""


def check_flow(transfer: bool) -> Flow:
    """The built-in flow of the test call: with a transfer to a second number at the end, or a hang-up."""
    if transfer:
        text = (
            _STEPS.format(id="telesign-check-transfer", vars='vars:\n  transfer: "15550000000"\n', last="transfer-menu")
            + _TRANSFER
        )
    else:
        text = _STEPS.format(id="telesign-check", vars="", last="hang-up") + _HANG_UP
    checked = check_bytes(text.encode(), "<ivrflow check-telesign>")
    assert checked.flow is not None and checked.ok, checked.diagnostics  # a test lints both
    return checked.flow


@dataclass
class Recording:
    check_id: str  # our id of the test call (its external_id)
    started: float
    transfer_to: str | None
    telesign_ids: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    left_out: int = 0  # posts not kept: over MAX_EVENTS or MAX_BYTES
    placing: dict[str, Any] = field(default_factory=dict)  # what POST /checks answered

    @property
    def open(self) -> bool:
        return time.time() - self.started < MAX_SECONDS

    def names(self, data: object) -> bool:
        """Whether a post's JSON names the test call."""
        if not isinstance(data, dict):
            return False
        if data.get("external_id") == self.check_id:
            reference = data.get("reference_id")
            if isinstance(reference, str) and reference:
                self.telesign_ids.add(reference)
            return True
        return data.get("reference_id") in self.telesign_ids


def _signing(headers: dict[str, str], body: bytes, account: Credentials | None) -> dict[str, str]:
    """How a post was signed: for each of Telesign's two headers, absent, its scheme, and whether
    the signature holds with the account's key (never the values)."""
    said: dict[str, str] = {}
    authorization = headers.get(Header.AUTHORIZATION.lower())
    if authorization is None:
        said["authorization"] = "absent"
    elif authorization.startswith(f"{TSA} ") and ":" in authorization:
        said["authorization"] = "TSA " + (
            "valid"
            if account and verify_callback(account.api_key, body, authorization, customer_id=account.customer_id)
            else "not valid for TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY"
        )
    else:
        said["authorization"] = f"other scheme ({authorization.partition(' ')[0][:20]})"
    bare = headers.get(Header.TS_AUTHORIZATION.lower())
    if bare is None:
        said["x-ts-authorization"] = "absent"
    else:
        said["x-ts-authorization"] = (
            "valid"
            if account and verify_callback(account.api_key, body, None, bare, customer_id=account.customer_id)
            else "not valid with TELESIGN_API_KEY"
        )
    return said


class Checks:
    def __init__(self, api: Api, flows: Flows, store: Store, auth: WebhookAuth) -> None:
        self.api = api
        self.store = store
        self.auth = auth
        self.recordings: OrderedDict[str, Recording] = OrderedDict()
        self.flows = {transfer: check_flow(transfer) for transfer in (False, True)}
        for flow in self.flows.values():  # the webhook runs a call by its flow's id and version
            flows.versions[(flow.id, flow.version)] = flow

    def routes(self) -> list[Route]:
        return [
            self.api.route("POST", "/checks", self.start),
            self.api.route("GET", "/checks/{check_id}", self.show),
        ]

    def recording(self) -> bool:
        return any(recording.open for recording in self.recordings.values())

    async def start(self, request: Request, body: bytes) -> Response:
        try:
            read = strictjson.loads(body)
        except BadJson as problem:
            raise ApiError(400, "PARAMETER_INVALID", str(problem)) from None
        data, unknown = request_object(read, CHECK_FIELDS, '{"to": "+15551234567", "caller_id": "+15554441313"}')
        if unknown:
            raise ApiError.of_fields(400, unknown)
        transfer = data.get("transfer_to")
        if transfer is not None and (not isinstance(transfer, str) or not NUMBER.fullmatch(transfer.strip())):
            raise ApiError.of_fields(
                400,
                [
                    FieldError(
                        "transfer_to",
                        "INVALID_PHONENUMBER_FORMAT",
                        f"{transfer!r} is not a phone number: write it with its country code, like +15551234567",
                    )
                ],
            )
        flow = self.flows[bool(transfer)]
        given = {"vars": {"transfer": digits_only(transfer)}} if transfer else {}
        call = parse_call_request(
            {
                "flow": flow.id,
                "to": data.get("to"),
                **({"caller_id": data["caller_id"]} if data.get("caller_id") else {}),
                **given,
            },
            {flow.id: flow},
        )
        if self.api.credentials is None:
            raise ApiError(
                500, "NOT_CONFIGURED", "this server has no Telesign credentials, so it cannot place the test call"
            )
        check_id = uuid.uuid4().hex.upper()
        recording = Recording(check_id, time.time(), call.variables.get("transfer"))
        self.recordings[check_id] = (
            recording  # before the call is placed: its first event may come before Telesign's answer
        )
        while len(self.recordings) > KEPT:
            self.recordings.popitem(last=False)
        try:
            placed = await run_in_threadpool(self.api.place, call, check_id)
        except ApiError as error:
            recording.placing = {"http": error.status, **error.body()}
            raise
        answer = json.loads(bytes(placed.body))
        recording.placing = {"http": placed.status_code, **answer}
        if answer.get("telesign", {}).get("reference_id"):
            recording.telesign_ids.add(answer["telesign"]["reference_id"])
        return JSONResponse(
            {"check_id": check_id, **answer}, status_code=201, headers={"Location": f"/checks/{check_id}"}
        )

    async def show(self, request: Request, body: bytes) -> Response:
        check_id = request.path_params["check_id"]
        recording = self.recordings.get(check_id)
        if recording is None:
            raise ApiError(
                404,
                "CHECK_NOT_FOUND",
                f"no check {check_id!r} is recorded here (only the last {KEPT} are kept, in the worker that started them)",
            )
        record = await run_in_threadpool(self.store.get, check_id)
        steps = await run_in_threadpool(self.store.transcript, check_id) if record is not None else []
        flow = self.flows[recording.transfer_to is not None]
        call = (
            {**call_summary(record, flow), "transcript": [timed_step(s) for s in steps]} if record is not None else None
        )
        shown: dict[str, Any] = {
            "check_id": check_id,
            "started": recording.started,
            "recording": recording.open,
            "webhook_auth": self.auth.mode,
            "transfer_to": recording.transfer_to,
            "placing": recording.placing,
            "telesign_reference_ids": sorted(recording.telesign_ids),
            "call": call,
            "events": recording.events,
            "left_out": recording.left_out,
        }
        return JSONResponse({**shown, "verdicts": as_json(verdicts(shown))})

    def observe(
        self, path: str, headers: dict[str, str], body: bytes, arrived: float, status: int, answer: bytes
    ) -> None:
        """Keep a post if it names a test call being recorded."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return  # names no call: nothing to tie it to
        for recording in self.recordings.values():
            if not recording.open or not recording.names(data):
                continue
            if len(recording.events) >= MAX_EVENTS or recording.size + len(body) > MAX_BYTES:
                recording.left_out += 1
                return
            text = body.decode("utf-8", errors="replace")
            # A redelivery repeats the post before it byte for byte. (A caller silent at two
            # questions in a row also makes two identical posts; the check's steps alternate
            # keys and silences, so only a caller who presses nothing makes them.)
            previous = recording.events[-1] if recording.events else None
            again = (
                previous["n"]
                if previous is not None and previous["body"] == text and previous["path"] == path
                else None
            )
            recording.size += len(body)
            recording.events.append(
                {
                    "n": len(recording.events) + 1,
                    "at": round(arrived - recording.started, 3),  # seconds after the check started
                    "path": path,
                    "header_names": sorted(headers),
                    "signed": _signing(headers, body, self.api.credentials),
                    "body": text,
                    "answered": {
                        "status": status,
                        "body": answer.decode("utf-8", errors="replace"),
                        "ms": round((time.time() - arrived) * 1000, 1),
                    },
                    "same_bytes_as": again,  # a redelivery: the same bytes as post number `again`
                }
            )
            return


class RecordingMiddleware:
    """Tees the body and the answer of posts to /webhook and /callbacks/v1 while a check records;
    changes nothing of either. Off (one comparison per request) when no check runs."""

    def __init__(self, app: ASGIApp, checks: Checks) -> None:
        self.app = app
        self.checks = checks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            scope.get("method") != "POST"
            or not path.startswith(("/webhook", "/callbacks/v1"))
            or not self.checks.recording()
        ):
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        body, answer, status = bytearray(), bytearray(), 0

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= MAX_BYTES:
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receiving, sending)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
        base = "/callbacks/v1" if path.startswith("/callbacks/v1") else "/webhook"
        shown = base + ("/<secret>" if len(path) > len(base) else "")  # never the secret itself
        self.checks.observe(shown, headers, bytes(body), arrived, status, bytes(answer))
