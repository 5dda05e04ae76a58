"""A real `ivrflow serve` process on loopback for tests, and a caller that talks to it the way
Telesign does: it posts events over HTTP and carries out the actions it gets back."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from conftest import ROOT
from ivrflow.calls.interpreter import new_call
from ivrflow.calls.record import CallRecord
from ivrflow.language.model import Flow
from ivrflow.language.schema_files import validator
from ivrflow.stores import SqliteStore
from ivrflow.telesign.auth import callback_signature
from ivrflow.tools.carrier import Phone

SUPPORT_NUMBER = "15558675309"
CALLER = "15551230000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostsEvents:
    """What both kinds of test server do alike (a real process here, an app in this process in
    tests/inprocess.py): post an event as Telesign posts it, through the server's own `request`."""

    api_key: str | None
    request: Callable[..., httpx.Response]  # as httpx.Client.request, with a path relative to the server

    def post(
        self,
        event: dict[str, object],
        *,
        sign: bool = True,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> httpx.Response:
        body = raw if raw is not None else json.dumps(event).encode()
        return self.request(
            "POST",
            "/webhook",
            content=body,
            headers=webhook_headers(self.api_key if sign else None, body, headers),
            timeout=timeout,
        )


@dataclass
class Server(PostsEvents):
    url: str
    process: subprocess.Popen[str]
    api_key: str | None
    db: Path
    log: Path  # what the server printed and logged

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", **options)

    def place_outbound(self, flow: Flow, reference: str, to: str, variables: dict[str, str] | None = None) -> None:
        """Store an outbound call as placed and waiting for Telesign's `dial_completed`, in the
        server's own SQLite file (what `POST /calls` does once Telesign has accepted the dial)."""
        place_outbound(self.db, flow, reference, to, variables)


def webhook_headers(api_key: str | None, body: bytes, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of an event Telesign posts: JSON, signed with `api_key` (None: unsigned)."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if api_key:
        sent["Authorization"] = f"TSA {CUSTOMER_ID}:{callback_signature(api_key, body)}"
    return sent


def place_outbound(db: Path, flow: Flow, reference: str, to: str, variables: dict[str, str] | None = None) -> None:
    """Store an outbound call as placed and waiting for `dial_completed` in the SQLite file `db`."""
    state = new_call(flow, {"called": to, "caller": flow.caller_id or "", **(variables or {})})
    store = SqliteStore(db)
    try:
        now = time.time()  # as the server would stamp it
        store.update(
            reference,
            lambda old: (CallRecord(reference, state, updated=now, created=now, direction="outbound"), [], None),
        )
    finally:
        store.close()


CUSTOMER_ID = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"


def start(
    db: Path,
    api_key: str | None = None,
    flows: Path = ROOT / "flows",
    *,
    options: tuple[str, ...] = (),
    telesign: str | None = None,
    errors: Path | None = None,
) -> Server:
    """Start `ivrflow serve`; with `api_key`, as account CUSTOMER_ID; `telesign`: the base URL it
    dials through; `errors`: a file for its stderr (the log lines) apart from its stdout."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    if api_key:
        env |= {"TELESIGN_CUSTOMER_ID": CUSTOMER_ID, "TELESIGN_API_KEY": api_key}
    if telesign:
        env["TELESIGN_BASE_URL"] = telesign
    command = [
        sys.executable,
        "-m",
        "ivrflow",
        "serve",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{db}",
        "--flows",
        str(flows),
        *options,
    ]
    # Output goes to files: a server logs a line per event, and a pipe nobody reads would fill and stop it.
    log = db.with_name(f"{db.name}.{port}.log")
    with open(log, "w") as sink, open(errors or os.devnull, "w") as apart:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=apart if errors else subprocess.STDOUT, text=True
        )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, process, api_key, db, log)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"server did not start: {log.read_text()}{errors.read_text() if errors else ''}")


def stop(server: Server) -> str:
    """Stop the server; what it printed and logged."""
    server.process.terminate()
    server.process.wait(timeout=10)
    return server.log.read_text()


def incoming(reference: str, to: str = SUPPORT_NUMBER) -> dict[str, object]:
    return {"event": "incoming_call", "reference_id": reference, "data": {"to": to, "from": CALLER}}


def spoken(reference: str, digits: str | None = "") -> dict[str, object]:
    """`speak_completed`; digits None: a speak that collected no keys (no `collected_digits`)."""
    data: dict[str, object] = {"status": "speak_successful"}
    if digits is not None:
        data["collected_digits"] = digits
    return {"event": "speak_completed", "reference_id": reference, "data": data}


def dialled(reference: str, status: str = "answered", to: str = "15550100200") -> dict[str, object]:
    return {
        "event": "dial_completed",
        "reference_id": reference,
        "data": {"to": to, "from": "15554441313", "status": status},
    }


def completed(reference: str) -> dict[str, object]:
    return {"event": "call_completed", "reference_id": reference, "data": {"status": "hangup"}}


def action(response: httpx.Response) -> dict[str, object]:
    """The action answered, checked against Telesign's action schema (`{}`: no action)."""
    assert response.status_code == 200, response.text
    answered: dict[str, object] = response.json()
    if answered:
        assert not list(validator("v2-action").iter_errors(answered)), answered
    return answered


def said(response: httpx.Response) -> str:
    answered = action(response)
    params = answered["params"]
    assert isinstance(params, dict)
    return str(params["tts"]["message"]) if answered["method"] == "speak" else str(answered["method"])


Post = Callable[[dict[str, object]], dict[str, object]]  # deliver an event; the action answered


class Posts(Protocol):
    """A server to post events to: a real process (Server) or an app in this process (inprocess.App)."""

    def post(
        self,
        event: dict[str, object],
        *,
        sign: bool = True,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> httpx.Response: ...


def call(
    server: Posts, reference: str, first: dict[str, object], keys: list[str | None], post: Post | None = None
) -> list[dict[str, object]]:
    """Carry out a whole call as Telesign would: post `first`, then answer each `speak` with its
    `speak_completed` (the next of `keys` when it collects one; None: no key pressed), and a
    transfer with the agent answering and then hanging up. The transcript has the interpreter's
    shape: say, press / no_input, dial, hangup. `post` delivers each event (default: to `server`,
    once, its answer checked as an action)."""
    if post is None:
        post = lambda event: action(server.post(event))  # noqa: E731
    heard: list[dict[str, object]] = []
    presses = iter(keys)
    answered = post(first)
    for _ in range(200):
        if answered.get("method") == "speak":
            params = answered["params"]
            assert isinstance(params, dict)
            heard.append({"say": params["tts"]["message"]})
            digits = None
            if "collect_digits" in params:
                key = Phone().entry(presses, int(params["collect_digits"]["max"]))
                heard.append({"press": key} if key else {"no_input": True})
                digits = key
            answered = post(spoken(reference, digits))
        elif answered.get("method") == "dial":  # a transfer: the agent answers, and in the end hangs up
            params = answered["params"]
            assert isinstance(params, dict)
            heard.append({"dial": params["to"]})
            assert post(dialled(reference, to=str(params["to"]))) == {}
            answered = post({"event": "call_leg_completed", "reference_id": reference, "data": {"to": params["to"]}})
        elif answered.get("method") == "hangup":
            heard.append({"hangup": True})
            return heard
        else:
            raise AssertionError(f"the call stopped with {answered} after {heard}")
    raise AssertionError(f"the call never ended: {heard}")
