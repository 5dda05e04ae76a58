"""Disable comments: where the author knows better than a rule, they say so in the flow itself.

    message: "..."   # ivrflow: disable=menu-key-not-mentioned,unused-variable
    # ivrflow: disable-file=menu-key-not-mentioned          (in the comments at the top of the file)

spelt as ruff's `# noqa: F401` and yamllint's `# yamllint disable-line rule:truthy` are: on the line
the problem is reported at, several rule ids separated by commas. A silenced diagnostic is kept as
suppressed (SARIF's `suppressions`), so `--format json` and `--format sarif` still show it.

Errors that leave the flow unrunnable cannot be silenced: the engine refuses to load a flow with
errors, and a silenced one would let through a flow that cannot be read or run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ivrflow.language.catalog import RULES, UNSILENCEABLE
from ivrflow.language.diagnostics import Diagnostic, Span, suggestion

# `# ivrflow: disable=a,b` after a space or at the start of a line (so not inside `"#1 choice"`).
_COMMENT = re.compile(r"(?:^|\s)#\s*ivrflow:\s*(disable|disable-file)\s*=\s*([A-Za-z0-9_, -]*)")
_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(slots=True)
class _Disable:
    rule: str
    span: Span  # where the rule id is written
    whole_file: bool
    used: bool = False


@dataclass(slots=True)
class Disables:
    """The disable comments of one file, and what is wrong with them."""

    entries: list[_Disable] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)

    def silences(self, diagnostic: Diagnostic) -> _Disable | None:
        for entry in self.entries:
            if entry.rule == diagnostic.rule and (entry.whole_file or entry.span.line == diagnostic.span.line):
                return entry
        return None


def read_disables(lines: list[str]) -> Disables:
    """The disable comments in a file's lines; a `disable-file` counts only in the comments that open the file."""
    found = Disables()
    at_top = True
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        comment = _COMMENT.search(line)
        if comment is not None:
            whole_file = comment.group(1) == "disable-file"
            for rule in _ID.finditer(comment.group(2)):
                column = comment.start(2) + rule.start() + 1
                span = Span(number, column, number, column + len(rule.group(0)))
                _add(found, rule.group(0), span, whole_file=whole_file, at_top=at_top and stripped.startswith("#"))
        if stripped and not stripped.startswith("#"):
            at_top = False
    return found


def _add(found: Disables, rule: str, span: Span, *, whole_file: bool, at_top: bool) -> None:
    if rule not in RULES:
        hint = suggestion(rule, RULES) + "`ivrflow explain --all` lists the rules"
        found.problems.append(Diagnostic("disable-comment", span, f"there is no rule `{rule}` to disable", hint))
    elif rule in UNSILENCEABLE:
        message = f"`{rule}` cannot be silenced: with this error the flow cannot be read or run"
        found.problems.append(
            Diagnostic("disable-comment", span, message, "fix what it reports, and remove the disable comment")
        )
    elif whole_file and not at_top:
        message = f"`disable-file={rule}` counts only in the comments at the top of the file"
        found.problems.append(
            Diagnostic(
                "disable-comment",
                span,
                message,
                "move the comment above the first line of the flow, or use `disable=` on the line the problem is reported at",
            )
        )
    else:
        found.entries.append(_Disable(rule, span, whole_file))


def apply(disables: Disables, diagnostics: list[Diagnostic]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """(diagnostics kept, diagnostics silenced), plus the problems of the comments themselves, and
    a warning for each disable that silenced nothing."""
    kept: list[Diagnostic] = list(disables.problems)
    silenced: list[Diagnostic] = []
    for diagnostic in diagnostics:
        entry = disables.silences(diagnostic) if diagnostic.rule not in UNSILENCEABLE else None
        if entry is None:
            kept.append(diagnostic)
        else:
            entry.used = True
            comment = (
                f"# ivrflow: {'disable-file' if entry.whole_file else 'disable'}={entry.rule} on line {entry.span.line}"
            )
            silenced.append(replace(diagnostic, suppressed_by=comment))
    for entry in disables.entries:
        if not entry.used:
            where = "in this file" if entry.whole_file else "on this line"
            message = f"this disable comment silences nothing: `{entry.rule}` reports no problem {where}"
            kept.append(
                Diagnostic(
                    "disable-comment",
                    entry.span,
                    message,
                    "remove it, so that the rule can warn again when it should",
                    severity="warning",
                )
            )
    return kept, silenced
