"""The `ivrflow` command line: parse arguments, call the library, turn the outcome into an exit code.

Exit codes follow the linters people already use: 0 all good, 1 problems found in the flows,
2 the tool itself could not do its job (a missing path, a bad option).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

from engine import __version__
from engine.catalog import RULES, rule_markdown, rules_markdown
from engine.diagnostics import Diagnostic, suggestion
from engine.lint import lint, missing
from engine.loader import check_file
from engine.reporters import REPORTERS, TextReporter
from engine.stores import DUPLICATE_WINDOW
from engine.telesign import V1_VOICE, Credentials, Sending, TelesignError, base_url, basic_authorization, hmac_headers, send_v1
from engine.v1compile import CallOptions, compile_v1

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivrflow",
        description="Phone menus written as YAML flows: lint them, compile them to Telesign v1, run them live on Telesign v2.",
    )
    parser.add_argument("--version", action="version", version=f"ivrflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lint_cmd = commands.add_parser(
        "lint",
        help="check flow files for mistakes",
        description="Check flow files and folders of flow files. Exit 0: no errors; 1: errors found (or warnings, with --strict); 2: the check could not run.",
    )
    lint_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="flow files, or folders to search for *.yaml flows")
    lint_cmd.add_argument(
        "--format",
        choices=sorted(REPORTERS),
        default=None,
        help="output format (default: github when GITHUB_ACTIONS=true, else text)",
    )
    lint_cmd.add_argument("--strict", action="store_true", help="fail on warnings too")
    lint_cmd.add_argument("--target", choices=["live", "v1"], default="live", help="v1: also report every reason a flow cannot compile to one Telesign v1 request")
    lint_cmd.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="colour in the text format (auto: on a terminal, unless NO_COLOR is set)")
    lint_cmd.set_defaults(run=_lint)

    compile_cmd = commands.add_parser(
        "compile",
        help="turn a flow into one Telesign v1 voice request",
        description="Compile a flow to the form fields of one Telesign POST /v1/voice request. Exit 1 with the reasons when the flow does not fit v1; 2 when the command could not run.",
    )
    _call_arguments(compile_cmd)
    compile_cmd.add_argument("--format", choices=["json", "form", "curl"], default="json", help="json: the form fields as one JSON object (default); form: the url-encoded body; curl: a runnable curl command")
    compile_cmd.set_defaults(run=_compile)

    send = commands.add_parser(
        "send",
        help="place a Telesign v1 voice call with a flow",
        description="Compile a flow and POST it to Telesign's /v1/voice at TELESIGN_BASE_URL, authenticated with TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY. Prints the reference id and status. Exit 1 when the flow does not fit or Telesign refuses; 2 when the command could not run.",
    )
    _call_arguments(send)
    send.add_argument("--auth", choices=["basic", "hmac"], default="basic", help="Telesign's Basic scheme (default) or its TSA HMAC-SHA256 signature")
    send.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for Telesign's answer (default 10)")
    send.set_defaults(run=_send)

    serve = commands.add_parser(
        "serve",
        help="run flows live: the webhook server for Telesign v2 voice",
        description=(
            "Serve the flows in a folder as Telesign's voice webhook (POST /webhook), with the calls API (POST /calls, GET /calls, GET /calls/ID, GET /flows), "
            "a health check (GET /healthz) and Prometheus metrics (GET /metrics). With TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY set, events must carry Telesign's "
            "signature, API requests the account's Basic or TSA credentials, and POST /calls dials through Telesign's /v2/voice at TELESIGN_BASE_URL. "
            "Flows are reloaded when a file changes and on SIGHUP; calls in progress keep the version they started with."
        ),
    )
    serve.add_argument("--flows", type=Path, default=Path("flows"), help="the folder of flows to serve (default: flows)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--store", default="sqlite:///var/ivrflow.db", help="where call state lives: sqlite:///PATH (default sqlite:///var/ivrflow.db) or memory://")
    serve.add_argument("--insecure", action="store_true", help="allow listening beyond loopback without Telesign credentials (unsigned events and unauthenticated API requests accepted)")
    serve.add_argument("--dial-timeout", type=float, default=10.0, metavar="SECONDS", help="how long POST /calls waits for Telesign to accept a dial (default 10)")
    serve.add_argument("--watch", type=float, default=1.0, metavar="SECONDS", help="look for changed flow files this often and reload them (default 1; 0: only on SIGHUP)")
    serve.add_argument(
        "--duplicate-window",
        type=float,
        default=DUPLICATE_WINDOW,
        metavar="SECONDS",
        help=f"an event identical to the call's previous one within this many seconds is a redelivery: answered the same, not applied again (default {DUPLICATE_WINDOW:g})",
    )
    serve.set_defaults(run=_serve)

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
    call.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a call variable (repeatable)")
    call.add_argument("--caller-id", metavar="NUMBER", help="the number to call from (default: the flow's caller_id)")
    call.add_argument("--server", default=os.environ.get("IVRFLOW_SERVER", "http://127.0.0.1:8080"), metavar="URL", help="the server (default: IVRFLOW_SERVER, else http://127.0.0.1:8080)")
    call.add_argument("--auth", choices=["basic", "hmac"], default="hmac", help="sign with Telesign's TSA HMAC-SHA256 scheme (default) or send Basic credentials")
    call.set_defaults(run=_call)

    explain = commands.add_parser("explain", help="explain a lint rule", description="Print what a lint rule catches, why it matters and how to fix it.")
    explain.add_argument("rule", nargs="?", help="a rule id, such as unknown-target")
    explain.add_argument("--all", action="store_true", help="print every rule (this is docs/rules.md)")
    explain.set_defaults(run=_explain)
    return parser


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _lint(args: argparse.Namespace) -> int:
    absent = missing(args.paths)
    if absent:
        for path in absent:
            print(f"ivrflow lint: {path}: no such file or folder", file=sys.stderr)
        return EXIT_USAGE
    report = lint(args.paths, target=args.target)
    name = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    sources = {checked.path: _lines(checked.path) for checked in report.files} if name == "text" else {}
    print(REPORTERS[name](color=_use_color(args.color), sources=sources).render(report), end="")
    return report.exit_code(strict=args.strict)


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _call_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    command.add_argument("--to", required=True, metavar="NUMBER", help="the number to call, with country code, like +15554441313")
    command.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a call variable (repeatable)")
    command.add_argument("--callback-url", help="where Telesign posts the call's outcome")
    command.add_argument("--external-id", help="your own id for the call, returned in callbacks")
    command.add_argument("--originating-ip", help="the end user's IP address")


def _variables(pairs: list[str]) -> dict[str, str] | None:
    variables = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            print(f"ivrflow: --var {pair!r} is not NAME=VALUE", file=sys.stderr)
            return None
        variables[name] = value
    return variables


def _print_problems(path: str, diagnostics: list[Diagnostic]) -> None:
    reporter = TextReporter(color=_use_color("auto"), sources={path: _lines(path)})
    for diagnostic in diagnostics:
        print(reporter.block(diagnostic) + "\n", file=sys.stderr)


def _compiled(args: argparse.Namespace) -> dict[str, str] | int:
    """The v1 form fields for the command's flow and options, or the exit code after saying why not."""
    if not args.flow.is_file():
        print(f"ivrflow {args.command}: {args.flow}: no such file", file=sys.stderr)
        return EXIT_USAGE
    variables = _variables(args.var)
    if variables is None:
        return EXIT_USAGE
    checked = check_file(args.flow)
    if checked.flow is None or not checked.ok:
        _print_problems(checked.path, [d for d in checked.diagnostics if d.level == "error"])
        return EXIT_PROBLEMS
    options = CallOptions(to=args.to, variables=variables, callback_url=args.callback_url, external_id=args.external_id, originating_ip=args.originating_ip)
    params, problems = compile_v1(checked.flow, options)
    if params is None:
        _print_problems(checked.path, problems)
        print(f"{checked.path}: does not fit one Telesign v1 request ({len(problems)} reason{'s' if len(problems) != 1 else ''}); run it live with `ivrflow serve` instead.", file=sys.stderr)
        return EXIT_PROBLEMS
    return params


