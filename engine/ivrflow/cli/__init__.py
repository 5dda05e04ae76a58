"""The `ivrflow` command line: parse arguments, call the library, turn the outcome into an exit code.

Exit codes follow the linters people already use: 0 all good, 1 problems found in the flows,
2 the tool itself could not do its job (a missing path, a bad option).

Each command's parser and handler live in the module of its kind (lint, v1, live, authoring). A
handler returns the exit code of a command that ran; anything that stops it is raised, and `main`
turns it into what is printed and the exit code, in one place.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ivrflow import __version__
from ivrflow.cli import authoring, check, lint, live, studio, translations, v1
from ivrflow.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, print_flow_error, print_telesign_error
from ivrflow.errors import EndlessCall, FlowError, ServerProblem, StoreUnavailable, TelesignError, UsageError

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "main"]

# In the order `ivrflow --help` lists them.
COMMANDS: tuple[Callable[[Commands], None], ...] = (
    lint.lint_parser,
    authoring.new_parser,
    v1.compile_parser,
    v1.send_parser,
    v1.status_parser,
    v1.outcomes_parser,
    live.serve_parser,
    live.call_parser,
    check.check_parser,
    authoring.simulate_parser,
    authoring.journeys_parser,
    authoring.test_parser,
    authoring.graph_parser,
    studio.studio_parser,
    translations.translations_parser,
    lint.explain_parser,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivrflow",
        description="Phone menus written as YAML flows: lint them, compile them to Telesign v1, run them live on Telesign v2.",
    )
    parser.add_argument("--version", action="version", version=f"ivrflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


# A reader that stops early (`ivrflow simulate … | head`) closes the pipe; like `yes | head`, the
# command then ends quietly with 128 + SIGPIPE, which shells report for any program stopped this way.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # Output still buffered for the closed pipe would fail again at exit: send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as error:  # the message is the whole line (or lines) to show
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except FlowError as error:
        print_flow_error(error)
        return EXIT_PROBLEMS
    except TelesignError as error:
        print_telesign_error(args.command, error)
        return EXIT_PROBLEMS
    except (ServerProblem, EndlessCall) as error:
        print(f"ivrflow {args.command}: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except StoreUnavailable as problem:
        print(f"ivrflow {args.command}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    raise SystemExit(main())
