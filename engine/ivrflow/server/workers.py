"""How `ivrflow serve` runs its app under uvicorn: the one uvicorn config (time limits on
reading a request, a bound on connections, the project's log lines), and with `--workers N`
uvicorn's supervisor running N processes on one port, each building its own app from the
options `ivrflow serve` was given."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from ivrflow.server.app import app_from_options
from ivrflow.server.logs import configure as configure_logs
from ivrflow.server.logs import log_config
from ivrflow.server.protocol import Limits, TimedH11Protocol

# `ivrflow serve --workers N` passes its options to each worker process in this variable.
SERVE_OPTIONS = "IVRFLOW_SERVE_OPTIONS"

# The exit status of uvicorn.run when the server could not start (uvicorn.main.STARTUP_FAILURE).
STARTUP_FAILURE = 3


class _TcpConfig(uvicorn.Config):
    """uvicorn's config, carrying the read limits of TimedH11Protocol (`limits`), with a
    listening socket that says it is TCP. uvicorn makes the socket its workers share with protocol 0; accepted connections inherit that, and asyncio turns Nagle's
    algorithm off only on a socket that says IPPROTO_TCP. With Nagle on, an answer's body waits for
    the client's delayed ACK of its headers: 40 ms more on every kept-alive request (uvicorn
    issue 3149, seen here as --workers 2 answering 16 times slower than --workers 1)."""

    limits = Limits()

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def uvicorn_config(
    app: Starlette | str,
    host: str,
    port: int,
    *,
    workers: int = 1,
    limits: Limits | None = None,
    log_format: str = "json",
    factory: bool = False,
) -> _TcpConfig:
    """The one uvicorn config of `ivrflow serve`, for one worker and for several."""
    limits = limits or Limits()
    config = _TcpConfig(
        app,
        factory=factory,
        host=host,
        port=port,
        workers=workers,
        http=TimedH11Protocol,
        # uvicorn answers a request 503 when its worker has this many connections open, the
        # request's own included: +1, so that `max_connections` clients are all served.
        limit_concurrency=limits.max_connections + 1,
        # uvicorn's own lines as the project's (one JSON object a line with --log-format json),
        # set up again in each worker process; its access lines were never shown (below warning).
        log_config=log_config(log_format),
        log_level="warning",
        access_log=False,
    )
    config.limits = limits
    return config


def limits_from(options: dict[str, Any]) -> Limits:
    """The read limits among `ivrflow serve`'s options (the default for one absent or None)."""
    return Limits(
        **{
            name: options[name]
            for name in ("header_timeout", "body_timeout", "max_connections")
            if options.get(name) is not None
        }
    )


def serve(app: Starlette, options: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Serve `ivrflow serve`'s app: `app` itself in this process when `workers` is 1, else
    `workers` processes each building their own from `options`."""
    if workers > 1:
        serve_workers(options, host, port, workers)
        return
    server = uvicorn.Server(
        uvicorn_config(app, host, port, limits=limits_from(options), log_format=options["log_format"])
    )
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run
        server.run()
    if not server.started:  # the port is taken, say: uvicorn has logged why
        raise SystemExit(STARTUP_FAILURE)


def serve_workers(options: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Run `workers` processes on one port, each building its app from `options` (app_from_env)."""
    os.environ[SERVE_OPTIONS] = json.dumps(options)
    config = uvicorn_config(
        "ivrflow.server.workers:app_from_env",
        host,
        port,
        workers=workers,
        limits=limits_from(options),
        log_format=options["log_format"],
        factory=True,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def run_workers(app: str, host: str, port: int, workers: int, *, factory: bool = False) -> None:
    """Serve the ASGI app at import path `app` ("module:name") from `workers` processes on one port."""
    config = uvicorn_config(app, host, port, workers=workers, factory=factory)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def app_from_env() -> Starlette:
    """One worker's app, for uvicorn's `factory=True`: options from SERVE_OPTIONS."""
    options: dict[str, Any] = json.loads(os.environ[SERVE_OPTIONS])
    configure_logs(options["log_format"])
    return app_from_options(options)
