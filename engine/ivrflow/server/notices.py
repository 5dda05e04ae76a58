"""End-of-call notices: when a call ends, a signed JSON summary is posted to the business
(`serve --notify URL`, or a flow's own `notify:`), retried with backoff until it answers 2xx.

The notice is put in the store's outbox (stores/outbox.py) in the same store batch as the change
that ended the call, so a restart, even a kill, loses none: the delivery loop takes up whatever
is pending when the server starts, including the notices of v1 calls whose end `ivrflow send
--wait` or `ivrflow status` learnt first (placing.py keeps them in the same outbox). Delivery is at least once; each notice has an `id` (one per
call) for the receiver to deduplicate.

The signature is the scheme Stripe and GitHub use: the header

    Ivrflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>

with the secret from IVRFLOW_NOTIFY_SECRET. A receiver recomputes it over the raw body, compares
in constant time, and refuses a timestamp too old (docs/api.md has the snippet).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator

import httpx
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from ivrflow.calls.notice import destination
from ivrflow.calls.record import CallRecord
from ivrflow.language.model import Flow
from ivrflow.server.metrics import Metrics
from ivrflow.stores import Store
from ivrflow.stores.outbox import Notice, Outbox, keep_notice

log = logging.getLogger("ivrflow")

SIGNATURE_HEADER = "Ivrflow-Signature"
SECRET_ENV = "IVRFLOW_NOTIFY_SECRET"
FIRST_RETRY, LONGEST_RETRY = 1.0, 600.0  # seconds: 1, 2, 4, ... up to 10 minutes between tries
POST_TIMEOUT = 10.0


def signature(secret: str, body: bytes, at: int) -> str:
    """The Ivrflow-Signature header's value for `body` sent at unix time `at`."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def backoff(attempts: int) -> float:
    """Seconds before the next try, after `attempts` failed ones."""
    return float(min(FIRST_RETRY * 2.0 ** max(attempts - 1, 0), LONGEST_RETRY))


class _Pending(Collector):
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pending = float(self.outbox.pending())
        except Exception:  # the store did not answer: unknown, not zero
            pending = float("nan")
        yield GaugeMetricFamily("ivrflow_notices_pending", "End-of-call notices not yet delivered", value=pending)


class Notices:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        flow_of: Callable[[CallRecord], Flow | None],
        metrics: Metrics,
        *,
        url: str | None,
        secret: str | None,
        poll: float = 0.5,
        ca_file: str | None = None,
    ) -> None:
        self.ca_file = ca_file
        self.store = store
        self.outbox = outbox
        self.flow_of = flow_of
        self.url = url
        self.secret = secret
        self.poll = poll
        self.delivered = Counter(
            "ivrflow_notices_delivered", "End-of-call notices the receiver took (2xx)", registry=metrics.registry
        )
        self.failures = Counter(
            "ivrflow_notices_failures",
            "Deliveries of end-of-call notices that failed and will be tried again, by why",
            ["reason"],
            registry=metrics.registry,
        )
        metrics.registry.register(_Pending(outbox))
        self._wake = asyncio.Event()

    def ended(self, key: str) -> None:
        """On the writer thread, in the batch that ended call `key`: keep its notice, when it has
        somewhere to go and can be signed."""
        record = self.store.get(key)
        if record is None or self.secret is None:
            return
        flow = self.flow_of(record)
        if destination(flow, self.url) is not None:
            keep_notice(self.store, self.outbox, key, flow, self.url, time.time())

    def _destination(self, notice: Notice) -> str | None:
        """Where `notice` goes: as kept, or, for one kept where this server's options were not known
        (by `ivrflow send --wait` or `ivrflow status`), the call's flow's `notify:` else --notify."""
        if notice.url:
            return notice.url
        record = self.store.get(json.loads(notice.body)["call"]["reference_id"])
        return destination(self.flow_of(record) if record is not None else None, self.url)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Deliver what is pending, now and whenever a call ends, until cancelled. Without the secret
        nothing can be signed: what is pending waits for a server that has it."""
        if self.secret is None:
            return
        async with httpx.AsyncClient(
            timeout=POST_TIMEOUT, follow_redirects=False, trust_env=False, verify=self.ca_file or True
        ) as client:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()
                self._wake.clear()
                try:
                    taken = await run_in_threadpool(self.outbox.take, time.time(), 50)
                except Exception:
                    log.exception("notices: the store did not answer")
                    continue
                await asyncio.gather(*(self._deliver(client, notice) for notice in taken))

    async def _deliver(self, client: httpx.AsyncClient, notice: Notice) -> None:
        assert self.secret is not None
        at = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret, notice.body, at),
            "Ivrflow-Notice-Id": notice.id,
        }
        reason = ""
        try:
            url = await run_in_threadpool(self._destination, notice)
            if url is None:
                log.warning("notice %s dropped: its call's flow has no notify: and the server no --notify", notice.id)
                await run_in_threadpool(self.outbox.delivered, notice.id)
                return
        except Exception:
            log.exception("notice %s: the store did not answer; it is tried again when its lease ends", notice.id)
            return
        try:
            answer = await client.post(url, content=notice.body, headers=headers)
            if not answer.is_success:
                reason = f"http_{answer.status_code // 100}xx"
        except httpx.TimeoutException:
            reason = "timeout"
        except httpx.HTTPError:
            reason = "unreachable"
        try:
            if not reason:
                self.delivered.inc()
                await run_in_threadpool(self.outbox.delivered, notice.id)
                return
            self.failures.labels(reason).inc()
            wait = backoff(notice.attempts + 1)
            log.warning(
                "notice %s not delivered (%s, try %d); next try in %g s", notice.id, reason, notice.attempts + 1, wait
            )
            await run_in_threadpool(self.outbox.retry, notice.id, time.time() + wait)
        except Exception:
            log.exception("notice %s: the store did not answer; it is tried again when its lease ends", notice.id)
