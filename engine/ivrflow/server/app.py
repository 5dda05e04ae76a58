"""The webhook server: a thin shell around `step()`.

POST /webhook: verify the signature → parse the event → in the call's store transaction: skip a
redelivery, step the interpreter, save the state and the transcript steps → answer the action.
POST /callbacks/v1: Telesign's status callbacks for v1 calls (ivrflow/v1/outcomes.py), signed alike.
GET /healthz: flows loaded and the store answering. GET /metrics: Prometheus text. The
management API (ivrflow/server/calls_api.py) shares the flows and the store. The flows folder is reloaded on
SIGHUP and when a file in it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.supervisors import Multiprocess

from ivrflow.server.calls_api import MAX_BODY, Api, read_limited
from ivrflow.calls.interpreter import Action, CallEnded, CallStarted, CallState, DialDone, Event, HangUp, LegEnded, NoAction, Speak, SpeakDone, Step, Transfer, heard, new_call, step
from ivrflow.language.lint import flow_files, lint
from ivrflow.server.logs import configure as configure_logs
from ivrflow.server.logs import event_handled
from ivrflow.server.metrics import CONTENT_TYPE, Metrics
from ivrflow.language.model import Flow, digits_only
from ivrflow.stores import DUPLICATE_WINDOW, CallRecord, Store, open_store
from ivrflow.errors import StoreUnavailable
from ivrflow.telesign.auth import Credentials, verify_callback
from ivrflow.telesign.v1 import V1Report, parse_v1_report
from ivrflow.telesign.v2 import WebhookEvent, action_json, parse_event
from ivrflow.errors import BadEvent
from ivrflow.v1.outcomes import Reported, apply_report
from ivrflow.server.writer import Writer

# Events that only make sense for a call the engine already has.
CALL_EVENTS = ("speak_completed", "play_completed", "dial_completed", "call_leg_completed")
SORRY = "Sorry, this number is not in service. Goodbye."
log = logging.getLogger("ivrflow")


@dataclass
class Flows:
    """The flows being served from one folder, by id and by inbound number, and every version
    seen (a call keeps the version it started with)."""

    folder: Path
    current: dict[str, Flow] = field(default_factory=dict)
    versions: dict[tuple[str, str], Flow] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> list[str]:
        """(Re)load the folder, checked exactly as `ivrflow lint` checks it. A flow that lints
        replaces its old version for new calls; one that does not keeps its old version serving.
        Returns each problem as `file:line:col: ...`. The new tables are swapped in whole, so a
        request never sees a half-loaded set."""
        with self._lock:
            report = lint([self.folder])
            errors: dict[str, list[str]] = {}
            for diagnostic in report.diagnostics:
                if diagnostic.level == "error":
                    errors.setdefault(diagnostic.file, []).append(str(diagnostic))
            by_path = {flow.path: flow for flow in self.current.values()}
            current: dict[str, Flow] = {}
            for checked in report.files:
                flow = checked.flow if checked.path not in errors else by_path.get(checked.path)
                if flow is not None:
                    current[flow.id] = flow
                    self.versions[(flow.id, flow.version)] = flow
            self.numbers = {digits_only(number): flow.id for flow in current.values() for number in flow.numbers}
            self.current = current
            return [problem for problems in errors.values() for problem in problems]

    def reload(self) -> None:
        """Reload and log the outcome (on SIGHUP, or when a file in the folder changed)."""
        for problem in self.load():
            log.error("flow not reloaded, the old version keeps serving: %s", problem)
        log.info("reloaded %s: %d flows", self.folder, len(self.current))

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """What changes when a flow file is edited, added or removed."""
        found = []
        for path in flow_files([self.folder]):
            with contextlib.suppress(OSError):  # removed while we looked
                stat = path.stat()
                found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def for_state(self, state: CallState) -> Flow | None:
        return self.versions.get((state.flow, state.version))


# A sender gives up on an answer only after waiting for it (Telesign documents 5 s for its SMS
# callbacks), so an answer ready sooner than this reached any sender still there to take it; only
# a slower one is worth asking the connection whether it did (which costs a turn of the event loop).
GAVE_UP_AFTER = 0.5


def _answer(action: Action) -> str:
    return json.dumps(action_json(action), ensure_ascii=False)


def _method(action: Action) -> str:
    """The Telesign method an action is answered with ("" for none)."""
    return {Speak: "speak", Transfer: "dial", HangUp: "hangup"}.get(type(action), "")


def _sorry_call() -> tuple[CallState, Action]:
    """A call to a number no flow serves: a clear apology, then hang up."""
    return CallState(flow="", version="", waiting="last-words"), Speak(SORRY, "en-US", False)


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one event came to: the HTTP answer, and what to count."""

    status: int
    answer: str
    outcome: str  # for ivrflow_events_total: answered, duplicate, ignored, unknown_call
    started: bool = False  # an incoming call began
    ended: str = ""  # the call ended now, this way
    flow: str = ""  # for the log line: the call's flow, its node now, the action answered
    node: str = ""
    action: str = ""


