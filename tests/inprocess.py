"""The engine's app in the test's own process, for tests whose subject is what one server answers
(not the process: for workers, signals, crashes and restarts, see live_server.py).

`serving` builds the app as `ivrflow serve` does (`app_from_options`, a real SQLite file, the
Telesign credentials from the environment), runs its lifespan and talks to it through httpx's ASGI
transport, from the test's thread or several (as Starlette's TestClient does, without its
deprecated httpx support, which the warnings-as-errors setting would refuse). `listening` serves
the same app with uvicorn on a thread on a loopback port, for a test whose other parties (the fake
Telesign's carrier, the command line, the official SDK) must reach it over HTTP. Both give what live_server's Server gives: `post` an event, `get`, `db`.
Every answer either gives a test is checked against the server's OpenAPI document (openapi_check.py) first."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

import openapi_check
from conftest import FLOWS
from ivrflow.language.model import Flow
from ivrflow.server.app import app_from_options
from ivrflow.stores import DUPLICATE_WINDOW, Store, open_store
from ivrflow.telesign.auth import basic_authorization, callback_signature
from live_server import CUSTOMER_ID, PostsEvents, place_outbound

T = TypeVar("T")


@contextmanager
def _loop_thread() -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """An event loop on a thread of its own; what it gives runs a coroutine there and returns its
    result (from any thread, so that a test can send requests side by side)."""
    loop = asyncio.new_event_loop()  # the app installs no signal handler off the main thread
    thread = threading.Thread(target=loop.run_forever, name="app-loop", daemon=True)
    thread.start()

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    try:
        yield run
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class App(PostsEvents):
    """An app in this process and a way to send it requests: the same surface as live_server's Server."""

    url: str
    request: Callable[..., httpx.Response]  # as httpx.Client.request, relative to url
    api_key: str | None
    db: Path
    store: Store  # the app's own store, to look at what a request changed
    asgi: Starlette

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def place_outbound(self, flow: Flow, reference: str, to: str, variables: dict[str, str] | None = None) -> None:
        place_outbound(self.db, flow, reference, to, variables)


@contextmanager
def _app(
    db: Path,
    api_key: str | None,
    flows: Path,
    duplicate_window: float,
    dial_timeout: float,
    telesign: str | None,
    store: str | None,
) -> Iterator[tuple[Starlette, Store]]:
    """The app `ivrflow serve --store sqlite:///DB --flows FLOWS` runs (or --store STORE), its Telesign account taken
    from the environment as live_server.start sets it for its process. The account is in the
    environment only while the app is built (it reads it then); Telesign's base URL, read at each
    dial, for as long as the app runs."""
    url = store or f"sqlite:///{db}"
    options = {
        "flows": str(flows),
        "store": url,
        "watch": 0,
        "duplicate_window": duplicate_window,
        "dial_timeout": dial_timeout,
    }  # watch 0: file watching is tested on a real process
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("TELESIGN_")]:
            env.delenv(name)
        if telesign:
            env.setenv("TELESIGN_BASE_URL", telesign)
        opened = open_store(url)
        try:
            with pytest.MonkeyPatch.context() as account:
                if api_key:
                    account.setenv("TELESIGN_CUSTOMER_ID", CUSTOMER_ID)
                    account.setenv("TELESIGN_API_KEY", api_key)
                app = app_from_options(options, opened)
            yield app, opened
        finally:
            opened.close()


def _conforms(response: httpx.Response) -> None:
    """Every answer a test sees conforms to the server's OpenAPI document."""
    response.read()
    openapi_check.check(response)


async def _conforms_async(response: httpx.Response) -> None:
    await response.aread()
    openapi_check.check(response)


@contextmanager
def serving(
    db: Path,
    api_key: str | None = None,
    flows: Path = FLOWS,
    *,
    duplicate_window: float = DUPLICATE_WINDOW,
    dial_timeout: float = 10.0,
    telesign: str | None = None,
    store: str | None = None,
) -> Iterator[App]:
    """The app with its lifespan running, reached through httpx's ASGI transport (no socket)."""
    with (
        _app(db, api_key, flows, duplicate_window, dial_timeout, telesign, store) as (app, opened),
        _loop_thread() as run,
    ):
        url = "http://testserver"
        # A failure inside the app comes back as its 500 answer, as a client would see it.
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app, raise_app_exceptions=False),
            base_url=url,
            event_hooks={"response": [_conforms_async]},
        )
        lifespan = app.router.lifespan_context(app)
        run(lifespan.__aenter__())
        try:
            yield App(
                url,
                lambda method, path, **options: run(client.request(method, path, **options)),
                api_key,
                db,
                opened,
                app,
            )
        finally:
            run(client.aclose())
            run(lifespan.__aexit__(None, None, None))


@contextmanager
def listening(
    db: Path,
    api_key: str | None = None,
    flows: Path = FLOWS,
    *,
    duplicate_window: float = DUPLICATE_WINDOW,
    dial_timeout: float = 10.0,
    telesign: str | None = None,
    store: str | None = None,
) -> Iterator[App]:
    """The app served by uvicorn on a thread, on a free loopback port."""
    with _app(db, api_key, flows, duplicate_window, dial_timeout, telesign, store) as (app, opened):
        # A socket that says it is TCP, so that asyncio turns Nagle's algorithm off (as `serve` gets it).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        loop = asyncio.new_event_loop()  # the app installs no signal handler off the main thread
        thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True)
        thread.start()
        try:
            while not server.started:
                assert thread.is_alive(), "the server did not start"
                threading.Event().wait(0.01)
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            with httpx.Client(base_url=url, timeout=10, event_hooks={"response": [_conforms]}) as client:
                yield App(url, client.request, api_key, db, opened, app)
        finally:
            server.should_exit = True
            thread.join(10)
            loop.close()
            sock.close()


# --- raw requests, for tests of what the app refuses ----------------------------------------

KEY = base64.b64encode(b"strict-input-test-key-32-bytes!!").decode()
JSON = {"Content-Type": "application/json"}
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}


def signed(body: bytes, customer_id: str = CUSTOMER_ID) -> dict[str, str]:
    """The headers of a post signed as Telesign signs it, naming `customer_id`."""
    return {**JSON, "Authorization": f"TSA {customer_id}:{callback_signature(KEY, body)}"}


class Client:
    """Requests to the app, as a test client makes them (paths relative to the app)."""

    def __init__(self, app: App) -> None:
        self.request = app.request
        self.app = app.asgi

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)


@dataclass
class InProcess:
    client: Client
    store: Store

    def webhook(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post("/webhook", content=body, headers=signed(body) if headers is None else headers)

    def callback(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post("/callbacks/v1", content=body, headers=signed(body) if headers is None else headers)

    def api(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.request(
            method, path, content=body or None, headers={**JSON, **BASIC} if headers is None else headers
        )

    def calls(self) -> dict[str, tuple[object, list[dict[str, object]]]]:
        """Every call in the store: its record and its transcript."""
        return {
            record.reference_id: (record, self.store.transcript(record.reference_id))
            for record in self.store.recent(limit=None)
        }

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = self.client.get("/metrics")
        assert answer.status_code == 200, answer.text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples
        }


@contextlib.contextmanager
def in_process(db: Path, store_url: str | None = None, flows: Path = FLOWS) -> Iterator[InProcess]:
    """The app with the account's credentials, on a SQLite file at `db` (or the store at `store_url`).
    Server errors come back as 500 answers, as a client would see them, not as exceptions."""
    with serving(db, KEY, flows, store=store_url) as app:
        yield InProcess(Client(app), app.store)
