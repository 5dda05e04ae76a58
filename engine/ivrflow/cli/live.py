"""The live commands: `serve` flows as Telesign's voice webhook, and `call` a number through a
running server."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ivrflow.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    auth_advice,
    language_argument,
    opened_store,
    server_arguments,
    store_argument,
    var_argument,
    variables,
)
from ivrflow.errors import ApiError, ServerProblem, UsageError
from ivrflow.language.http_node import allowed_hosts
from ivrflow.stores import DUPLICATE_WINDOW
from ivrflow.telesign.auth import Credentials

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def serve_parser(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="run flows live: the webhook server for Telesign v2 voice",
        description=(
            "Serve the flows in a folder as Telesign's voice webhook (POST /webhook), with the calls API (POST /calls, GET /calls, GET /calls/ID, GET /flows), "
            "a health check (GET /healthz) and Prometheus metrics (GET /metrics). With TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY set, events must carry Telesign's "
            "signature (unless --webhook-auth secret), API requests the account's Basic or TSA credentials, and POST /calls dials through Telesign's /v2/voice at TELESIGN_BASE_URL. "
            "Flows are reloaded when a file changes and on SIGHUP; calls in progress keep the version they started with. --store redis:// and --workers scale out; see the README. "
            "Exit 2, before serving, when an option is wrong or the address is already in use."
        ),
    )
    serve.add_argument(
        "--flows", type=Path, default=Path("flows"), help="the folder of flows to serve (default: flows)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    store_argument(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on the one port, sharing the store (default 1; more need sqlite:// or redis://)",
    )
    serve.add_argument(
        "--log-format",
        choices=["json", "text"],
        default="json",
        help="log lines on stderr: one JSON object a line (default; one line per event handled) or text",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening beyond loopback without Telesign credentials (unsigned events and unauthenticated API requests accepted)",
    )
    serve.add_argument(
        "--webhook-auth",
        choices=["signature", "secret"],
        help=(
            "how Telesign's posts are authenticated, a setting of your Telesign account: signature (Telesign's signature of each event with your API key; "
            "the default with credentials, as before) or secret (events taken only at /webhook/SECRET and /callbacks/v1/SECRET, SECRET from "
            "IVRFLOW_WEBHOOK_SECRET, 32 or more characters; for an account that does not sign its voice events). See docs/telesign.md"
        ),
    )
    serve.add_argument(
        "--dial-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long POST /calls waits for Telesign to accept a dial (default 10)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        metavar="HOST",
        help="a host the flows' http nodes may ask (repeat it; *.example.com for any name under it; default: IVRFLOW_ALLOW_HOSTS, "
        "comma-separated). A lookup of any other host goes to the node's on_error, with a log line",
    )
    serve.add_argument(
        "--notify",
        metavar="URL",
        help="post a JSON summary of each ended call here (a flow's notify: takes its place), signed with IVRFLOW_NOTIFY_SECRET "
        "(an Ivrflow-Signature header), retried until it answers 2xx, kept in the store until then; see docs/api.md",
    )
    serve.add_argument(
        "--http-ca-file",
        metavar="PEM",
        help="check the certificates of the hosts http nodes ask, and of the --notify receiver, against this CA bundle instead of the usual ones (a private authority)",
    )
    serve.add_argument(
        "--watch",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="look for changed flow files this often and reload them (default 1; 0: only on SIGHUP)",
    )
    # Limits on what a client may hold (ivrflow/server/protocol.py has the defaults and why); None: the default.
    serve.add_argument(
        "--header-timeout",
        type=float,
        metavar="SECONDS",
        help="close a connection whose request headers are not complete this long after it opened, or after the previous answer (default 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        metavar="SECONDS",
        help="close a connection whose request body is not complete this long after its headers (default 10)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="connections each worker serves at once; a request beyond them is answered 503 (default 1000)",
    )
    serve.add_argument(
        "--duplicate-window",
        type=float,
        default=DUPLICATE_WINDOW,
        metavar="SECONDS",
        help=f"an event identical to the call's previous one within this many seconds is a redelivery: answered the same, not applied again (default {DUPLICATE_WINDOW:g})",
    )
    serve.add_argument(
        "--at",
        metavar="TIME",
        help="judge the flows' schedules as if the server had started at TIME, like \"2026-12-24 19:00\" (in the schedules' time zone) and its clock ran on from there: to try the after-hours path on a staging server (default: the real time; also IVRFLOW_AT)",
    )
    serve.set_defaults(run=_serve)


def call_parser(commands: Commands) -> None:
    call = commands.add_parser(
        "call",
        help="start an outbound call through a running `ivrflow serve`",
        description=(
            "Ask a running `ivrflow serve` (POST /calls) to call NUMBER with a flow; the server dials through Telesign. Requests are signed with "
            "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY when they are set. Prints the call's reference id; follow it with GET /calls/ID. "
            "Exit 0: the call is placed; 1: the server or Telesign refused it (the reasons are printed); 2: the server could not be reached or an option is wrong."
        ),
    )
    call.add_argument("number", metavar="NUMBER", help="the number to call, with country code, like +15551234567")
    call.add_argument("--flow", required=True, metavar="NAME", help="the id of the flow to run (see GET /flows)")
    var_argument(call)
    call.add_argument("--caller-id", metavar="NUMBER", help="the number to call from (default: the flow's caller_id)")
    language_argument(call, "start the call")
    server_arguments(call)
    call.set_defaults(run=_call)


def _serve(args: argparse.Namespace) -> int:
    import ipaddress

    from ivrflow.server.app import app_from_options
    from ivrflow.server.logs import configure as configure_logs
    from ivrflow.server.webhook_auth import WebhookAuth
    from ivrflow.server.workers import serve

    credentials = Credentials.from_env()
    if credentials is None and (os.environ.get("TELESIGN_API_KEY") or os.environ.get("TELESIGN_CUSTOMER_ID")):
        raise UsageError(
            "ivrflow serve: set both TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY (or neither, to try it on loopback)"
        )
    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if credentials is None and not loopback and not args.insecure:
        raise UsageError(
            f"ivrflow serve: refusing to listen on {args.host} without TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY: anyone could post forged call events and use the calls API. Set them (events are then checked for Telesign's signature, API requests for your credentials), listen on 127.0.0.1, or pass --insecure."
        )
    if not args.flows.is_dir():
        raise UsageError(f"ivrflow serve: {args.flows}: no such folder")
    if args.workers < 1 or (args.workers > 1 and args.store.startswith("memory:")):
        raise UsageError(
            "ivrflow serve: --workers is 1 or more, and several workers need a store they share (sqlite:// or redis://), not memory://"
        )
    if any(
        limit is not None and limit <= 0 for limit in (args.header_timeout, args.body_timeout, args.max_connections)
    ):
        raise UsageError("ivrflow serve: --header-timeout, --body-timeout and --max-connections are more than 0")
    if args.notify and not os.environ.get("IVRFLOW_NOTIFY_SECRET"):
        raise UsageError(
            "ivrflow serve: --notify needs IVRFLOW_NOTIFY_SECRET, the secret its notices are signed with (32 random characters or more)"
        )
    auth = WebhookAuth.choose(args.webhook_auth, credentials, os.environ.get("IVRFLOW_WEBHOOK_SECRET"))
    _port_is_free(args.host, args.port)
    store = opened_store(args)
    options = {
        "flows": str(args.flows),
        "store": args.store,
        "watch": args.watch,
        "duplicate_window": args.duplicate_window,
        "dial_timeout": args.dial_timeout,
        "log_format": args.log_format,
        "header_timeout": args.header_timeout,
        "body_timeout": args.body_timeout,
        "max_connections": args.max_connections,
        "webhook_auth": auth.mode if auth.mode != "none" else None,
        "allow_hosts": sorted(allowed_hosts(args.allow_host, os.environ) or ()),
        "http_ca_file": args.http_ca_file,
        "notify": args.notify,
        "at": args.at,
    }
    configure_logs(args.log_format)
    app = app_from_options(options, store)
    url = f"http://{args.host}:{args.port}"
    events = {"signature": "signatures", "secret": "the webhook secret"}.get(auth.mode, "")
    checked = (
        f"{events} and API credentials checked"
        if credentials
        else (
            "NOTHING checked: no signatures, no API credentials, no outbound calls"
            if not events
            else f"{events} checked; no API credentials, no outbound calls"
        )
    )
    workers = f", {args.workers} workers" if args.workers > 1 else ""
    print(
        f"ivrflow: serving {len(app.state.flows.current)} flows from {args.flows}/ at {url}/webhook (store {args.store}{workers}; {checked})",
        flush=True,
    )
    webhook = f"{url}/webhook/$IVRFLOW_WEBHOOK_SECRET" if auth.mode == "secret" else f"{url}/webhook"
    print(
        f"ivrflow: next, point your Telesign voice webhook at {webhook} (behind HTTPS), or look: curl {url}/flows",
        flush=True,
    )
    if args.workers > 1:
        store.close()  # each worker opens its own
    serve(app, options, args.host, args.port, args.workers)
    return EXIT_OK


def _port_is_free(host: str, port: int) -> None:
    """UsageError when the address cannot be listened on (another server has it), before anything
    says it is serving. Bound the way the server binds (address reuse on), so a port left in
    TIME_WAIT by a server just stopped counts as free."""
    import socket

    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as problem:
        taken = getattr(problem, "errno", None) == errno.EADDRINUSE
        why = (
            "is already in use (another `ivrflow serve`, or another program)"
            if taken
            else f"cannot be listened on: {problem.strerror or problem}"
        )
        raise UsageError(f"ivrflow serve: {host}:{port} {why}; stop it, or choose another port with --port") from None


def _call(args: argparse.Namespace) -> int:
    from ivrflow.tools.calls_client import start_call

    given = variables(args.var)
    server = args.server.rstrip("/")
    try:
        started = start_call(
            args.server,
            args.flow,
            args.number,
            given,
            caller_id=args.caller_id,
            credentials=Credentials.from_env(),
            auth=args.auth,
            language=args.language,
        )
    except ServerProblem as problem:
        raise UsageError(f"ivrflow call: {problem}") from None
    except ApiError as refused:
        print(f"ivrflow call: {refused.code} (HTTP {refused.status}): {refused.message}", file=sys.stderr)
        for field in refused.errors[1:]:  # the first is the message above
            print(f"  {field.field}: {field.message}", file=sys.stderr)
        for line in auth_advice(
            [field.code for field in refused.errors], refused.clock_offset, "the server"
        ):  # a 401 carries Telesign's code
            print(line, file=sys.stderr)
        if refused.extra.get("reference_id"):
            print(f"the call's record: GET {server}/calls/{refused.extra['reference_id']}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(
        f"call {started.status}: reference id {started.reference_id} (Telesign reference id {started.telesign_reference_id})"
    )
    print(f"follow it: GET {server}/calls/{started.reference_id}")
    return EXIT_OK
