"""POST /webhook: verify the signature → parse the event → in the call's store transaction: skip a
redelivery, step the interpreter, save the state and the transcript steps → answer the action.
An `http` node's lookup runs between two such transactions (server/lookups.py says how)."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from functools import partial

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ivrflow.calls.events import Action, CallEnded, CallStarted, Event, HangUp, Lookup, NoAction, Speak
from ivrflow.calls.interpreter import NOT_IN_SERVICE, CallState, new_call, step
from ivrflow.calls.lookups import LookupDone, request_for
from ivrflow.calls.record import CallRecord
from ivrflow.calls.tally import step_tally
from ivrflow.calls.transcripts import Step, heard
from ivrflow.errors import BadEvent, StoreUnavailable
from ivrflow.language.http_node import Http
from ivrflow.language.model import Flow, digits_only
from ivrflow.server.flows import Flows
from ivrflow.server.http import Refused, error_json, refuse, signed_body
from ivrflow.server.logs import event_handled
from ivrflow.server.lookups import Lookups
from ivrflow.server.metrics import Metrics, event_label
from ivrflow.server.notices import Notices
from ivrflow.server.schedule_clock import Clock, real_time
from ivrflow.server.webhook_auth import WebhookAuth
from ivrflow.server.writer import Writer
from ivrflow.stores import DUPLICATE_WINDOW
from ivrflow.telesign.facts import DEFAULT_LANGUAGE
from ivrflow.telesign.v2 import WebhookEvent, action_json, method_of, parse_event, to_engine_event

SORRY = NOT_IN_SERVICE
log = logging.getLogger("ivrflow")

# A sender gives up on an answer only after waiting for it (Telesign documents 5 s for its SMS
# callbacks), so an answer ready sooner than this reached any sender still there to take it; only
# a slower one is worth asking the connection whether it did (which costs a turn of the event loop).
GAVE_UP_AFTER = 0.5


def _answer(action: Action) -> str:
    # orjson: what json.dumps wrote less its spaces, several times faster. A redelivered event
    # is answered with the stored text of its first answer, so its bytes never change.
    return orjson.dumps(action_json(action)).decode()


def _answer_of(action: Action) -> tuple[str, Lookup | None, str]:
    """The answer to send for `action` ("" while a lookup must come first), the lookup it asks
    for, and the action's name for the log."""
    if isinstance(action, Lookup):
        if action.hold is not None:
            return _answer(action.hold), action, method_of(action.hold)
        return "", action, "lookup"
    return _answer(action), None, method_of(action)