def _send(args: argparse.Namespace) -> int:
    credentials = Credentials.from_env()
    if credentials is None:
        print("ivrflow send: set TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY to your Telesign credentials", file=sys.stderr)
        return EXIT_USAGE
    params = _compiled(args)
    if isinstance(params, int):
        return params
    try:
        answer = send_v1(params, credentials, Sending(auth=args.auth, timeout=args.timeout))
    except TelesignError as error:
        print(f"ivrflow send: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"call placed: reference id {answer.reference_id}, status {answer.status_code} ({answer.description})")
    return EXIT_OK


def _compile(args: argparse.Namespace) -> int:
    params = _compiled(args)
    if isinstance(params, int):
        return params
    if args.format == "json":
        print(json.dumps(params, indent=2, ensure_ascii=False))
    elif args.format == "form":
        print(urlencode(params))
    else:
        print(_curl(params))
    return EXIT_OK


def _curl(params: dict[str, str]) -> str:
    """A curl command that places the call. Credentials stay in the environment: the command
    refers to the variables, so no secret is ever printed."""
    have_credentials = "TELESIGN_CUSTOMER_ID" in os.environ and "TELESIGN_API_KEY" in os.environ
    user = '"$TELESIGN_CUSTOMER_ID:$TELESIGN_API_KEY"' if have_credentials else "'YOUR_CUSTOMER_ID:YOUR_API_KEY'"
    lines = [f"curl -sS -X POST {shlex.quote(base_url() + V1_VOICE)}", f"  -u {user}"]
    lines += [f"  --data-urlencode {shlex.quote(f'{key}={value}')}" for key, value in params.items()]
    return " \\\n".join(lines)


def _serve(args: argparse.Namespace) -> int:
    import ipaddress
    import logging

    import uvicorn

    from engine.server import create_app
    from engine.stores import open_store

    credentials = Credentials.from_env()
    if credentials is None and (os.environ.get("TELESIGN_API_KEY") or os.environ.get("TELESIGN_CUSTOMER_ID")):
        print("ivrflow serve: set both TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY (or neither, to try it on loopback)", file=sys.stderr)
        return EXIT_USAGE
    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if credentials is None and not loopback and not args.insecure:
        print(f"ivrflow serve: refusing to listen on {args.host} without TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY: anyone could post forged call events and use the calls API. Set them (events are then checked for Telesign's signature, API requests for your credentials), listen on 127.0.0.1, or pass --insecure.", file=sys.stderr)
        return EXIT_USAGE
    if not args.flows.is_dir():
        print(f"ivrflow serve: {args.flows}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = open_store(args.store)
    except ValueError as problem:
        print(f"ivrflow serve: {problem}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.flows, store, credentials=credentials, watch=args.watch, duplicate_window=args.duplicate_window, dial_timeout=args.dial_timeout)
    url = f"http://{args.host}:{args.port}"
    checked = "signatures and API credentials checked" if credentials else "NOTHING checked: no signatures, no API credentials, no outbound calls"
    print(f"ivrflow: serving {len(app.state.flows.current)} flows from {args.flows}/ at {url}/webhook (store {args.store}; {checked})", flush=True)
    print(f"ivrflow: next, point your Telesign voice webhook at {url}/webhook (behind HTTPS), or look: curl {url}/flows", flush=True)

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _call(args: argparse.Namespace) -> int:
    import httpx

    variables = _variables(args.var)
    if variables is None:
        return EXIT_USAGE
    request: dict[str, object] = {"flow": args.flow, "to": args.number, "vars": variables}
    if args.caller_id:
        request["caller_id"] = args.caller_id
    body = json.dumps(request)
    headers = {"Content-Type": "application/json"}
    credentials = Credentials.from_env()
    if credentials is not None and args.auth == "hmac":
        headers = hmac_headers(credentials.customer_id, credentials.api_key, "POST", "/calls", body, content_type="application/json")
    elif credentials is not None:
        headers["Authorization"] = basic_authorization(credentials.customer_id, credentials.api_key)
    url = args.server.rstrip("/") + "/calls"
    try:
        # Telesign may take its retries before it answers the server: wait longer than they do.
        response = httpx.post(url, content=body.encode(), headers=headers, timeout=60)
    except httpx.HTTPError as error:
        print(f"ivrflow call: could not reach the server at {url}: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == 201 and isinstance(answer, dict):
        print(f"call {answer['status']}: reference id {answer['reference_id']} (Telesign reference id {answer['telesign']['reference_id']})")
        print(f"follow it: GET {args.server.rstrip('/')}/calls/{answer['reference_id']}")
        return EXIT_OK
    status = answer.get("ResponseStatus") if isinstance(answer, dict) else None
    if not isinstance(status, dict):
        print(f"ivrflow call: the server answered HTTP {response.status_code}: {response.text[:500]}", file=sys.stderr)
        return EXIT_USAGE
    print(f"ivrflow call: {status['ErrorCode']} (HTTP {response.status_code}): {status['Message']}", file=sys.stderr)
    for field in status.get("Errors", [])[1:]:  # the first is the message above
        print(f"  {field['FieldName']}: {field['Message']}", file=sys.stderr)
    if isinstance(answer, dict) and answer.get("reference_id"):
        print(f"the call's record: GET {args.server.rstrip('/')}/calls/{answer['reference_id']}", file=sys.stderr)
    return EXIT_PROBLEMS


def _explain(args: argparse.Namespace) -> int:
    if args.all:
        print(rules_markdown(), end="")
        return EXIT_OK
    if not args.rule or args.rule not in RULES:
        known = ", ".join(RULES)
        print(f"ivrflow explain: unknown rule `{args.rule or ''}`. {suggestion(args.rule or '', RULES)}Rules: {known}", file=sys.stderr)
        return EXIT_USAGE
    print(rule_markdown(RULES[args.rule]), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