class Webhook:
    def __init__(self, flows: Flows, writer: Writer, api_key: str | None, metrics: Metrics, duplicate_window: float = DUPLICATE_WINDOW) -> None:
        self.flows = flows
        self.writer = writer
        self.store = writer.store
        self.api_key = api_key
        self.metrics = metrics
        self.duplicate_window = duplicate_window

    async def handle(self, request: Request) -> Response:
        began = time.perf_counter()
        event, applied, response = await self._handle(request, began)
        took = time.perf_counter() - began
        self.metrics.answer_seconds.observe(took)
        name = event.name if event else "unknown"
        self.metrics.events.labels(name, applied.outcome).inc()
        event_handled(
            reference_id=event.reference_id if event else None,
            flow=applied.flow or None,
            node=applied.node or None,
            event=name,
            outcome=applied.outcome,
            action=applied.action or None,
            status=response.status_code,
            latency_ms=round(took * 1000, 2),
        )
        return response

    async def _handle(self, request: Request, began: float) -> tuple[WebhookEvent | None, Applied, Response]:
        """The event (None when it could not be read), what was done, the answer."""
        body = await signed_body(request, self.api_key, self.metrics)
        if isinstance(body, Refused):
            return None, Applied(body.response.status_code, "", body.outcome), body.response
        try:
            event = parse_event(body)
        except BadEvent as problem:
            return None, Applied(400, "", "invalid"), _refuse(400, str(problem))
        digest = hashlib.sha256(body).hexdigest()
        try:
            key, applied = await self.writer.run(lambda: self.locate_and_apply(event, digest))
            if time.perf_counter() - began >= GAVE_UP_AFTER and await request.is_disconnected():
                # The sender gave up before the answer was ready and will deliver the event again:
                # remember that this answer never reached it, so that the redelivery gets it.
                await self.writer.run(lambda: self.store.update(key, lambda record: (_undelivered(record, digest), [], None)))
        except StoreUnavailable as problem:
            log.error("event %s for call %s not applied: %s", event.name, event.reference_id, problem)
            return event, Applied(503, "", "store_unavailable"), _refuse(503, "the call store is not answering; deliver this event again", {"Retry-After": "1"})
        if applied.started:
            self.metrics.calls_started.labels("inbound").inc()
        if applied.ended:
            self.metrics.calls_ended.labels(applied.ended).inc()
        return event, applied, Response(applied.answer, status_code=applied.status, media_type="application/json")

    def locate_and_apply(self, event: WebhookEvent, digest: str) -> tuple[str, Applied]:
        """On the writer thread: the call's key, and the event applied to it. A call we placed is
        known by our id, its `external_id`; Telesign's id finds it too."""
        key = event.external_id or self.store.find(event.reference_id) or event.reference_id
        return key, self.store.update(key, lambda record: self.apply(record, event, digest, time.time()))

    def apply(self, record: CallRecord | None, event: WebhookEvent, digest: str, now: float) -> tuple[CallRecord | None, list[Step], Applied]:
        """Inside the call's transaction: the record to store, the transcript steps to add, and
        what to answer."""
        # The same event again: the same answer, and the call does not move. A call starts once, so
        # its incoming_call again is a redelivery however late (say, after the store was down
        # when the first was applied, so that its answer never left).
        if record is not None and record.last_event == digest and (not record.delivered or now - record.updated < self.duplicate_window or event.name == "incoming_call"):
            again = Applied(200, record.last_answer, "duplicate", flow=record.state.flow, node=record.state.node, action="repeated")
            return (replace(record, delivered=True) if not record.delivered else None), [], again
        if record is None:
            if event.name in CALL_EVENTS:
                return None, [], Applied(404, _error(f"no call with reference_id {event.reference_id}"), "unknown_call")
            if event.name != "incoming_call":  # call_completed of a call we never had, or an unknown event
                log.info("event %s for unknown call %s answered with {}", event.name, event.reference_id)
                return None, [], Applied(200, "{}", "ignored")
            state, first, steps = self.start(event)
            answer = _answer(first)
            created = CallRecord(event.reference_id, state, digest, answer, updated=now, created=now, telesign_id=event.reference_id)
            return created, steps, Applied(200, answer, "answered", started=True, ended=created.status if state.ended else "", flow=state.flow, node=state.node, action=_method(first))
        translated = self.translate(event)
        if translated is None:
            log.info("event %s for call %s ignored", event.name, event.reference_id)
            return None, [], Applied(200, "{}", "ignored")
        flow = self.flows.for_state(record.state)
        if flow is None:  # an apology call, or a version no longer known: end it safely
            action: Action = NoAction() if isinstance(translated, CallEnded) or record.state.ended else HangUp()
            state = replace(record.state, waiting="ended", outcome=record.state.outcome or "completed")
        else:
            state, action = step(flow, record.state, translated)
        answer = _answer(action)
        updated = replace(record, state=state, last_event=digest, last_answer=answer, updated=now, delivered=True, telesign_id=record.telesign_id or event.reference_id)
        ended = updated.status if state.ended and not record.state.ended else ""
        return updated, heard(record.state, translated, action), Applied(200, answer, "answered", ended=ended, flow=state.flow, node=state.node, action=_method(action))

    def start(self, event: WebhookEvent) -> tuple[CallState, Action, list[Step]]:
        called, caller = str(event.data["to"]), str(event.data["from"])
        flow_id = self.flows.numbers.get(digits_only(called))
        if flow_id is None:
            log.warning("incoming call to %s: no flow serves this number", called)
            state, action = _sorry_call()
            return state, action, heard(state, CallStarted(), action)
        flow = self.flows.current[flow_id]
        fresh, started = new_call(flow), CallStarted({"caller": digits_only(caller), "called": digits_only(called)})
        state, action = step(flow, fresh, started)
        return state, action, heard(fresh, started, action)

    @staticmethod
    def translate(event: WebhookEvent) -> Event | None:
        if event.name in ("speak_completed", "play_completed"):
            return SpeakDone(event.digits)
        if event.name == "dial_completed":
            return DialDone(event.answered)
        if event.name == "call_leg_completed":
            return LegEnded()
        if event.name == "call_completed":
            return CallEnded()
        return None  # an event this engine does not know changes nothing


