"""`ivrflow serve --workers N`: uvicorn's supervisor running N processes on one port, each
building its own app from the options `ivrflow serve` was given."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from ivrflow.server.app import app_from_options
from ivrflow.server.logs import configure as configure_logs

# `ivrflow serve --workers N` passes its options to each worker process in this variable.
SERVE_OPTIONS = "IVRFLOW_SERVE_OPTIONS"


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
    run_workers("ivrflow.server.workers:app_from_env", host, port, workers, factory=True)


def run_workers(app: str, host: str, port: int, workers: int, *, factory: bool = False) -> None:
    """Serve the ASGI app at import path `app` ("module:name") from `workers` processes on one port."""
    config = _TcpConfig(app, factory=factory, host=host, port=port, workers=workers, log_level="warning")
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def app_from_env() -> Starlette:
    """One worker's app, for uvicorn's `factory=True`: options from SERVE_OPTIONS."""
    options: dict[str, Any] = json.loads(os.environ[SERVE_OPTIONS])
    configure_logs(options["log_format"])
    return app_from_options(options)
