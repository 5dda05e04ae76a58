"""`ivrflow lint` (check flow files) and `ivrflow explain` (what a lint rule is about)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ivrflow.cli.common import EXIT_OK, check_paths, lines, use_color
from ivrflow.errors import UsageError
from ivrflow.language.catalog import RULES
from ivrflow.language.diagnostics import suggestion
from ivrflow.language.http_node import allowed_hosts
from ivrflow.language.lint import lint
from ivrflow.language.rulesdoc import rule_markdown, rules_markdown
from ivrflow.tools.reporters import REPORTERS

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def lint_parser(commands: Commands) -> None:
    lint_cmd = commands.add_parser(
        "lint",
        help="check flow files for mistakes",
        description=(
            "Check flow files and folders of flow files. Exit 0: no errors; 1: errors found (or warnings, with --strict); 2: the check could not run. "
            "Where you know better than a rule, silence it with a comment on the line it reports, `# ivrflow: disable=RULE[,RULE...]`, "
            "or for the whole file with `# ivrflow: disable-file=RULE` at the top; json and sarif list silenced problems as suppressed. "
            "Errors that leave a flow unrunnable cannot be silenced."
        ),
    )
    lint_cmd.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="flow files, or folders to search for *.yaml flows"
    )
    lint_cmd.add_argument(
        "--format",
        choices=sorted(REPORTERS),
        default=None,
        help="output format (default: github when GITHUB_ACTIONS=true, else text)",
    )
    lint_cmd.add_argument("--strict", action="store_true", help="fail on warnings too")
    lint_cmd.add_argument(
        "--target",
        choices=["live", "v1"],
        default="live",
        help="v1: also report every reason a flow cannot compile to one Telesign v1 request",
    )
    lint_cmd.add_argument(
        "--allow-host",
        action="append",
        metavar="HOST",
        help="a host http nodes may ask, as `ivrflow serve --allow-host` allows it (repeat it; *.example.com for any under it); "
        "with it, or IVRFLOW_ALLOW_HOSTS, a url to any other host is an error",
    )
    lint_cmd.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour in the text format (auto: on a terminal, unless NO_COLOR is set)",
    )
    lint_cmd.set_defaults(run=_lint)


def explain_parser(commands: Commands) -> None:
    explain = commands.add_parser(
        "explain",
        help="explain a lint rule",
        description="Print what a lint rule catches, why it matters and how to fix it.",
    )
    explain.add_argument("rule", nargs="?", help="a rule id, such as unknown-target")
    explain.add_argument("--all", action="store_true", help="print every rule (this is docs/rules.md)")
    explain.set_defaults(run=_explain)


def _lint(args: argparse.Namespace) -> int:
    check_paths(args)
    report = lint(args.paths, target=args.target, hosts=allowed_hosts(args.allow_host, os.environ))
    name = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    sources = {checked.path: lines(checked.path) for checked in report.files} if name == "text" else {}
    print(REPORTERS[name](color=use_color(args.color), sources=sources).render(report), end="")
    return report.exit_code(strict=args.strict)


def _explain(args: argparse.Namespace) -> int:
    if args.all:
        print(rules_markdown(), end="")
        return EXIT_OK
    if not args.rule or args.rule not in RULES:
        known = ", ".join(RULES)
        raise UsageError(
            f"ivrflow explain: unknown rule `{args.rule or ''}`. {suggestion(args.rule or '', RULES)}Rules: {known}"
        )
    print(rule_markdown(RULES[args.rule]), end="")
    return EXIT_OK
