"""The `ivrflow` command line: parse arguments, call the library, turn the outcome into an exit code.

Exit codes follow the linters people already use: 0 all good, 1 problems found in the flows,
2 the tool itself could not do its job (a missing path, a bad option).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlencode

from ivrflow import __version__
from ivrflow.language.catalog import RULES, rule_markdown, rules_markdown
from ivrflow.language.diagnostics import Diagnostic, suggestion
from ivrflow.tools import flowtests, simulate
from ivrflow.tools.graph import FORMATS
from ivrflow.tools.journeys import journeys_path, render, walk_all
from ivrflow.language.lint import flow_files, lint, missing
from ivrflow.language.loader import check_file, display_path
from ivrflow.tools.reporters import REPORTERS, TextReporter
from ivrflow.calls.interpreter import Step, new_call
from ivrflow.language.model import Flow
from ivrflow.calls.record import CallRecord, V1Call
from ivrflow.stores import DUPLICATE_WINDOW, Store, failed, lookup, open_store
from ivrflow.telesign import V1_VOICE, Credentials, Sending, V1Report, base_url, basic_authorization, hmac_headers, parse_v1_report, send_v1, v1_status
from ivrflow.errors import BadEvent, ServerProblem, StoreUnavailable, TelesignError
from ivrflow.v1.outcomes import apply_report, in_words, outcomes, outcomes_text, v1_call
from ivrflow.v1.compiler import CallOptions, compile_v1

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
        description=(
            "Compile a flow and POST it to Telesign's /v1/voice at TELESIGN_BASE_URL, authenticated with TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY. "
            "The call is recorded first in the store `ivrflow serve` uses (flow, version, the fields sent), so that its outcome joins its flow: "
            "Telesign's callbacks to the server's POST /callbacks/v1 (callback_url is set from --callback-url, else IVRFLOW_PUBLIC_URL), "
            "`ivrflow status`, or --wait. Prints Telesign's reference id and status. "
            "Exit 1 when the flow does not fit, Telesign refuses, or --wait runs out; 2 when the command could not run."
        ),
    )
    _call_arguments(send)
    _telesign_arguments(send)
    _store_argument(send)
    send.add_argument("--wait", action="store_true", help="then ask Telesign for the call's status until it is final, and print how it went")
    send.add_argument("--wait-max", type=float, default=600.0, metavar="SECONDS", help="with --wait: give up after this long (default 600)")
    send.add_argument("--poll", type=float, default=2.0, metavar="SECONDS", help="with --wait: the first pause between status queries, doubled each time up to 15 (default 2)")
    send.set_defaults(run=_send)

    status = commands.add_parser(
        "status",
        help="ask Telesign how a v1 call went",
        description=(
            "Ask Telesign for a v1 call's status (GET /v1/voice/REFERENCE_ID) and print it in plain words, with the key pressed mapped back to the flow's choice "
            "when the call is in the store (placed by `ivrflow send`), like `answered; pressed 1 → confirmed`. The status is recorded on the call. "
            "Exit 0: Telesign answered; 1: Telesign refused (an unknown reference id, wrong credentials); 2: the command could not run."
        ),
    )
    status.add_argument("reference_id", metavar="REFERENCE_ID", help="Telesign's reference id of the call (or the id `ivrflow send` recorded it under)")
    _telesign_arguments(status)
    _store_argument(status)
    status.set_defaults(run=_status)

    outcomes_cmd = commands.add_parser(
        "outcomes",
        help="sum up how a flow's calls went",
        description=(
            "Count a flow's calls in the store by status, how many were answered, and for v1 calls how many chose each key and how many chose nothing. "
            "The same summary as the server's GET /flows/FLOW/outcomes."
        ),
    )
    outcomes_cmd.add_argument("flow", metavar="FLOW", help="the flow's id, or its file")
    outcomes_cmd.add_argument("--format", choices=["text", "json"], default="text", help="text for people (default), or the JSON of GET /flows/FLOW/outcomes")
    _store_argument(outcomes_cmd)
    outcomes_cmd.set_defaults(run=_outcomes)

    serve = commands.add_parser(
        "serve",
        help="run flows live: the webhook server for Telesign v2 voice",
        description=(
            "Serve the flows in a folder as Telesign's voice webhook (POST /webhook), with the calls API (POST /calls, GET /calls, GET /calls/ID, GET /flows), "
            "a health check (GET /healthz) and Prometheus metrics (GET /metrics). With TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY set, events must carry Telesign's "
            "signature, API requests the account's Basic or TSA credentials, and POST /calls dials through Telesign's /v2/voice at TELESIGN_BASE_URL. "
            "Flows are reloaded when a file changes and on SIGHUP; calls in progress keep the version they started with. --store redis:// and --workers scale out; see the README."
        ),
    )
    serve.add_argument("--flows", type=Path, default=Path("flows"), help="the folder of flows to serve (default: flows)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    _store_argument(serve)
    serve.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes on the one port, sharing the store (default 1; more need sqlite:// or redis://)")
    serve.add_argument("--log-format", choices=["json", "text"], default="json", help="log lines on stderr: one JSON object a line (default; one line per event handled) or text")
    serve.add_argument("--insecure", action="store_true", help="allow listening beyond loopback without Telesign credentials (unsigned events and unauthenticated API requests accepted)")
    serve.add_argument("--dial-timeout", type=float, default=10.0, metavar="SECONDS", help="how long POST /calls waits for Telesign to accept a dial (default 10)")
    serve.add_argument("--watch", type=float, default=1.0, metavar="SECONDS", help="look for changed flow files this often and reload them (default 1; 0: only on SIGHUP)")
    # Limits on what a client may hold (ivrflow/server/protocol.py has the defaults and why); None: the default.
    serve.add_argument("--header-timeout", type=float, metavar="SECONDS", help="close a connection whose request headers are not complete this long after it opened, or after the previous answer (default 10)")
    serve.add_argument("--body-timeout", type=float, metavar="SECONDS", help="close a connection whose request body is not complete this long after its headers (default 10)")
    serve.add_argument("--max-connections", type=int, metavar="N", help="connections each worker serves at once; a request beyond them is answered 503 (default 1000)")
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
    _var_argument(call)
    call.add_argument("--caller-id", metavar="NUMBER", help="the number to call from (default: the flow's caller_id)")
    call.add_argument("--server", default=os.environ.get("IVRFLOW_SERVER", "http://127.0.0.1:8080"), metavar="URL", help="the server (default: IVRFLOW_SERVER, else http://127.0.0.1:8080)")
    call.add_argument("--auth", choices=["basic", "hmac"], default="hmac", help="sign with Telesign's TSA HMAC-SHA256 scheme (default) or send Basic credentials")
    call.set_defaults(run=_call)

    simulate = commands.add_parser(
        "simulate",
        help="hear a flow without placing a phone call",
        description=(
            "Play a flow as a caller would hear it. In a terminal it says each message and asks for a key (Enter alone: no key), until the call ends. "
            "--keys plays a script instead: digits pressed in turn, _ for letting a question time out (9_1: press 9, stay silent once, press 1); "
            "when the keys run out the caller presses nothing more. Exit 0: played; 1: the flow has errors or does not fit v1 (--mode v1), or the server misbehaved; 2: the command could not run."
        ),
    )
    simulate.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    simulate.add_argument("--keys", metavar="KEYS", help="the keys to press, like 9_1 (default: ask in the terminal)")
    simulate.add_argument("--json", action="store_true", help="print the transcript as one JSON list of steps: say, press, no_input, dial, hangup")
    simulate.add_argument("--mode", choices=["live", "v1"], default="live", help="live: the interpreter, as `ivrflow serve` runs it (default); v1: the compiled Telesign v1 fields, as Telesign plays them")
    _var_argument(simulate)
    simulate.add_argument("--language", metavar="TAG", help="speak in this language instead of the flow's, like es-ES")
    simulate.add_argument(
        "--server",
        metavar="URL",
        help="drive a running `ivrflow serve` at URL over HTTP instead, with an incoming call to the flow's first number, its events shaped (and, with TELESIGN_API_KEY set, signed) as Telesign's",
    )
    simulate.set_defaults(run=_simulate)

    journeys = commands.add_parser(
        "journeys",
        help="write every path a caller can take, beside the flow",
        description=(
            "Walk every path through each flow (every choice; a wrong key, no key and the repeat key up to the flow's limits; every way the call ends) "
            "and write them with what the caller hears to FLOW.journeys.yaml beside FLOW.yaml. The same flow always gives the same file, so a diff in review shows what callers will hear differently. "
            "--check writes nothing and exits 1 when a file is missing or out of date."
        ),
    )
    journeys.add_argument("paths", nargs="+", type=Path, metavar="FLOW", help="flow files, or folders of them")
    journeys.add_argument("--check", action="store_true", help="only say which journeys files are missing or out of date")
    journeys.set_defaults(run=_journeys)

    test = commands.add_parser(
        "test",
        help="test flows: journeys files, hand-written cases, live against v1",
        description=(
            "For each flow: its FLOW.journeys.yaml must be what the flow does now (the difference is shown); the cases in FLOW.tests.yaml must pass; "
            "and a flow that compiles to v1 must sound the same live and on v1 on every journey. Exit 0: all pass; 1: a test failed; 2: the command could not run."
        ),
    )
    test.add_argument("paths", nargs="*", type=Path, default=[Path("flows")], metavar="PATH", help="flow files, or folders of them (default: flows)")
    test.add_argument("--format", choices=["text", "github", "json"], default=None, help="output format (default: github when GITHUB_ACTIONS=true, else text)")
    test.add_argument("--coverage", action="store_true", help="also report the nodes and menu choices no journey or test case reaches")
    test.set_defaults(run=_test)

    graph = commands.add_parser(
        "graph",
        help="draw a flow as a diagram",
        description="Print a flow as a Mermaid diagram (paste it into a ```mermaid block in GitHub Markdown) or as Graphviz dot (`| dot -Tsvg > flow.svg`).",
    )
    graph.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid", help="mermaid (default) or dot")
    graph.set_defaults(run=_graph)

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
    if _missing(args):
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
    _var_argument(command)
    command.add_argument("--callback-url", metavar="URL", help="where Telesign posts the call's status (default: IVRFLOW_PUBLIC_URL/callbacks/v1 when IVRFLOW_PUBLIC_URL is set)")
    command.add_argument("--external-id", metavar="ID", help="your own id for the call, returned in callbacks (`send` otherwise gives the id it records the call under)")
    command.add_argument("--originating-ip", help="the end user's IP address")


def _var_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a call variable (repeatable)")


def _telesign_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--auth", choices=["basic", "hmac"], default="basic", help="Telesign's Basic scheme (default) or its TSA HMAC-SHA256 signature")
    command.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each of Telesign's answers (default 10)")


DEFAULT_STORE = "sqlite:///var/ivrflow.db"


def _store_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--store",
        default=os.environ.get("IVRFLOW_STORE", DEFAULT_STORE),
        metavar="URL",
        help=f"where calls are kept: sqlite:///PATH, redis://HOST:PORT/DB[?ttl=SECONDS] or memory:// (default: IVRFLOW_STORE, else {DEFAULT_STORE})",
    )


def _open_store(args: argparse.Namespace) -> Store | None:
    try:
        return open_store(args.store)
    except (ValueError, StoreUnavailable, OSError, sqlite3.Error) as problem:
        print(f"ivrflow {args.command}: cannot open the store {args.store}: {problem}", file=sys.stderr)
        return None


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


def _compiled(args: argparse.Namespace) -> tuple[Flow, dict[str, str], dict[str, str]] | int:
    """The flow, its v1 form fields for the command's options and the call's variables, or the
    exit code after saying why not."""
    flow = _flow(args)
    if isinstance(flow, int):
        return flow
    variables = _variables(args.var)
    if variables is None:
        return EXIT_USAGE
    callback_url = args.callback_url or (os.environ["IVRFLOW_PUBLIC_URL"].rstrip("/") + "/callbacks/v1" if os.environ.get("IVRFLOW_PUBLIC_URL") else None)
    options = CallOptions(to=args.to, variables=variables, callback_url=callback_url, external_id=args.external_id, originating_ip=args.originating_ip)
    params, problems = compile_v1(flow, options)
    if params is None:
        _print_problems(flow.path, problems)
        print(f"{flow.path}: does not fit one Telesign v1 request ({len(problems)} reason{'s' if len(problems) != 1 else ''}); run it live with `ivrflow serve` instead.", file=sys.stderr)
        return EXIT_PROBLEMS
    return flow, params, variables


def _send(args: argparse.Namespace) -> int:
    credentials = Credentials.from_env()
    if credentials is None:
        print("ivrflow send: set TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY to your Telesign credentials", file=sys.stderr)
        return EXIT_USAGE
    compiled = _compiled(args)
    if isinstance(compiled, int):
        return compiled
    flow, params, given = compiled
    store = _open_store(args)
    if store is None:
        return EXIT_USAGE
    # Recorded before it is sent, so that a callback finds it however soon it comes; Telesign
    # returns our id as external_id (unless the sender chose their own).
    call_id = uuid.uuid4().hex.upper()
    params.setdefault("external_id", call_id)
    variables = {**flow.vars, **given, "called": params["phone_number"], **({"caller": params["caller_id"]} if "caller_id" in params else {})}
    now = time.time()
    record = CallRecord(call_id, new_call(flow, variables), updated=now, created=now, direction="outbound", v1=v1_call(flow, params))
    try:
        store.update(call_id, lambda old: (record, [], None))
    except StoreUnavailable as problem:
        print(f"ivrflow send: the call was not placed: it could not be recorded: {problem}", file=sys.stderr)
        return EXIT_USAGE
    how = Sending(auth=args.auth, timeout=args.timeout)
    try:
        answer = send_v1(params, credentials, how)
    except TelesignError as error:
        print(f"ivrflow send: {error}", file=sys.stderr)
        try:
            store.update(call_id, lambda current: failed(current, str(error), ended=error.reason != "timeout"))
        except StoreUnavailable as problem:
            print(f"ivrflow send: the failure could not be recorded: {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"call placed: reference id {answer.reference_id}, status {answer.status_code} ({answer.description})")
    report = V1Report(answer.reference_id, answer.status_code or 103, answer.description, "", None, call_id)
    record = _record(store, record, report)
    print(f"recorded as call {call_id} in {args.store}; ask how it went: ivrflow status {answer.reference_id}", flush=True)
    if not args.wait:
        return EXIT_OK
    return _wait(answer.reference_id, record, store, credentials, how, args)


def _wait(reference_id: str, record: CallRecord, store: Store, credentials: Credentials, how: Sending, args: argparse.Namespace) -> int:
    """Ask Telesign for the call's status, pausing longer each time, until it is final or time runs out."""
    deadline = time.monotonic() + args.wait_max
    pause = args.poll
    while True:
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
        try:
            record = _record(store, record, _ask(reference_id, credentials, how))
        except TelesignError as error:
            if error.status != 404:  # 404: Telesign may not know the call yet
                print(f"ivrflow send: {error}", file=sys.stderr)
                return EXIT_PROBLEMS
        if record.v1 is not None and record.state.ended:
            print(f"{reference_id}: {in_words(record.v1)}")
            return EXIT_OK
        if time.monotonic() >= deadline:
            print(f"ivrflow send: the call was still in progress after {args.wait_max:g} s; ask again with: ivrflow status {reference_id}", file=sys.stderr)
            return EXIT_PROBLEMS
        pause = min(pause * 2, 15.0)


