"""`ivrflow check-telesign`: find out on the operator's own Telesign account what the engine
assumes of Telesign, with one test call through a running `ivrflow serve`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivrflow.cli.common import EXIT_OK, EXIT_PROBLEMS, server_arguments
from ivrflow.errors import ApiError, ServerProblem, UsageError
from ivrflow.telesign.auth import Credentials

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def check_parser(commands: Commands) -> None:
    check = commands.add_parser(
        "check-telesign",
        help="place a test call to find out what your Telesign account really does",
        description=(
            "Ask a running `ivrflow serve` (reachable by Telesign, with your credentials) to place a short test call to NUMBER, your own phone, and to record "
            "every post Telesign makes for it exactly as it arrived (body, header names, how it was signed, timing, redeliveries). Answer and follow the "
            "instructions: press 1, press nothing, press 1 2 3 in one go, then hang up (or, with --transfer-to, be transferred to your second number after a "
            "menu, answer it, hang up the second phone first and hear the first one come back). Then each of the engine's assumptions about Telesign is printed with what this account did: held, did not hold, "
            "not seen, or cannot (a test call cannot tell), and the whole record is written to --out, to attach to a ticket with Telesign support. "
            "Exit 0: nothing that was seen contradicts the engine; 1: an assumption did not hold, or the call could not be placed; 2: the server could not be reached."
        ),
    )
    check.add_argument("number", metavar="NUMBER", help="your phone, with country code, like +15551234567")
    check.add_argument(
        "--caller-id", required=True, metavar="NUMBER", help="one of your Telesign numbers, to call from"
    )
    check.add_argument(
        "--transfer-to",
        metavar="NUMBER",
        help="a second phone of yours: the call is transferred to it after a menu (Telesign's documents and its demo disagree on whether that works)",
    )
    server_arguments(check)
    check.add_argument(
        "--out", type=Path, metavar="FILE", help="where to write the record (default: telesign-check-<check id>.json)"
    )
    check.add_argument(
        "--wait-max",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="give up waiting for the call to end after this long (default 300)",
    )
    check.add_argument(
        "--linger",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="after the call ends, keep recording this long for late posts and redeliveries (default 10)",
    )
    check.add_argument("--poll", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    check.set_defaults(run=_check)


def _check(args: argparse.Namespace) -> int:
    from ivrflow.server.check_report import CANNOT, HELD, NOT_HELD, NOT_SEEN, Verdict, as_text
    from ivrflow.tools.calls_client import api_request

    credentials = Credentials.from_env()
    if credentials is None:
        raise UsageError(
            "ivrflow check-telesign: set TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY (the server's, which sign the requests to it)"
        )
    request: dict[str, object] = {
        "to": args.number,
        **({"caller_id": args.caller_id} if args.caller_id else {}),
        **({"transfer_to": args.transfer_to} if args.transfer_to else {}),
    }

    def ask(method: str, path: str, body: dict[str, object] | None = None, expect: int = 200) -> dict[str, Any]:
        try:
            return api_request(args.server, method, path, body, credentials=credentials, auth=args.auth, expect=expect)
        except ServerProblem as problem:
            raise UsageError(f"ivrflow check-telesign: {problem}") from None

    try:
        started = ask("POST", "/checks", request, expect=201)
    except ApiError as refused:
        print(
            f"ivrflow check-telesign: the test call was not placed: {refused.code} (HTTP {refused.status}): {refused.message}",
            file=sys.stderr,
        )
        for field in refused.errors[1:]:
            print(f"  {field.field}: {field.message}", file=sys.stderr)
        return EXIT_PROBLEMS
    check_id = started["check_id"]
    print(
        f"test call {check_id} placed to {args.number} (Telesign reference id {started['telesign']['reference_id']}): answer it and follow the instructions",
        flush=True,
    )
    record = _wait(ask, check_id, args)
    out = args.out or Path(f"telesign-check-{check_id}.json")
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    found = [Verdict(**verdict) for verdict in record["verdicts"]]
    print(as_text(found), end="")
    counts = {
        result: sum(verdict.result == result for verdict in found) for result in (HELD, NOT_HELD, NOT_SEEN, CANNOT)
    }
    print(
        f"{counts[HELD]} held, {counts[NOT_HELD]} did not hold, {counts[NOT_SEEN]} not seen, {counts[CANNOT]} a test call cannot tell; "
        f"{len(record['events'])} posts recorded in {out} (attach it to a ticket with Telesign support)"
    )
    return EXIT_PROBLEMS if counts[NOT_HELD] else EXIT_OK


def _wait(ask: Any, check_id: str, args: argparse.Namespace) -> dict[str, Any]:
    """The check's record once the call has ended and `linger` seconds more have passed (or `wait_max`)."""
    deadline = time.monotonic() + args.wait_max
    ended_at: float | None = None
    while True:
        record: dict[str, Any] = ask("GET", f"/checks/{check_id}")
        call = record.get("call") or {}
        over = call.get("status") not in (None, "dialing", "in_progress") and any(
            '"call_completed"' in event["body"] for event in record["events"]
        )
        now = time.monotonic()
        if over and ended_at is None:
            ended_at = now
        if (ended_at is not None and now - ended_at >= args.linger) or now >= deadline:
            if ended_at is None:
                print(
                    f"ivrflow check-telesign: the test call had not ended after {args.wait_max:g} s; what was recorded so far follows",
                    file=sys.stderr,
                )
            return record
        time.sleep(args.poll)
