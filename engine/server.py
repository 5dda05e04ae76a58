"""The webhook server: a thin shell around `step()`.

POST /webhook: verify the signature → parse the event → in the call's store transaction: skip a
duplicate, step the interpreter, save → answer the action. GET /healthz: flows loaded and the
store answering.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.interpreter import Action, CallEnded, CallStarted, CallState, Event, HangUp, NoAction, Speak, SpeakDone, new_call, step
from engine.lint import flow_files
from engine.loader import check_file
from engine.model import Flow, digits_only
from engine.stores import CallRecord, Store
from engine.telesign import BadEvent, WebhookEvent, action_json, parse_event, verify_callback

MAX_BODY = 64 * 1024
# Events that only make sense for a call the engine already has.
CALL_EVENTS = ("speak_completed", "play_completed", "dial_completed", "call_leg_completed")
SORRY = "Sorry, this number is not in service. Goodbye."
log = logging.getLogger("ivrflow")


@dataclass
class Flows:
    """The flows being served, by id and by inbound number, and every version seen (a call keeps
    the version it started with)."""

    current: dict[str, Flow] = field(default_factory=dict)
    versions: dict[tuple[str, str], Flow] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)

    def load(self, folder: Path) -> list[str]:
        """(Re)load `folder`. A flow that lints replaces its old version for new calls; one that
        does not keeps its old version serving. Returns each problem as `file:line:col: ...`.
        The new tables are swapped in whole, so a request never sees a half-loaded set."""
        problems = []
        by_path = {flow.path: flow for flow in self.current.values()}
        current: dict[str, Flow] = {}
        for path in flow_files([folder]):
            checked = check_file(path)
            if checked.flow is None or not checked.ok:
                problems += [str(d) for d in checked.diagnostics if d.level == "error"]
                if checked.path in by_path:
                    current[by_path[checked.path].id] = by_path[checked.path]
                continue
            current[checked.flow.id] = checked.flow
            self.versions[(checked.flow.id, checked.flow.version)] = checked.flow
        self.numbers = {digits_only(number): flow.id for flow in current.values() for number in flow.numbers}
        self.current = current
        return problems

    def for_state(self, state: CallState) -> Flow | None:
        return self.versions.get((state.flow, state.version))


def _answer(action: Action) -> str:
    return json.dumps(action_json(action), ensure_ascii=False)


def _sorry_call() -> tuple[CallState, Action]:
    """A call to a number no flow serves: a clear apology, then hang up."""
    return CallState(flow="", version="", waiting="last-words"), Speak(SORRY, "en-US", False)


class Webhook:
    def __init__(self, flows: Flows, store: Store, api_key: str | None) -> None:
        self.flows = flows
        self.store = store
        self.api_key = api_key

    async def handle(self, request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _refuse(415, "the body must be JSON with Content-Type: application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            return _refuse(413, f"the body is larger than {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _refuse(413, f"the body is larger than {MAX_BODY} bytes")
        if self.api_key is not None and not verify_callback(self.api_key, body, request.headers.get("authorization"), request.headers.get("x-ts-authorization")):
            log.warning("webhook refused: missing or wrong Telesign signature")
            return _refuse(401, "missing or wrong Telesign signature")
        try:
            event = parse_event(body)
        except BadEvent as problem:
            return _refuse(400, str(problem))
        digest = hashlib.sha256(body).hexdigest()
        status, answer = await run_in_threadpool(self.store.update, event.reference_id, lambda record: self.apply(record, event, digest))
        return Response(answer, status_code=status, media_type="application/json")

    def apply(self, record: CallRecord | None, event: WebhookEvent, digest: str) -> tuple[CallRecord | None, tuple[int, str]]:
        """Inside the call's transaction: the record to store and the (status, body) to answer."""
        if record is not None and record.last_event == digest:
            return None, (200, record.last_answer)  # the same delivery again: same answer, no step
        if record is None:
            if event.name in CALL_EVENTS:
                return None, (404, _error(f"no call with reference_id {event.reference_id}"))
            if event.name != "incoming_call":  # call_completed of a call we never had, or an unknown event
                log.info("event %s for unknown call %s answered with {}", event.name, event.reference_id)
                return None, (200, "{}")
            state, action = self.start(event)
        else:
            flow = self.flows.for_state(record.state)
            translated = self.translate(event)
            if translated is None:
                log.info("event %s for call %s ignored", event.name, event.reference_id)
                return None, (200, "{}")
            if flow is None:  # an apology call, or a version no longer known: end it safely
                state, action = replace(record.state, waiting="ended"), (NoAction() if isinstance(translated, CallEnded) or record.state.ended else HangUp())
            else:
                state, action = step(flow, record.state, translated)
        answer = _answer(action)
        return CallRecord(event.reference_id, state, digest, answer), (200, answer)

    def start(self, event: WebhookEvent) -> tuple[CallState, Action]:
        called, caller = str(event.data["to"]), str(event.data["from"])
        flow_id = self.flows.numbers.get(digits_only(called))
        if flow_id is None:
            log.warning("incoming call to %s: no flow serves this number", called)
            return _sorry_call()
        flow = self.flows.current[flow_id]
        return step(flow, new_call(flow), CallStarted({"caller": digits_only(caller), "called": digits_only(called)}))

    @staticmethod
    def translate(event: WebhookEvent) -> Event | None:
        if event.name in ("speak_completed", "play_completed"):
            return SpeakDone(event.digits)
        if event.name == "call_completed":
            return CallEnded()
        if event.name == "dial_completed":  # an outbound call: answered starts the flow
            return CallStarted() if event.answered else CallEnded()
        # call_leg_completed (the other leg goes on; call_completed comes when all is over) and
        # events we do not know change nothing.
        return None


def _error(reason: str) -> str:
    return json.dumps({"error": reason})


def _refuse(status: int, reason: str) -> Response:
    return Response(_error(reason), status_code=status, media_type="application/json")


def create_app(flows_dir: Path, store: Store, *, api_key: str | None) -> Starlette:
    flows = Flows()
    for problem in flows.load(flows_dir):
        log.error("flow not loaded: %s", problem)
    webhook = Webhook(flows, store, api_key)

    async def healthz(request: Request) -> Response:
        healthy = bool(flows.current) and await run_in_threadpool(store.healthy)
        return JSONResponse({"flows": len(flows.current), "store": "ok" if healthy else "down"}, status_code=200 if healthy else 503)

    app = Starlette(routes=[Route("/webhook", webhook.handle, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])])
    app.state.flows = flows
    return app
