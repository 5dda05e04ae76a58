"""Time limits on reading a request, which uvicorn does not have: a connection whose request
headers are not complete within `header_timeout` seconds of its opening (or of the previous
answer, on a kept-alive connection), or whose body is not complete within `body_timeout` seconds
of its headers, is closed. Without them a client that stops mid-request holds a connection, and
a file descriptor, for as long as it likes: a thousand such clients hold a thousand.

uvicorn's own keep-alive limit (5 s) still closes an idle kept-alive connection first, quietly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

log = logging.getLogger("ivrflow")

# Set in a request's scope when the body's time ran out and the server closed the connection:
# this module has logged it, so the reader of the body (http.read_limited) does not log it again.
TIMED_OUT = "ivrflow.timed_out"


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a client may take to send its request (seconds), and how many connections a
    worker serves at once. Telesign posts small JSON bodies (well under 64 KB) from its data
    centres, so its requests arrive in milliseconds: 10 s for the headers and 10 s for the body
    leave room for a slow mobile network on the calls API and still free a stalled connection
    soon. 1,000 connections a worker is far above what Telesign's events need (a request at a
    time per call in progress, each answered in milliseconds). Over the bound uvicorn still
    accepts the connection and answers its request 503 (`limit_concurrency`); a stalled one is
    freed by the time limits. Each connection is a file descriptor: the worker needs a limit
    above the bound (the common default of 1,024 is just enough; README says to raise it)."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 1000


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the time limits of its config's `limits` (a Limits;
    the defaults when it has none). Which part of a request the client owes is read from h11's
    state after each batch of data: IDLE, the headers; SEND_BODY, the body; anything else,
    nothing (the app is answering, or the connection is closing)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # On the config, not on a class made for them: uvicorn sends the config to each worker
        # process by pickling it, and only a class importable by its name pickles.
        limits = getattr(config, "limits", None)
        self.limits = limits if isinstance(limits, Limits) else Limits()
        self._waiting_for = ""  # "headers", "body" or "" (nothing owed by the client)
        self._deadline: asyncio.TimerHandle | None = None
        self._received = 0  # bytes of the current request (its headers and body) that arrived
        self._answered = 0  # requests answered on this connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._watch()

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()  # may start the next pipelined request: handle_events watches it
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Start the clock for what the client owes now, if that changed; a clock already running
        for the same part keeps running (a client trickling bytes does not reset it)."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        waiting_for = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else ""
        if waiting_for == self._waiting_for:
            return
        self._stop_clock()
        self._waiting_for = waiting_for
        if waiting_for == "headers":
            self._received = 0
        if waiting_for:
            limit = self.limits.header_timeout if waiting_for == "headers" else self.limits.body_timeout
            self._deadline = self.loop.call_later(limit, self._time_is_up, limit)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _time_is_up(self, limit: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        idle = self._waiting_for == "headers" and self._received == 0 and self._answered > 0
        if not idle:  # a kept-alive connection with no new request yet is merely idle, not slow
            client = f"{self.client[0]}:{self.client[1]}" if self.client else None
            path = self.scope["path"] if self._waiting_for == "body" else None
            fields = {"client": client, "waited_for": self._waiting_for, "received": self._received, "path": path}
            log.warning(
                "closed a connection: the request's %s did not arrive within %g s",
                self._waiting_for,
                limit,
                extra={"fields": fields},
            )
            if self._waiting_for == "body":
                self.scope[TIMED_OUT] = True  # type: ignore[literal-required]
        self.transport.close()  # uvicorn's connection_lost tells the app, if any, that the client is gone