def _ask(reference_id: str, credentials: Credentials, how: Sending) -> V1Report:
    """Telesign's status report of a v1 call."""
    try:
        return parse_v1_report(v1_status(reference_id, credentials, how))
    except BadEvent as problem:
        raise TelesignError(f"Telesign's answer is not a status report: {problem}", reason="bad_answer") from None


def _record(store: Store, record: CallRecord, report: V1Report) -> CallRecord:
    """Apply Telesign's report to the call in the store; the call as it now stands (as far as
    this command knows, when the store is not answering)."""
    try:
        store.update(record.reference_id, lambda current: apply_report(current, report, time.time()))
        return store.get(record.reference_id) or record
    except StoreUnavailable as problem:
        print(f"ivrflow: Telesign's report (status {report.code}) could not be recorded: {problem}", file=sys.stderr)
        return apply_report(record, report, time.time())[0] or record


def _status(args: argparse.Namespace) -> int:
    credentials = Credentials.from_env()
    if credentials is None:
        print("ivrflow status: set TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY to your Telesign credentials", file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(args)
    if store is None:
        return EXIT_USAGE
    try:
        record = lookup(store, args.reference_id)
    except StoreUnavailable as problem:
        print(f"ivrflow status: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if record is not None and record.v1 is None:
        print(f"ivrflow status: {args.reference_id} is a live call, not a v1 call: see GET /calls/{record.reference_id} on the server", file=sys.stderr)
        return EXIT_USAGE
    reference_id = record.telesign_id if record is not None and record.telesign_id else args.reference_id
    try:
        report = _ask(reference_id, credentials, Sending(auth=args.auth, timeout=args.timeout))
    except TelesignError as error:
        print(f"ivrflow status: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    now = _record(store, record, report) if record is not None else None
    if now is None or now.v1 is None:
        call = V1Call(code=report.code, description=report.description, updated_on=report.updated_on, user_input=report.user_input)
        print(f"{reference_id}: {in_words(call)}")
        print(f"(not placed by `ivrflow send` with the store {args.store}: the key is not mapped to a flow's choice)", file=sys.stderr)
        return EXIT_OK
    updated = f", updated {now.v1.updated_on}" if now.v1.updated_on else ""
    print(f"{reference_id}: {in_words(now.v1)} (flow {now.state.flow}, status {now.v1.code} {now.v1.description}{updated})")
    return EXIT_OK


def _outcomes(args: argparse.Namespace) -> int:
    flow_id, flow = args.flow, None
    if args.flow.endswith((".yaml", ".yml")):
        checked = check_file(Path(args.flow))
        if checked.flow is None:
            _print_problems(checked.path, [d for d in checked.diagnostics if d.level == "error"])
            return EXIT_PROBLEMS
        flow_id, flow = checked.flow.id, checked.flow
    store = _open_store(args)
    if store is None:
        return EXIT_USAGE
    try:
        summary = outcomes(flow_id, store.recent(flow=flow_id, limit=None), flow)
    except StoreUnavailable as problem:
        print(f"ivrflow outcomes: {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.format == "json" else outcomes_text(summary), end="\n" if args.format == "json" else "")
    return EXIT_OK


def _compile(args: argparse.Namespace) -> int:
    compiled = _compiled(args)
    if isinstance(compiled, int):
        return compiled
    _, params, _ = compiled
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

    from ivrflow.server.logs import configure as configure_logs
    from ivrflow.server.app import app_from_options
    from ivrflow.server.workers import serve

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
    if args.workers < 1 or (args.workers > 1 and args.store.startswith("memory:")):
        print("ivrflow serve: --workers is 1 or more, and several workers need a store they share (sqlite:// or redis://), not memory://", file=sys.stderr)
        return EXIT_USAGE
    if any(limit is not None and limit <= 0 for limit in (args.header_timeout, args.body_timeout, args.max_connections)):
        print("ivrflow serve: --header-timeout, --body-timeout and --max-connections are more than 0", file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(args)
    if store is None:
        return EXIT_USAGE
    options = {"flows": str(args.flows), "store": args.store, "watch": args.watch, "duplicate_window": args.duplicate_window, "dial_timeout": args.dial_timeout, "log_format": args.log_format, "header_timeout": args.header_timeout, "body_timeout": args.body_timeout, "max_connections": args.max_connections}
    configure_logs(args.log_format)
    app = app_from_options(options, store)
    url = f"http://{args.host}:{args.port}"
    checked = "signatures and API credentials checked" if credentials else "NOTHING checked: no signatures, no API credentials, no outbound calls"
    workers = f", {args.workers} workers" if args.workers > 1 else ""
    print(f"ivrflow: serving {len(app.state.flows.current)} flows from {args.flows}/ at {url}/webhook (store {args.store}{workers}; {checked})", flush=True)
    print(f"ivrflow: next, point your Telesign voice webhook at {url}/webhook (behind HTTPS), or look: curl {url}/flows", flush=True)
    if args.workers > 1:
        store.close()  # each worker opens its own
    serve(app, options, args.host, args.port, args.workers)
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


def _flow(args: argparse.Namespace, path: Path | None = None) -> Flow | int:
    """The command's flow (`path`, else its FLOW argument), or the exit code after showing its errors."""
    path = path or args.flow
    if not path.is_file():
        print(f"ivrflow {args.command}: {path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    checked = check_file(path)
    if checked.flow is None or not checked.ok:
        _print_problems(checked.path, [d for d in checked.diagnostics if d.level == "error"])
        return EXIT_PROBLEMS
    return checked.flow


def _missing(args: argparse.Namespace) -> bool:
    """Whether a PATH argument does not exist (each is reported)."""
    absent = missing(args.paths)
    for name in absent:
        print(f"ivrflow {args.command}: {name}: no such file or folder", file=sys.stderr)
    return bool(absent)


def _simulate(args: argparse.Namespace) -> int:
    flow = _flow(args)
    if isinstance(flow, int):
        return flow
    variables = _variables(args.var)
    if variables is None:
        return EXIT_USAGE
    flow = simulate.with_language(flow, args.language)
    try:
        keys: Iterable[str | None] = simulate.parse_keys(args.keys) if args.keys is not None else _asked(args.json)
    except ValueError as problem:
        print(f"ivrflow simulate: --keys: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.server:
        if variables or args.language or args.mode != "live":
            print("ivrflow simulate: with --server the server runs the flow as it serves it: --var, --language and --mode v1 do not apply", file=sys.stderr)
            return EXIT_USAGE
        credentials = Credentials.from_env()
        try:
            steps: Iterable[Step] = simulate.over_http(flow, args.server, keys, customer_id=credentials.customer_id if credentials else "", api_key=credentials.api_key if credentials else None)
        except ServerProblem as problem:
            print(f"ivrflow simulate: {problem}", file=sys.stderr)
            return EXIT_PROBLEMS
    elif args.mode == "v1":
        played = simulate.v1(flow, keys, variables)
        if isinstance(played, list):
            _print_problems(flow.path, played)
            print(f"{flow.path}: does not fit one Telesign v1 request; simulate it with --mode live", file=sys.stderr)
            return EXIT_PROBLEMS
        steps = played
    else:
        steps = simulate.live(flow, keys, variables)
    if args.json:
        print(json.dumps(list(steps), ensure_ascii=False))
        return EXIT_OK
    if args.keys is None and not args.server:
        print(f"Calling {flow.id} ({flow.language}). Press a key and Enter when asked; Enter alone presses nothing.", flush=True)
    for each in steps:
        print(_step_words(each), flush=True)
    return EXIT_OK


def _asked(quiet: bool) -> Iterator[str | None]:
    """Keys typed at the terminal, one per question; Enter alone (or the input's end) is no key."""
    while True:
        try:
            typed = input("" if quiet else "  your key> ").strip()
        except EOFError:
            typed = ""
        if len(typed) == 1 and typed in "0123456789*#":
            yield typed
        elif not typed:
            yield None
        else:
            print("  (one key: 0-9, * or #; Enter alone for none)", flush=True)
            yield from _asked(quiet)
            return


def _step_words(each: Step) -> str:
    if "say" in each:
        return f"says: {each['say']}"
    if "press" in each:
        return f"  pressed {each['press']}"
    if "no_input" in each:
        return "  (no key)"
    if "dial" in each:
        return f"puts the call through to {each['dial']}"
    return "hangs up"


def _journeys(args: argparse.Namespace) -> int:
    if _missing(args):
        return EXIT_USAGE
    code = EXIT_OK
    for path in flow_files(args.paths):
        flow = _flow(args, path)
        if isinstance(flow, int):
            code = flow
            continue
        walked = walk_all(flow)
        text, target = render(flow, walked), journeys_path(path)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                print(f"{display_path(target)}: {'missing' if current is None else 'out of date'}: run `ivrflow journeys {display_path(path)}`")
                code = EXIT_PROBLEMS
            continue
        if current != text:
            target.write_text(text, encoding="utf-8")
        more = f", stopped at {len(walked.journeys)}" if walked.truncated else ""
        print(f"{display_path(target)}: {len(walked.journeys)} journeys{more}{'' if current != text else ' (unchanged)'}")
    return code


def _test(args: argparse.Namespace) -> int:
    if _missing(args):
        return EXIT_USAGE
    results = flowtests.run(args.paths)
    name = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    print(flowtests.RENDERERS[name](results, coverage=args.coverage), end="")
    return EXIT_PROBLEMS if any(result.failures for result in results) else EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    flow = _flow(args)
    if isinstance(flow, int):
        return flow
    print(FORMATS[args.format](flow), end="")
    return EXIT_OK


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
