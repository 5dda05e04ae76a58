"""The `ivrflow` command line: parse arguments, call the library, turn the outcome into an exit code.

Exit codes follow the linters people already use: 0 all good, 1 problems found in the flows,
2 the tool itself could not do its job (a missing path, a bad option).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from engine import __version__
from engine.catalog import RULES, rule_markdown, rules_markdown
from engine.diagnostics import suggestion
from engine.lint import lint, missing
from engine.reporters import REPORTERS

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
