"""The Telesign v1 commands: `compile` a flow to one request, `send` it (and `--wait` for how it
went), ask a call's `status`, and sum up a flow's `outcomes`."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ivrflow import placing
from ivrflow.calls.outcomes import outcomes, outcomes_text
from ivrflow.calls.record import V1Call
from ivrflow.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    call_language,
    call_variables,
    does_not_fit,
    language_argument,
    opened_store,
    print_telesign_error,
    read_flow,
    store_argument,
    telesign_arguments,
    var_argument,
)
from ivrflow.cli.when import at_argument, call_time
from ivrflow.errors import FlowError, StoreUnavailable, UsageError
from ivrflow.language.lint import flow_files
from ivrflow.language.loader import check_file
from ivrflow.language.model import Flow
from ivrflow.stores import lookup
from ivrflow.telesign.auth import Credentials
from ivrflow.telesign.client import Sending, base_url
from ivrflow.telesign.facts import PHONE_DIGITS_MAX, PHONE_DIGITS_MIN, V1_VOICE
from ivrflow.v1.compiler import PHONE, CallOptions, compile_v1
from ivrflow.v1.outcomes import in_words

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def compile_parser(commands: Commands) -> None:
    compile_cmd = commands.add_parser(
        "compile",
        help="turn a flow into one Telesign v1 voice request",
        description="Compile a flow to the form fields of one Telesign POST /v1/voice request. Exit 1 with every reason, in line order, when the flow has errors or does not fit v1; 2 when the command could not run (a --to that is no phone number, a --var the flow does not declare, a --language it does not have). A flow in several languages compiles to one language's call (--language; default its first): a v1 call has one voice.",
    )
    _call_arguments(compile_cmd)
    at_argument(compile_cmd)
    compile_cmd.add_argument(
        "--format",
        choices=["json", "form", "curl"],
        default="json",
        help="json: the form fields as one JSON object (default); form: the url-encoded body; curl: a runnable curl command",
    )
    compile_cmd.set_defaults(run=_compile)


def send_parser(commands: Commands) -> None:
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
    telesign_arguments(send)
    store_argument(send)
    send.add_argument(
        "--wait",
        action="store_true",
        help="then ask Telesign for the call's status until it is final, and print how it went",
    )
    send.add_argument(
        "--wait-max",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="with --wait: give up after this long (default 600)",
    )
    send.add_argument(
        "--poll",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="with --wait: the first pause between status queries, doubled each time up to 15 (default 2)",
    )
    send.set_defaults(run=_send)


def status_parser(commands: Commands) -> None:
    status = commands.add_parser(
        "status",
        help="ask Telesign how a v1 call went",
        description=(
            "Ask Telesign for a v1 call's status (GET /v1/voice/REFERENCE_ID) and print it in plain words, with the key pressed mapped back to the flow's choice "
            "when the call is in the store (placed by `ivrflow send`), like `answered; pressed 1 → confirmed`. The status is recorded on the call. "
            "Exit 0: Telesign answered; 1: Telesign refused (an unknown reference id, wrong credentials); 2: the command could not run."
        ),
    )
    status.add_argument(
        "reference_id",
        metavar="REFERENCE_ID",
        help="Telesign's reference id of the call (or the id `ivrflow send` recorded it under)",
    )
    telesign_arguments(status)
    store_argument(status)
    status.set_defaults(run=_status)


def outcomes_parser(commands: Commands) -> None:
    outcomes_cmd = commands.add_parser(
        "outcomes",
        help="sum up how a flow's calls went",
        description=(
            "How a flow's calls went, live and v1 alike, from the counts the store keeps as calls go (one small read, however many calls are stored): "
            "by status and how many were answered; per menu how often each key was pressed, no key came, or the attempts ran out; per collect_digits node "
            "how many entries came, and for a survey (few answers, not sensitive) how often each answer was given; how many calls ended at each node; "
            "for v1 calls how many chose each key and how many chose nothing. Sensitive values are never counted by value. "
            "The same summary as the server's GET /flows/FLOW/outcomes."
        ),
    )
    outcomes_cmd.add_argument(
        "flow", metavar="FLOW", help="the flow's id (its file is looked for in --flows), or its file"
    )
    outcomes_cmd.add_argument(
        "--flows",
        type=Path,
        default=Path("flows"),
        metavar="DIR",
        help="where to find the flow by its id, to list its menus and choices before anyone used them (default: flows)",
    )
    outcomes_cmd.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text for people (default), or the JSON of GET /flows/FLOW/outcomes",
    )
    store_argument(outcomes_cmd)
    outcomes_cmd.set_defaults(run=_outcomes)


def _call_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    command.add_argument(
        "--to", required=True, metavar="NUMBER", help="the number to call, with country code, like +15554441313"
    )
    var_argument(command)
    language_argument(command, "the call's one voice and texts (a v1 call speaks one language)")
    command.add_argument(
        "--callback-url",
        metavar="URL",
        help="where Telesign posts the call's status (default: IVRFLOW_PUBLIC_URL/callbacks/v1 when IVRFLOW_PUBLIC_URL is set)",
    )
    command.add_argument(
        "--external-id",
        metavar="ID",
        help="your own id for the call, returned in callbacks (`send` otherwise gives the id it records the call under)",
    )
    command.add_argument("--originating-ip", help="the end user's IP address")


def _compiled(args: argparse.Namespace) -> tuple[Flow, dict[str, str], dict[str, str]]:
    """The flow, its v1 form fields for the command's options and the call's variables; FlowError
    with the reasons when the flow does not fit v1."""
    if not PHONE.match(args.to):  # the command's argument, not the flow, is wrong
        raise UsageError(
            f"ivrflow {args.command}: --to {args.to} is not a phone number Telesign accepts: write {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits with the country code, "
            "no spaces or dashes, like --to 15554441313 or --to +15554441313"
        )
    flow, errors = read_flow(args.command, args.flow, target="v1")
    given = call_variables(args.command, args.var, flow)
    flow = flow.speaking(call_language(args.command, args.language, flow))  # its voice and texts
    if errors:  # every reason at once: the flow's errors and why it does not fit v1, in line order
        raise FlowError(
            flow.path,
            errors,
            note=does_not_fit(flow.path, errors) if any(d.rule.startswith("v1-") for d in errors) else "",
        )
    callback_url = args.callback_url or (
        os.environ["IVRFLOW_PUBLIC_URL"].rstrip("/") + "/callbacks/v1" if os.environ.get("IVRFLOW_PUBLIC_URL") else None
    )
    options = CallOptions(
        to=args.to,
        at=call_time(args.command, getattr(args, "at", None), flow),  # compile --at; send: now
        variables=given,
        callback_url=callback_url,
        external_id=args.external_id,
        originating_ip=args.originating_ip,
    )
    params, problems = compile_v1(flow, options)
    if params is None:
        raise FlowError(flow.path, problems, note=does_not_fit(flow.path, problems))
    return flow, params, given


def _compile(args: argparse.Namespace) -> int:
    _, params, _ = _compiled(args)
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


def _credentials(command: str) -> Credentials:
    credentials = Credentials.from_env()
    if credentials is None:
        raise UsageError(
            f"ivrflow {command}: set TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY to your Telesign credentials"
        )
    return credentials


def _print_unrecorded(unrecorded: placing.Unrecorded) -> None:
    print(
        f"ivrflow: Telesign's report (status {unrecorded.report.code}) could not be recorded: {unrecorded.problem}",
        file=sys.stderr,
    )


def _print_in_doubt(refused: placing.Refused, params: dict[str, str], store: str) -> None:
    """What is known of a call Telesign may have placed without saying so, and how to find out:
    the status query needs Telesign's reference id, which a failed answer did not give (else
    `send` has asked already); the callback carries our external_id."""
    print(
        f"ivrflow send: kept as call {refused.call_id} (dialing) in {store}; Telesign gave no reference id, so its status cannot be asked for.",
        file=sys.stderr,
    )
    if params.get("callback_url"):
        print(
            f"ivrflow send: if the call was placed, Telesign's callback to {params['callback_url']} (external_id {params.get('external_id', refused.call_id)}) will record how it went; see `ivrflow outcomes`.",
            file=sys.stderr,
        )
    else:
        print(
            "ivrflow send: no callback_url was set, so only Telesign (its portal, or support) can say whether it was placed; do not send it again before you know.",
            file=sys.stderr,
        )


def _send(args: argparse.Namespace) -> int:
    credentials = _credentials("send")
    flow, params, given = _compiled(args)
    store = opened_store(args)
    how = Sending(auth=args.auth, timeout=args.timeout)
    try:
        sent = placing.send_v1_call(store, flow, params, given, credentials, how)
    except StoreUnavailable as problem:
        raise UsageError(f"ivrflow send: the call was not placed: it could not be recorded: {problem}") from None
    if isinstance(sent, placing.Refused):
        print_telesign_error("send", sent.error)
        if sent.problem is not None:
            print(f"ivrflow send: the failure could not be recorded: {sent.problem}", file=sys.stderr)
        if sent.may_be_placed:
            _print_in_doubt(sent, params, args.store)
        return EXIT_PROBLEMS
    answer = sent.answer
    print(f"call placed: reference id {answer.reference_id}, status {answer.status_code} ({answer.description})")
    if sent.unrecorded is not None:
        _print_unrecorded(sent.unrecorded)
    print(
        f"recorded as call {sent.call_id} in {args.store}; ask how it went: ivrflow status {answer.reference_id}",
        flush=True,
    )
    if not args.wait:
        return EXIT_OK
    final = placing.wait(
        store,
        sent.record,
        answer.reference_id,
        credentials,
        how,
        wait_max=args.wait_max,
        poll=args.poll,
        on_unrecorded=_print_unrecorded,
        flow=flow,
    )
    if final is None:
        print(
            f"ivrflow send: the call was still in progress after {args.wait_max:g} s; ask again with: ivrflow status {answer.reference_id}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    print(f"{answer.reference_id}: {in_words(final)}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    credentials = _credentials("status")
    store = opened_store(args)
    record = lookup(store, args.reference_id)
    if record is not None and record.v1 is None:
        raise UsageError(
            f"ivrflow status: {args.reference_id} is a live call, not a v1 call: see GET /calls/{record.reference_id} on the server"
        )
    status = placing.check_status(
        store, record, args.reference_id, credentials, Sending(auth=args.auth, timeout=args.timeout)
    )
    if status.unrecorded is not None:
        _print_unrecorded(status.unrecorded)
    now, report = status.record, status.report
    if now is None or now.v1 is None:
        call = V1Call(
            code=report.code, description=report.description, updated_on=report.updated_on, user_input=report.user_input
        )
        print(f"{status.reference_id}: {in_words(call)}")
        print(
            f"(not placed by `ivrflow send` with the store {args.store}: the key is not mapped to a flow's choice)",
            file=sys.stderr,
        )
        return EXIT_OK
    updated = f", updated {now.v1.updated_on}" if now.v1.updated_on else ""
    print(
        f"{status.reference_id}: {in_words(now.v1)} (flow {now.state.flow}, status {now.v1.code} {now.v1.description}{updated})"
    )
    return EXIT_OK


def _outcomes(args: argparse.Namespace) -> int:
    flow_id, flow = args.flow, None
    if args.flow.endswith((".yaml", ".yml")):
        checked = check_file(Path(args.flow))
        if checked.flow is None:
            raise FlowError(checked.path, [d for d in checked.diagnostics if d.level == "error"])
        flow_id, flow = checked.flow.id, checked.flow
    elif args.flows.is_dir():  # the flow's file, when a flow of that id is there and loads
        found = (check_file(path).flow for path in flow_files([args.flows]))
        flow = next((each for each in found if each is not None and each.id == flow_id), None)
    store = opened_store(args)
    summary = outcomes(flow_id, store.counts(flow_id), flow)
    print(
        json.dumps(summary, indent=2, ensure_ascii=False) if args.format == "json" else outcomes_text(summary),
        end="\n" if args.format == "json" else "",
    )
    return EXIT_OK