def _sorry_call() -> tuple[CallState, Action]:
    """A call to a number no flow serves: a clear apology, then hang up."""
    return CallState(flow="", version="", waiting="last-words"), Speak(SORRY, DEFAULT_LANGUAGE, False)


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one event came to: the HTTP answer, and what to count."""

    status: int
    answer: str
    outcome: str  # for ivrflow_events_total: answered, duplicate, ignored, unknown_call (and invalid, bad_signature, store_unavailable, error)
    started: bool = False  # an incoming call began
    ended: str = ""  # the call ended now, this way
    flow: str = ""  # for the log line: the call's flow, its node now, the action answered
    node: str = ""
    action: str = ""
    lookup: Lookup | None = None  # a lookup to perform (or, with its hold words answered, to start)
    lookup_flow: Flow | None = None


class Webhook:
    def __init__(
        self,
        flows: Flows,
        writer: Writer,
        auth: WebhookAuth,
        metrics: Metrics,
        duplicate_window: float = DUPLICATE_WINDOW,
        lookups: Lookups | None = None,
        notices: Notices | None = None,
        *,
        clock: Clock = real_time,
    ) -> None:
        self.notices = notices
        self.flows = flows
        self.lookups = lookups or Lookups(frozenset(), {}, metrics)
        self.clock = clock  # the time a branch judges schedules at, from an event's arrival time
        self.writer = writer
        self.store = writer.store
        self.auth = auth
        self.metrics = metrics
        self.duplicate_window = duplicate_window

    async def handle(self, request: Request) -> Response:
        began = time.perf_counter()
        read: list[WebhookEvent] = []  # the event, once read: a failure after that still names it
        try:
            applied, response = await self._handle(request, began, read)
        except ClientDisconnect:
            raise  # the sender is gone: nobody to answer
        except Exception:
            # A bug, not the sender's fault: still one answer in the webhook's shape, one line, one count.
            log.exception("webhook request failed")
            applied, response = Applied(500, "", "error"), refuse(500, "the server failed; the log has the details")
        event = read[0] if read else None
        took = time.perf_counter() - began
        self.metrics.answer_seconds.observe(took)
        self.metrics.events.labels(event_label(event.name if event else None), applied.outcome).inc()
        event_handled(
            reference_id=event.reference_id if event else None,
            flow=applied.flow or None,
            node=applied.node or None,
            event=event.name if event else "unknown",
            outcome=applied.outcome,
            action=applied.action or None,
            status=response.status_code,
            latency_ms=round(took * 1000, 2),
        )
        return response

    async def _handle(self, request: Request, began: float, read: list[WebhookEvent]) -> tuple[Applied, Response]:
        """What was done with the request, and the answer; the event, once read, goes in `read`."""
        body = await signed_body(request, self.auth, self.metrics)
        if isinstance(body, Refused):
            return Applied(body.response.status_code, "", body.outcome), body.response
        try:
            event = parse_event(body)
        except BadEvent as problem:
            return Applied(400, "", "invalid"), refuse(400, str(problem))
        read.append(event)
        digest = hashlib.sha256(body).hexdigest()
        try:
            key, applied = await self.writer.run(lambda: self._noted(*self.locate_and_apply(event, digest)))
            if time.perf_counter() - began >= GAVE_UP_AFTER and await request.is_disconnected():
                # The sender gave up before the answer was ready and will deliver the event again:
                # remember that this answer never reached it, so that the redelivery gets it.
                await self.writer.run(
                    lambda: self.store.update(key, lambda record: (_undelivered(record, digest), [], None))
                )
        except StoreUnavailable as problem:
            log.error("event %s for call %s not applied: %s", event.name, event.reference_id, problem)
            return Applied(503, "", "store_unavailable"), refuse(
                503, "the call store is not answering; deliver this event again", {"Retry-After": "1"}
            )
        started = applied.started
        try:
            applied = await self._lookups(key, digest, applied)
        except StoreUnavailable as problem:
            log.error("lookup result for call %s not applied: %s", event.reference_id, problem)
            return Applied(503, "", "store_unavailable"), refuse(
                503, "the call store is not answering; deliver this event again", {"Retry-After": "1"}
            )
        if started:
            self.metrics.calls_started.labels("inbound").inc()
        if applied.ended:
            self.metrics.calls_ended.labels(applied.ended).inc()
            if self.notices is not None:
                self.notices.wake()
        return applied, Response(applied.answer, status_code=applied.status, media_type="application/json")

    async def _lookups(self, key: str, digest: str, applied: Applied) -> Applied:
        """Perform the lookups `applied` asks for, each result applied in a transaction of its own,
        until the call has an answer for Telesign; a lookup behind hold words starts and is left
        to run. A flow may chain lookups: each is bounded by its own timeout."""
        ended = applied.ended
        while applied.lookup is not None and applied.lookup_flow is not None:
            lookup, flow = applied.lookup, applied.lookup_flow
            if lookup.hold is not None:
                self.lookups.start(key, flow, lookup.request)
                break
            done = await self.lookups.result(key, flow, lookup.request)
            applied = await self.writer.run(partial(self._store_result, key, digest, done))
            ended = ended or applied.ended
        return replace(applied, ended=ended)

    def _store_result(self, key: str, digest: str, done: LookupDone) -> Applied:
        return self._noted(
            key, self.store.update(key, lambda record: self.apply_result(record, digest, done, time.time()))
        )[1]

    def _noted(self, key: str, applied: Applied) -> tuple[str, Applied]:
        """On the writer thread, in the batch that stored `applied`: the notice of a call it ended."""
        if applied.ended and self.notices is not None:
            self.notices.ended(key)
        return key, applied

    def apply_result(
        self, record: CallRecord | None, digest: str, done: LookupDone, now: float
    ) -> tuple[CallRecord | None, list[Step], Applied]:
        """Inside the call's transaction: a lookup's result applied, if the call still waits for it."""
        flow = self.flows.for_state(record.state) if record is not None else None
        if record is None or flow is None or record.state.waiting != "lookup" or record.state.node != done.node:
            answer = record.last_answer if record is not None and record.last_answer else "{}"
            return None, [], Applied(200, answer, "duplicate", action="repeated")
        state, action = step(flow, record.state, done, self.clock(now))
        return _moved(record, flow, done, state, action, digest, now)

    def locate_and_apply(self, event: WebhookEvent, digest: str) -> tuple[str, Applied]:
        """On the writer thread: the call's key, and the event applied to it. A call we placed is
        known by our id, its `external_id`; Telesign's id finds it too."""
        key = event.external_id or event.reference_id

        def change(record: CallRecord | None) -> tuple[CallRecord | None, list[Step], Applied]:
            nonlocal key
            key = record.reference_id if record is not None else key
            return self.apply(record, event, digest, time.time())

        applied = self.store.update(key, change, telesign_id="" if event.external_id else event.reference_id)
        return key, applied

    def apply(
        self, record: CallRecord | None, event: WebhookEvent, digest: str, now: float
    ) -> tuple[CallRecord | None, list[Step], Applied]:
        """Inside the call's transaction: the record to store, the transcript steps to add, and
        what to answer."""
        # The same event again: the same answer, and the call does not move. A call starts once, so
        # its incoming_call again is a redelivery however late (say, after the store was down
        # when the first was applied, so that its answer never left).
        if (
            record is not None
            and record.last_event == digest
            and (not record.delivered or now - record.updated < self.duplicate_window or event.starts_call)
        ):
            again = Applied(
                200, record.last_answer, "duplicate", flow=record.state.flow, node=record.state.node, action="repeated"
            )
            if not record.last_answer and record.state.waiting == "lookup":  # its lookup never finished: do it now
                again = replace(
                    again, lookup=self._pending_lookup(record.state), lookup_flow=self.flows.for_state(record.state)
                )
            return (replace(record, delivered=True) if not record.delivered else None), [], again
        if record is None:
            if event.needs_call:
                return (
                    None,
                    [],
                    Applied(404, error_json(f"no call with reference_id {event.reference_id}"), "unknown_call"),
                )
            if not event.starts_call:  # call_completed of a call we never had, or an unknown event
                log.info("event %s for unknown call %s answered with {}", event.name, event.reference_id)
                return None, [], Applied(200, "{}", "ignored")
            state, first, steps, tally = self.start(event, now)
            answer, lookup, name = _answer_of(first)
            created = CallRecord(
                event.reference_id,
                state,
                digest,
                answer,
                updated=now,
                created=now,
                telesign_id=event.reference_id,
                tally=tally,
            )
            return (
                created,
                steps,
                Applied(
                    200,
                    answer,
                    "answered",
                    started=True,
                    ended=created.status if state.ended else "",
                    flow=state.flow,
                    node=state.node,
                    action=name,
                    lookup=lookup,
                    lookup_flow=self.flows.for_state(state) if lookup else None,
                ),
            )
        translated = to_engine_event(event)
        if translated is None:
            log.info("event %s for call %s ignored", event.name, event.reference_id)
            return None, [], Applied(200, "{}", "ignored")
        flow = self.flows.for_state(record.state)
        if flow is None:  # an apology call, or a version no longer known: end it safely
            action: Action = NoAction() if isinstance(translated, CallEnded) or record.state.ended else HangUp()
            state = replace(record.state, waiting="ended", outcome=record.state.outcome or "completed")
        else:
            state, action = step(flow, record.state, translated, self.clock(now))
        record = replace(record, telesign_id=record.telesign_id or event.reference_id)
        return _moved(record, flow, translated, state, action, digest, now)

    def _pending_lookup(self, state: CallState) -> Lookup | None:
        flow = self.flows.for_state(state)
        node = flow.nodes.get(state.node) if flow is not None else None
        return Lookup(request_for(node, state.variables)) if isinstance(node, Http) else None

    def start(self, event: WebhookEvent, now: float) -> tuple[CallState, Action, list[Step], tuple[str, ...]]:
        """The call's first state, action and steps, and what they add to its flow's counts."""
        called, caller = event.numbers
        flow_id = self.flows.numbers.get(digits_only(called))
        if flow_id is None:
            log.warning("incoming call to %s: no flow serves this number", called)
            state, action = _sorry_call()
            return state, action, heard(state, CallStarted(), action), ()
        flow = self.flows.current[flow_id]
        fresh = new_call(flow, language=self.flows.number_languages.get(digits_only(called), ""))
        started = CallStarted({"caller": digits_only(caller), "called": digits_only(called)})
        state, action = step(flow, fresh, started, self.clock(now))
        steps = heard(fresh, started, action, flow)
        return state, action, steps, step_tally(flow, fresh, started, state)


def _moved(
    record: CallRecord, flow: Flow | None, event: Event, state: CallState, action: Action, digest: str, now: float
) -> tuple[CallRecord, list[Step], Applied]:
    """The call moved by `event` to `state`, answered with `action`: the record to store (with the
    counts the step adds), the transcript steps, and what to answer. `flow` None: a call ended
    without its flow (an apology, a version no longer known)."""
    answer, lookup, name = _answer_of(action)
    updated = replace(
        record,
        state=state,
        last_event=digest,
        last_answer=answer,
        updated=now,
        delivered=True,
        tally=step_tally(flow, record.state, event, state) if flow is not None else (),
    )
    applied = Applied(
        200,
        answer,
        "answered",
        ended=updated.status if state.ended and not record.state.ended else "",
        flow=state.flow,
        node=state.node,
        action=name,
        lookup=lookup,
        lookup_flow=flow if lookup else None,
    )
    return updated, heard(record.state, event, action, flow), applied


def _undelivered(record: CallRecord | None, digest: str) -> CallRecord | None:
    if record is None or record.last_event != digest:
        return None  # a newer event has been applied since: nothing to remember
    return replace(record, delivered=False)
