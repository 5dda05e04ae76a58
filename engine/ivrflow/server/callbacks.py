"""POST /callbacks/v1: Telesign's status callbacks for v1 calls (ivrflow/v1/outcomes.py), signed
as the webhook's events are."""

from __future__ import annotations

import logging
import time

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ivrflow import strictjson
from ivrflow.calls.record import CallRecord
from ivrflow.calls.transcripts import Step
from ivrflow.errors import BadEvent, BadJson, StoreUnavailable
from ivrflow.server.http import Refused, refuse, signed_body
from ivrflow.server.logs import event_handled
from ivrflow.server.metrics import Metrics
from ivrflow.server.notices import Notices
from ivrflow.server.webhook_auth import WebhookAuth
from ivrflow.server.writer import Writer
from ivrflow.telesign.v1 import V1Report, parse_v1_report
from ivrflow.v1.outcomes import Reported, apply_report

log = logging.getLogger("ivrflow")


class V1Callbacks:
    """POST /callbacks/v1: Telesign's transaction callbacks for v1 calls placed by `ivrflow send`."""

    def __init__(self, writer: Writer, auth: WebhookAuth, metrics: Metrics, notices: Notices | None = None) -> None:
        self.notices = notices
        self.writer = writer
        self.store = writer.store
        self.auth = auth
        self.metrics = metrics

    async def handle(self, request: Request) -> Response:
        began = time.perf_counter()
        read: list[V1Report] = []  # the report, once read: a failure after that still names it
        try:
            outcome, response = await self._handle(request, read)
        except ClientDisconnect:
            raise  # the sender is gone: nobody to answer
        except Exception:
            # A bug, not the sender's fault: still one answer in the callbacks' shape, one line, one count.
            log.exception("v1 callback failed")
            outcome, response = "error", refuse(500, "the server failed; the log has the details")
        took = time.perf_counter() - began
        self.metrics.answer_seconds.observe(took)
        self.metrics.events.labels("v1_callback", outcome).inc()
        event_handled(
            reference_id=read[0].reference_id if read else None,
            event="v1_callback",
            outcome=outcome,
            status=response.status_code,
            latency_ms=round(took * 1000, 2),
        )
        return response

    async def _handle(self, request: Request, read: list[V1Report]) -> tuple[str, Response]:
        body = await signed_body(request, self.auth, self.metrics)
        if isinstance(body, Refused):
            return body.outcome, body.response
        try:
            report = parse_v1_report(strictjson.loads(body))
        except (BadJson, BadEvent) as problem:
            return "invalid", refuse(400, str(problem))
        read.append(report)
        try:
            applied = await self.writer.run(lambda: self.locate_and_apply(report))
        except StoreUnavailable as problem:
            log.error("v1 callback for call %s not applied: %s", report.reference_id, problem)
            return "store_unavailable", refuse(
                503, "the call store is not answering; deliver this callback again", {"Retry-After": "1"}
            )
        if applied.outcome == "unknown":
            # Telesign delivers again after a failure, so a callback that overtook `ivrflow send`'s
            # record of the call still lands; one for a call placed elsewhere stops after a few tries.
            log.warning("v1 callback for unknown call %s (status %d)", report.reference_id, report.code)
            return "unknown_call", refuse(404, f"no v1 call with reference_id {report.reference_id}")
        if applied.ended:
            self.metrics.calls_ended.labels(applied.ended).inc()
            if self.notices is not None:
                self.notices.wake()
        log.info("v1 callback for call %s: status %d, %s", report.reference_id, report.code, applied.outcome)
        return applied.outcome, Response("{}", media_type="application/json")

    def locate_and_apply(self, report: V1Report) -> Reported:
        """On the writer thread, as for events: find the call (by its external_id when
        that is one of our v1 calls, else by Telesign's id) and apply the report to it."""
        ours = self.store.get(report.external_id) if report.external_id else None
        mine = ours.reference_id if ours is not None and ours.v1 is not None else ""
        key = mine or report.reference_id

        def change(record: CallRecord | None) -> tuple[CallRecord | None, list[Step], Reported]:
            nonlocal key
            key = record.reference_id if record is not None else key
            return apply_report(record, report, time.time())

        reported = self.store.update(key, change, telesign_id="" if mine else report.reference_id)
        if reported.ended and self.notices is not None:  # in the same batch: kept with the call's end
            self.notices.ended(key)
        return reported
