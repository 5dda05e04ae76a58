"""The webhook server: a thin shell around `step()`, assembled here from its parts.

POST /webhook: Telesign's call events (ivrflow/server/webhook.py).
POST /callbacks/v1: Telesign's status callbacks for v1 calls (ivrflow/server/callbacks.py), signed alike.
How both are authenticated (Telesign's signature, or a secret in the path: /webhook/<secret>) is
the operator's choice: ivrflow/server/webhook_auth.py.
POST /checks, GET /checks/{id}: the test call of `ivrflow check-telesign`, and the record of what
Telesign posted for it (ivrflow/server/checks.py; recording is off unless a check runs).
GET /healthz: flows loaded and the store answering. GET /metrics: Prometheus text. GET /openapi.json:
all of this in OpenAPI 3.1 (ivrflow/server/openapi.py). The
management API (ivrflow/server/calls_api.py) shares the flows and the store. The flows folder
(ivrflow/server/flows.py) is reloaded on SIGHUP and when a file in it changes. Several worker
processes on one port: ivrflow/server/workers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ivrflow.server.callbacks import V1Callbacks
from ivrflow.server.calls_api import Api
from ivrflow.server.checks import Checks, RecordingMiddleware
from ivrflow.server.flows import Flows
from ivrflow.server.http import gone
from ivrflow.server.lookups import Lookups
from ivrflow.server.metrics import CONTENT_TYPE, Metrics
from ivrflow.server.notices import SECRET_ENV, Notices
from ivrflow.server.openapi import document
from ivrflow.server.operator import operator_pages
from ivrflow.server.schedule_clock import schedule_clock
from ivrflow.server.webhook import Webhook
from ivrflow.server.webhook_auth import SECRET, WebhookAuth
from ivrflow.server.writer import Writer
from ivrflow.stores import DUPLICATE_WINDOW, Store, open_store
from ivrflow.stores.outbox import outbox_of
from ivrflow.telesign.auth import Credentials

log = logging.getLogger("ivrflow")


def create_app(
    flows_dir: Path,
    store: Store,
    *,
    credentials: Credentials | None,
    watch: float = 1.0,
    duplicate_window: float = DUPLICATE_WINDOW,
    dial_timeout: float = 10.0,
    webhook_auth: WebhookAuth | None = None,
    allow_hosts: frozenset[str] = frozenset(),
    environ: Mapping[str, str] | None = None,
    http_ca_file: str | None = None,
    notify: str | None = None,
    at: str | None = None,
) -> Starlette:
    """The engine's app: Telesign's webhook, the management API, health and metrics.
    `credentials`: the Telesign account's (None: nothing is checked, no call can be placed).
    `watch`: seconds between looks for changed flow files (0: only SIGHUP). `webhook_auth`: how
    Telesign's posts are authenticated (default: its signature when there are credentials).
    `allow_hosts`: the hosts http nodes may ask; `environ`: where their secrets are read
    (IVRFLOW_SECRET_NAME; default: this process's environment); `http_ca_file`: the CA bundle
    their certificates are checked against (default: the usual ones). `notify`: where the notice
    of each ended call is posted (a flow's `notify:` takes its place), signed with
    IVRFLOW_NOTIFY_SECRET from `environ`."""
    flows = Flows(flows_dir)
    for problem in flows.load():
        log.error("flow not loaded: %s", problem)
    metrics = Metrics(store)
    auth = webhook_auth or WebhookAuth.choose(None, credentials, None)
    log.info("webhook authentication: %s", auth.describe())
    writer = Writer(store)
    env = os.environ if environ is None else environ
    lookups = Lookups(allow_hosts, env, metrics, ca_file=http_ca_file)
    notices = Notices(
        store,
        outbox_of(store),
        lambda record: flows.for_state(record.state),
        metrics,
        url=notify,
        secret=env.get(SECRET_ENV) or None,
        ca_file=http_ca_file,
    )
    if (notify or any(flow.notify for flow in flows.current.values())) and notices.secret is None:
        log.error("end-of-call notices are not sent: set %s, the secret they are signed with", SECRET_ENV)
    clock = schedule_clock(at, flows.current)  # `at`: judge schedules as if started then (serve --at)
    webhook = Webhook(flows, writer, auth, metrics, duplicate_window, lookups, notices, clock=clock)
    callbacks = V1Callbacks(writer, auth, metrics, notices)
    api = Api(lambda: flows.current, store, credentials, metrics, dial_timeout=dial_timeout, clock=clock)
    checks = Checks(api, flows, store, auth)

    async def healthz(request: Request) -> Response:
        healthy = bool(flows.current) and await run_in_threadpool(store.healthy)
        return JSONResponse(
            {"flows": len(flows.current), "store": "ok" if healthy else "down"}, status_code=200 if healthy else 503
        )

    async def metrics_text(request: Request) -> Response:
        return Response(await run_in_threadpool(metrics.render), media_type=CONTENT_TYPE)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document(flows.current))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        reloads: set[asyncio.Future[None]] = set()  # held until done, so none is collected midway

        def on_sighup() -> None:  # `kill -HUP <pid>`: reload now, off the event loop
            reload = asyncio.ensure_future(run_in_threadpool(flows.reload))
            reloads.add(reload)
            reload.add_done_callback(reloads.discard)

        # Only the main thread may handle signals; an app served from another (embedded, or in a
        # test) reloads through its file watch alone.
        sighup = threading.current_thread() is threading.main_thread()
        if sighup:
            loop.add_signal_handler(signal.SIGHUP, on_sighup)
        watcher = asyncio.create_task(flows.watch(watch)) if watch > 0 else None
        delivering = asyncio.create_task(notices.run())  # and what a previous run left pending
        yield
        delivering.cancel()
        if sighup:
            loop.remove_signal_handler(signal.SIGHUP)
        if watcher is not None:
            watcher.cancel()
        await lookups.close()
        await run_in_threadpool(writer.close)

    # With a secret, events come to /webhook/<secret>; the bare paths stay, to refuse and say why.
    secret_routes = [
        Route("/webhook/{secret}", webhook.handle, methods=["POST"]),
        Route("/callbacks/v1/{secret}", callbacks.handle, methods=["POST"]),
    ]
    routes: list[BaseRoute] = [
        Route("/webhook", webhook.handle, methods=["POST"]),
        Route("/callbacks/v1", callbacks.handle, methods=["POST"]),
        *(secret_routes if auth.mode == SECRET else []),
        *api.routes(),
        *checks.routes(),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),  # every route has its piece in ivrflow/server/openapi.py
    ]
    # The studio's pages, read only, with the calls: behind the calls API's credentials.
    routes.append(Mount("/studio", app=operator_pages(flows_dir, api, store)))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ClientDisconnect: gone},
        middleware=[Middleware(RecordingMiddleware, checks=checks)],
    )
    app.state.flows = flows
    return app


def app_from_options(options: dict[str, Any], store: Store | None = None) -> Starlette:
    """The app `ivrflow serve` runs, from its options (flows, store, watch, duplicate_window,
    dial_timeout, webhook_auth); the Telesign credentials and the webhook secret come from the
    environment."""
    credentials = Credentials.from_env()
    auth = WebhookAuth.choose(options.get("webhook_auth"), credentials, os.environ.get("IVRFLOW_WEBHOOK_SECRET"))
    return create_app(
        Path(options["flows"]),
        store if store is not None else open_store(options["store"]),
        credentials=credentials,
        watch=float(options["watch"]),
        duplicate_window=float(options["duplicate_window"]),
        dial_timeout=float(options["dial_timeout"]),
        webhook_auth=auth,
        allow_hosts=frozenset(options.get("allow_hosts") or ()),
        http_ca_file=options.get("http_ca_file"),
        notify=options.get("notify"),
        at=options.get("at") or os.environ.get("IVRFLOW_AT"),
    )
