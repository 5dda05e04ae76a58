"""Output formats of `ivrflow lint`: one small class per format, chosen by name."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ivrflow import __version__
from ivrflow.language.catalog import DOCS_URL, RULES
from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.lint import LintReport
from ivrflow.tools.annotations import annotation

_COLORS = {
    "error": "\033[1;31m",
    "warning": "\033[1;33m",
    "info": "\033[1;36m",
    "bold": "\033[1m",
    "dim": "\033[2m",
    "reset": "\033[0m",
}


class Reporter:
    name: ClassVar[str]

    def __init__(self, *, color: bool = False, sources: dict[str, list[str]] | None = None) -> None:
        self.color = color
        self.sources = sources or {}

    def render(self, report: LintReport) -> str:
        raise NotImplementedError


class TextReporter(Reporter):
    """For people: `file:line:col: severity rule message`, the line itself, a caret, a hint."""

    name = "text"

    def paint(self, style: str, text: str) -> str:
        return f"{_COLORS[style]}{text}{_COLORS['reset']}" if self.color else text

    def render(self, report: LintReport) -> str:
        blocks = [self.block(diagnostic) for diagnostic in report.diagnostics]
        blocks.append(self.summary(report))
        return "\n\n".join(blocks) + "\n"

    def block(self, d: Diagnostic) -> str:
        head = f"{self.paint('bold', f'{d.file}:{d.span.line}:{d.span.column}:')} {self.paint(d.level, d.level)} {d.rule} {d.message}"
        lines = [head]
        source = self.sources.get(d.file, [])
        if 0 < d.span.line <= len(source):
            text = source[d.span.line - 1].replace("\t", " ")
            width = max(1, (d.span.end_column if d.span.end_line == d.span.line else len(text) + 1) - d.span.column)
            number = str(d.span.line)
            pad = " " * len(number)
            lines.append(self.paint("dim", f" {number} | ") + text)
            lines.append(
                self.paint("dim", f" {pad} | ")
                + " " * (d.span.column - 1)
                + self.paint(d.level, "^" * min(width, max(1, len(text) - d.span.column + 1)))
            )
        if d.hint:
            lines.append(f"  = hint: {d.hint}")
        lines.append(self.paint("dim", f"  = see: docs/{RULES[d.rule].doc_anchor} or `ivrflow explain {d.rule}`"))
        return "\n".join(lines)

    def summary(self, report: LintReport) -> str:
        totals = report.counts()
        files = len(report.files)
        checked = f"{files} flow file{'s' if files != 1 else ''} checked"
        if not any(totals.values()):
            return f"{checked}: no problems."
        parts = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in totals.items() if n]
        return f"{checked}: " + ", ".join(parts) + "."


class JsonReporter(Reporter):
    """For programs: `{"diagnostics": [...], "summary": {...}}`."""

    name = "json"

    def render(self, report: LintReport) -> str:
        diagnostics = [
            {
                "file": d.file,
                "line": d.span.line,
                "column": d.span.column,
                "end_line": d.span.end_line,
                "end_column": d.span.end_column,
                "severity": d.level,
                "rule": d.rule,
                "message": d.message,
                "hint": d.hint,
                "help_uri": RULES[d.rule].help_uri,
            }
            for d in report.diagnostics
        ]
        totals = report.counts()
        summary = {
            "files": len(report.files),
            "errors": totals["error"],
            "warnings": totals["warning"],
            "infos": totals["info"],
        }
        return json.dumps({"diagnostics": diagnostics, "summary": summary}, indent=2, ensure_ascii=False) + "\n"


class GithubReporter(Reporter):
    """GitHub Actions workflow commands: each problem becomes an annotation on the pull request."""

    name = "github"
    _LEVELS: ClassVar[dict[str, str]] = {"error": "error", "warning": "warning", "info": "notice"}

    def render(self, report: LintReport) -> str:
        lines = []
        for d in report.diagnostics:
            one_line = d.span.end_line == d.span.line  # GitHub takes columns on one line only
            text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
            lines.append(
                annotation(
                    self._LEVELS[d.level],
                    text,
                    file=d.file,
                    line=d.span.line,
                    col=d.span.column,
                    endLine=d.span.end_line if one_line else None,
                    endColumn=d.span.end_column if one_line else None,
                    title=f"ivrflow {d.rule}",
                )
            )
        lines.append(TextReporter().summary(report))
        return "\n".join(lines) + "\n"


class SarifReporter(Reporter):
    """SARIF 2.1.0, as GitHub code scanning accepts it."""

    name = "sarif"
    _LEVELS: ClassVar[dict[str, str]] = {"error": "error", "warning": "warning", "info": "note"}

    def render(self, report: LintReport) -> str:
        rules = list(RULES.values())
        index = {rule.id: i for i, rule in enumerate(rules)}
        results: list[dict[str, Any]] = []
        for d in report.diagnostics:
            region = {
                "startLine": d.span.line,
                "startColumn": d.span.column,
                "endLine": d.span.end_line,
                "endColumn": d.span.end_column,
            }
            results.append(
                {
                    "ruleId": d.rule,
                    "ruleIndex": index[d.rule],
                    "level": self._LEVELS[d.level],
                    "message": {"text": d.message + (f" Hint: {d.hint}" if d.hint else "")},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": d.file}, "region": region}}],
                }
            )
        driver = {
            "name": "ivrflow",
            "version": __version__,
            "informationUri": DOCS_URL + "flows.md",
            "rules": [
                {
                    "id": rule.id,
                    "name": "".join(part.capitalize() for part in rule.id.split("-")),
                    "shortDescription": {"text": rule.title},
                    "fullDescription": {"text": rule.catches},
                    "help": {
                        "text": f"{rule.why} {rule.fix}",
                        "markdown": f"{rule.why}\n\n**How to fix it.** {rule.fix}",
                    },
                    "helpUri": rule.help_uri,
                    "defaultConfiguration": {"level": self._LEVELS[rule.severity]},
                }
                for rule in rules
            ],
        }
        sarif = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}],
        }
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, type[Reporter]] = {
    cls.name: cls for cls in (TextReporter, JsonReporter, GithubReporter, SarifReporter)
}