@dataclass(frozen=True, slots=True)
class Refused:
    outcome: str  # for ivrflow_events_total: invalid, bad_signature
    response: Response


async def signed_body(request: Request, api_key: str | None, metrics: Metrics) -> bytes | Refused:
    """The body of a post from Telesign (an event, a callback), or why it is refused: not JSON,
    too large, or without Telesign's signature (checked when the server has the API key)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return Refused("invalid", _refuse(415, "the body must be JSON with Content-Type: application/json"))
    body = await read_limited(request)
    if body is None:
        return Refused("invalid", _refuse(413, f"the body is larger than {MAX_BODY} bytes"))
    if api_key is not None and not verify_callback(api_key, body, request.headers.get("authorization"), request.headers.get("x-ts-authorization")):
        log.warning("%s refused: missing or wrong Telesign signature", request.url.path)
        metrics.signature_failures.inc()
        return Refused("bad_signature", _refuse(401, "missing or wrong Telesign signature"))
    return body


class V1Callbacks:
    """POST /callbacks/v1: Telesign's transaction callbacks for v1 calls placed by `ivrflow send`."""

    def __init__(self, writer: Writer, api_key: str | None, metrics: Metrics) -> None:
        self.writer = writer
        self.store = writer.store
        self.api_key = api_key
        self.metrics = metrics

    async def handle(self, request: Request) -> Response:
        began = time.perf_counter()
        outcome, response = await self._handle(request)
        self.metrics.answer_seconds.observe(time.perf_counter() - began)
        self.metrics.events.labels("v1_callback", outcome).inc()
        return response

    async def _handle(self, request: Request) -> tuple[str, Response]:
        body = await signed_body(request, self.api_key, self.metrics)
        if isinstance(body, Refused):
            return body.outcome, body.response
        try:
            report = parse_v1_report(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            return "invalid", _refuse(400, "the body is not JSON")
        except BadEvent as problem:
            return "invalid", _refuse(400, str(problem))
        try:
            applied = await self.writer.run(lambda: self.locate_and_apply(report))
        except StoreUnavailable as problem:
            log.error("v1 callback for call %s not applied: %s", report.reference_id, problem)
            return "store_unavailable", _refuse(503, "the call store is not answering; deliver this callback again", {"Retry-After": "1"})
        if applied.outcome == "unknown":
            # Telesign delivers again after a failure, so a callback that overtook `ivrflow send`'s
            # record of the call still lands; one for a call placed elsewhere stops after a few tries.
            log.warning("v1 callback for unknown call %s (status %d)", report.reference_id, report.code)
            return "unknown_call", _refuse(404, f"no v1 call with reference_id {report.reference_id}")
        if applied.ended:
            self.metrics.calls_ended.labels(applied.ended).inc()
        log.info("v1 callback for call %s: status %d, %s", report.reference_id, report.code, applied.outcome)
        return applied.outcome, Response("{}", media_type="application/json")

    def locate_and_apply(self, report: V1Report) -> Reported:
        """On the writer thread, as for events: find the call (by its external_id when
        that is one of our v1 calls, else by Telesign's id) and apply the report to it."""
        ours = self.store.get(report.external_id) if report.external_id else None
        if ours is not None and ours.v1 is not None:
            key = ours.reference_id
        else:
            key = self.store.find(report.reference_id) or report.reference_id
        return self.store.update(key, lambda record: apply_report(record, report, time.time()))


def _undelivered(record: CallRecord | None, digest: str) -> CallRecord | None:
    if record is None or record.last_event != digest:
        return None  # a newer event has been applied since: nothing to remember
    return replace(record, delivered=False)


def _error(reason: str) -> str:
    return json.dumps({"error": reason})


def _refuse(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return Response(_error(reason), status_code=status, media_type="application/json", headers=headers)


async def _watch(flows: Flows, interval: float) -> None:
    """Reload the flows whenever a file in their folder changes (checked every `interval` s)."""
    seen = await run_in_threadpool(flows.fingerprint)
    while True:
        await asyncio.sleep(interval)
        now = await run_in_threadpool(flows.fingerprint)
        if now != seen:
            seen = now
            await run_in_threadpool(flows.reload)


def create_app(
    flows_dir: Path,
    store: Store,
    *,
    credentials: Credentials | None,
    watch: float = 1.0,
    duplicate_window: float = DUPLICATE_WINDOW,
    dial_timeout: float = 10.0,
) -> Starlette:
    """The engine's app: Telesign's webhook, the management API, health and metrics.
    `credentials`: the Telesign account's (None: nothing is checked, no call can be placed).
    `watch`: seconds between looks for changed flow files (0: only SIGHUP)."""
    flows = Flows(flows_dir)
    for problem in flows.load():
        log.error("flow not loaded: %s", problem)
    metrics = Metrics(store)
    api_key = credentials.api_key if credentials else None
    writer = Writer(store)
    webhook = Webhook(flows, writer, api_key, metrics, duplicate_window)
    callbacks = V1Callbacks(writer, api_key, metrics)
    api = Api(lambda: flows.current, store, credentials, metrics, dial_timeout=dial_timeout)

    async def healthz(request: Request) -> Response:
        healthy = bool(flows.current) and await run_in_threadpool(store.healthy)
        return JSONResponse({"flows": len(flows.current), "store": "ok" if healthy else "down"}, status_code=200 if healthy else 503)

    async def metrics_text(request: Request) -> Response:
        return Response(await run_in_threadpool(metrics.render), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        reloads: set[asyncio.Future[None]] = set()  # held until done, so none is collected midway

        def on_sighup() -> None:  # `kill -HUP <pid>`: reload now, off the event loop
            reload = asyncio.ensure_future(run_in_threadpool(flows.reload))
            reloads.add(reload)
            reload.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_sighup)
        watcher = asyncio.create_task(_watch(flows, watch)) if watch > 0 else None
        yield
        loop.remove_signal_handler(signal.SIGHUP)
        if watcher is not None:
            watcher.cancel()
        await run_in_threadpool(writer.close)

    routes = [
        Route("/webhook", webhook.handle, methods=["POST"]),
        Route("/callbacks/v1", callbacks.handle, methods=["POST"]),
        *api.routes(),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.flows = flows
    return app


# `ivrflow serve --workers N` passes its options to each worker process in this variable.
SERVE_OPTIONS = "IVRFLOW_SERVE_OPTIONS"


def app_from_options(options: dict[str, Any], store: Store | None = None) -> Starlette:
    """The app `ivrflow serve` runs, from its options (flows, store, watch, duplicate_window,
    dial_timeout); the Telesign credentials come from the environment."""
    return create_app(
        Path(options["flows"]),
        store if store is not None else open_store(options["store"]),
        credentials=Credentials.from_env(),
        watch=float(options["watch"]),
        duplicate_window=float(options["duplicate_window"]),
        dial_timeout=float(options["dial_timeout"]),
    )


class _TcpConfig(uvicorn.Config):
    """uvicorn's config, with a listening socket that says it is TCP. uvicorn makes the socket its
    workers share with protocol 0; accepted connections inherit that, and asyncio turns Nagle's
    algorithm off only on a socket that says IPPROTO_TCP. With Nagle on, an answer's body waits for
    the client's delayed ACK of its headers: 40 ms more on every kept-alive request (uvicorn
    issue 3149, seen here as --workers 2 answering 16 times slower than --workers 1)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def serve_workers(options: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Run `workers` processes on one port, each building its app from `options` (app_from_env)."""
    os.environ[SERVE_OPTIONS] = json.dumps(options)
    run_workers("ivrflow.server.app:app_from_env", host, port, workers, factory=True)


def run_workers(app: str, host: str, port: int, workers: int, *, factory: bool = False) -> None:
    """Serve the ASGI app at import path `app` ("module:name") from `workers` processes on one port."""
    config = _TcpConfig(app, factory=factory, host=host, port=port, workers=workers, log_level="warning")
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def app_from_env() -> Starlette:
    """One worker's app, for uvicorn's `factory=True`: options from SERVE_OPTIONS."""
    options: dict[str, Any] = json.loads(os.environ[SERVE_OPTIONS])
    configure_logs(options["log_format"])
    return app_from_options(options)
