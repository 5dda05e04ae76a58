"""The live half of an `http` node: the request made on httpx's async client, off the call's store
transaction, so that a slow web service holds up neither the event loop nor any other call.

How a lookup fits Telesign's one answer per event (calls/lookups.py has the pure half):

- Without `hold`: the event that reaches the node is applied (the call now waits at "lookup"),
  then the webhook performs the lookup (at most the node's `timeout`, 5 s at most), applies its
  result as a `LookupDone` in a second store transaction, and answers the event with the action
  that result leads to. The caller hears nothing for at most the timeout.
- With `hold`: the event is answered at once with `speak hold`, and the lookup starts in the
  background. The `speak_completed` that follows moves the call to "lookup"; the webhook then
  awaits the lookup already under way (or, when this process did not start it, after a restart
  or on another worker, performs it), applies the result, and answers with what it leads to.

The call's events stay applied one at a time: the result is applied through the same writer and
store transaction as any event, and only while the call still waits at that node's "lookup"
(a result that comes too late, or twice, changes nothing).

What is never done: a host the operator did not allow (`--allow-host`, IVRFLOW_ALLOW_HOSTS) is not
asked (the call goes to `on_error`, with a log line); a redirect is not followed (it could lead to
another host); a `{{ secret.NAME }}` whose IVRFLOW_SECRET_NAME is not set is not sent empty; only
https is spoken, with certificates checked (against `ca_file` when the operator's services use a
private authority: `serve --http-ca-file`; the tests use one made for them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

import httpx
from prometheus_client import Counter, Histogram

from ivrflow.calls.lookups import LookupDone, Request, describe, failed, result_of
from ivrflow.language.http_node import SECRET, SECRET_ENV_PREFIX, Http, host_allowed
from ivrflow.language.model import Flow
from ivrflow.server.metrics import Metrics

log = logging.getLogger("ivrflow")

MOST_ANSWER = 1 << 20  # bytes of an answer read; a bigger one is no lookup answer (not JSON)


class Lookups:
    def __init__(
        self,
        hosts: frozenset[str],
        environ: Mapping[str, str],
        metrics: Metrics,
        *,
        ca_file: str | None = None,
    ) -> None:
        self.hosts = hosts
        self.environ = environ
        self.ca_file = ca_file
        self._client: httpx.AsyncClient | None = None
        self._pending: dict[tuple[str, str], asyncio.Task[LookupDone]] = {}
        self.count = Counter(
            "ivrflow_lookups",
            "Lookups of http nodes, by outcome (ok, or why they went to on_error)",
            ["outcome"],
            registry=metrics.registry,
        )
        self.seconds = Histogram(
            "ivrflow_lookup_seconds",
            "Time a lookup of an http node took",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=metrics.registry,
        )

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
            self._client = httpx.AsyncClient(
                verify=self.ca_file or True, follow_redirects=False, limits=limits, trust_env=False
            )
        return self._client

    async def close(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def start(self, call: str, flow: Flow, request: Request) -> None:
        """Begin the lookup in the background (while the hold words are said)."""
        key = (call, request.node)
        if key not in self._pending:
            self._pending[key] = asyncio.create_task(self.perform(flow, request))

    async def result(self, call: str, flow: Flow, request: Request) -> LookupDone:
        """The lookup's outcome: the one under way for this call and node, else a new one."""
        task = self._pending.pop((call, request.node), None)
        if task is None:
            return await self.perform(flow, request)
        return await task

    async def perform(self, flow: Flow, request: Request) -> LookupDone:
        began = time.perf_counter()
        done = await self._perform(flow, request, began)
        self.count.labels(done.error or "ok").inc()
        self.seconds.observe(time.perf_counter() - began)
        if not done.ok:
            log.warning(
                "lookup failed: flow %s, %s%s", flow.id, describe(done), f" ({done.detail})" if done.detail else ""
            )
        return done

    async def _perform(self, flow: Flow, request: Request, began: float) -> LookupDone:
        node = flow.nodes.get(request.node)
        if not isinstance(node, Http):
            return failed(request.node, "refused", "no such http node")
        if not request.host or not host_allowed(request.host, self.hosts):
            return failed(request.node, "host", f"{request.host or 'no host'} is not allowed (serve --allow-host)")
        if not request.url.lower().startswith("https://"):
            return failed(request.node, "host", "only https is spoken")
        headers: list[tuple[str, str]] = []
        for name, value in request.headers:
            missing = [m.group(1) for m in SECRET.finditer(value) if SECRET_ENV_PREFIX + m.group(1) not in self.environ]
            if missing:
                return failed(request.node, "secret", f"{SECRET_ENV_PREFIX}{missing[0]} is not set")
            headers.append((name, SECRET.sub(lambda m: self.environ[SECRET_ENV_PREFIX + m.group(1)], value)))
        timeout = httpx.Timeout(request.timeout)
        try:
            async with asyncio.timeout(request.timeout):  # the whole lookup, however the answer trickles in
                async with self.client().stream(
                    request.method, request.url, headers=headers, content=request.body, timeout=timeout
                ) as answer:
                    body = b""
                    async for chunk in answer.aiter_bytes():
                        body += chunk
                        if len(body) > MOST_ANSWER:
                            break
        except (TimeoutError, httpx.TimeoutException):
            return failed(request.node, "timeout", ms=_ms(began))
        except httpx.HTTPError as error:
            return failed(request.node, "refused", type(error).__name__, ms=_ms(began))
        return result_of(node, answer.status_code, body, ms=_ms(began))


def _ms(began: float) -> int:
    return round((time.perf_counter() - began) * 1000)
