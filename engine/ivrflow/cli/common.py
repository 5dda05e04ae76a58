"""What several commands share: exit codes, arguments, reading a flow, opening the store, showing
a flow's errors. Anything that stops a command raises (UsageError, FlowError, ...); `main` turns
it into the exit code."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ivrflow.errors import FlowError, StoreUnavailable, TelesignError, UsageError
from ivrflow.language.diagnostics import Diagnostic, no_such_language, no_such_variable
from ivrflow.language.lint import missing
from ivrflow.language.loader import Target, check_file, display_path
from ivrflow.language.model import BUILTIN_VARS, Flow
from ivrflow.stores import Store, open_store
from ivrflow.telesign.auth_codes import DATE_OUT_OF_RANGE, TOLERANCE_MINUTES, auth_code
from ivrflow.tools.reporters import TextReporter

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
DEFAULT_STORE = "sqlite:///var/ivrflow.db"


def use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def print_problems(path: str, diagnostics: list[Diagnostic]) -> None:
    reporter = TextReporter(color=use_color("auto"), sources={path: lines(path)})
    for diagnostic in diagnostics:
        print(reporter.block(diagnostic) + "\n", file=sys.stderr)


def print_flow_error(error: FlowError) -> None:
    print_problems(error.path, error.diagnostics)
    if error.note:
        print(error.note, file=sys.stderr)


def load_flow(command: str, path: Path) -> Flow:
    """The flow in `path`, checked; UsageError when there is no such file, FlowError with its errors."""
    flow, errors = read_flow(command, path)
    if errors:
        raise FlowError(display_path(path), errors)
    return flow


def read_flow(command: str, path: Path, *, target: Target = "live") -> tuple[Flow, list[Diagnostic]]:
    """The flow in `path` and its errors (with target v1: the reasons it does not fit v1 too, all in
    line order), for a command that checks its arguments against the flow before it says them;
    UsageError when there is no such file, FlowError when it cannot be read as a flow at all."""
    if not path.is_file():
        raise UsageError(f"ivrflow {command}: {path}: no such file")
    checked = check_file(path, target=target)
    errors = [d for d in checked.diagnostics if d.level == "error"]
    if checked.flow is None:
        raise FlowError(checked.path, errors)
    return checked.flow, errors


def does_not_fit(path: str, problems: list[Diagnostic]) -> str:
    return f"{path}: does not fit one Telesign v1 request ({len(problems)} reason{'s' if len(problems) != 1 else ''}); run it live with `ivrflow serve` instead."


def check_paths(args: argparse.Namespace) -> None:
    """UsageError naming every PATH argument that does not exist."""
    absent = missing(args.paths)
    if absent:
        raise UsageError("\n".join(f"ivrflow {args.command}: {name}: no such file or folder" for name in absent))


def var_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a call variable (repeatable)"
    )


def variables(pairs: list[str]) -> dict[str, str]:
    """The --var NAME=VALUE pairs as a mapping."""
    given = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise UsageError(f"ivrflow: --var {pair!r} is not NAME=VALUE")
        given[name] = value
    return given


def call_variables(command: str, pairs: list[str], flow: Flow) -> dict[str, str]:
    """The --var NAME=VALUE pairs for a call with `flow`; UsageError naming every name the flow
    does not declare, as POST /calls refuses them."""
    given = variables(pairs)
    wrong = []
    for name in given:
        if name in BUILTIN_VARS:
            wrong.append(
                f"ivrflow {command}: --var {name}: `{name}` is one of the call's own numbers, set by the call itself; leave it out"
            )
        elif name not in flow.vars:
            wrong.append(f"ivrflow {command}: --var {name}: {no_such_variable(flow.id, name, flow.vars)}")
    if wrong:
        raise UsageError("\n".join(wrong))
    return given


def language_argument(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument(
        "--language",
        default="",
        metavar="TAG",
        help=f"{what} in this language of the flow's `languages`, like es-MX (default: the first)",
    )


def call_language(command: str, language: str, flow: Flow) -> str:
    """The --language of a call with `flow` ("": the flow's first); UsageError naming the flow's
    languages when it has no such language."""
    if language and language not in flow.languages:
        raise UsageError(
            f"ivrflow {command}: --language {language}: {no_such_language(flow.id, language, flow.languages)}"
        )
    return language


def telesign_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--auth",
        choices=["basic", "hmac"],
        default="basic",
        help="Telesign's Basic scheme (default) or its TSA HMAC-SHA256 signature",
    )
    command.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each of Telesign's answers (default 10)"
    )


def server_arguments(command: argparse.ArgumentParser) -> None:
    """--server and --auth of a command that asks a running `ivrflow serve` (its calls API)."""
    command.add_argument(
        "--server",
        default=os.environ.get("IVRFLOW_SERVER", "http://127.0.0.1:8080"),
        metavar="URL",
        help="the server (default: IVRFLOW_SERVER, else http://127.0.0.1:8080)",
    )
    command.add_argument(
        "--auth",
        choices=["basic", "hmac"],
        default="hmac",
        help="sign with Telesign's TSA HMAC-SHA256 scheme (default) or send Basic credentials",
    )


def store_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--store",
        default=os.environ.get("IVRFLOW_STORE", DEFAULT_STORE),
        metavar="URL",
        help=f"where calls are kept: sqlite:///PATH, redis://HOST:PORT/DB[?ttl=SECONDS] or memory:// (default: IVRFLOW_STORE, else {DEFAULT_STORE})",
    )


def opened_store(args: argparse.Namespace) -> Store:
    try:
        return open_store(args.store)
    except (ValueError, StoreUnavailable, OSError, sqlite3.Error) as problem:
        raise UsageError(f"ivrflow {args.command}: cannot open the store {args.store}: {problem}") from None


def print_telesign_error(command: str, error: TelesignError) -> None:
    """Telesign's refusal in one line, Telesign's own words in it; then, for its authentication
    codes, what each means and what to do."""
    print(f"ivrflow {command}: {error}", file=sys.stderr)
    for line in auth_advice(error.codes, error.clock_offset, "Telesign"):
        print(line, file=sys.stderr)


def auth_advice(codes: Iterable[int | str], clock_offset: float | None, who: str) -> list[str]:
    """For each of Telesign's authentication codes among `codes` (either family; `who` refused the
    request: Telesign, or the server), a line for people: what it means and what to do. For a date
    out of range, how far this computer's clock is off, from the answer's Date header
    (`clock_offset`: seconds ahead of theirs), or that it cannot be told."""
    advice: list[str] = []
    for code in codes:
        entry = auth_code(code)
        if entry is None:
            continue
        remedy = _clock_advice(clock_offset, who) if entry.code == DATE_OUT_OF_RANGE else entry.remedy
        line = f"  error {code} means {entry.meaning.format(who=who)}: {remedy}"
        if line not in advice:
            advice.append(line)
    return advice


def _clock_advice(offset: float | None, who: str) -> str:
    their = "Telesign's" if who == "Telesign" else "the server's"
    if offset is None:
        return f"how far this computer's clock is off cannot be told ({their} answer had no readable Date header); {who} allows {TOLERANCE_MINUTES}. Check the clock: turn on automatic time sync (NTP)"
    minutes = round(abs(offset) / 60)
    side = "ahead of" if offset > 0 else "behind"
    return f"this computer's clock is {minutes} minutes off ({side} {their}); {who} allows {TOLERANCE_MINUTES}. Set it right: turn on automatic time sync (NTP)"
