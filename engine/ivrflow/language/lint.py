"""`ivrflow lint`: check flow files and folders, including the rules that span several files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ivrflow.language.diagnostics import Diagnostic, Severity, count
from ivrflow.language.loader import Checked, Target, check_file, display_path

FLOW_SUFFIXES = (".yaml", ".yml")
# Files that live beside flows but are not flows (journeys and hand-written flow tests).
NOT_FLOWS = (".journeys.yaml", ".journeys.yml", ".tests.yaml", ".tests.yml")


@dataclass(slots=True)
class LintReport:
    files: list[Checked] = field(default_factory=list)
    project: list[Diagnostic] = field(default_factory=list)  # rules across files

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = [d for checked in self.files for d in checked.diagnostics] + self.project
        return sorted(found, key=Diagnostic.sort_key)

    @property
    def suppressed(self) -> list[Diagnostic]:
        """What disable comments silenced, for the formats that list it (json, sarif)."""
        return sorted((d for checked in self.files for d in checked.suppressed), key=Diagnostic.sort_key)

    def counts(self) -> dict[Severity, int]:
        return count(self.diagnostics)

    def exit_code(self, *, strict: bool = False) -> int:
        totals = self.counts()
        return 1 if totals["error"] or (strict and totals["warning"]) else 0


def is_flow_file(path: Path) -> bool:
    return path.name.endswith(FLOW_SUFFIXES) and not path.name.endswith(NOT_FLOWS)


def flow_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named on the command line as they are; folders searched for flow files, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and is_flow_file(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def lint(paths: Iterable[Path], *, target: Target = "live", hosts: frozenset[str] | None = None) -> LintReport:
    """Check every flow under `paths`. Missing paths are the caller's to report (exit 2)."""
    report = LintReport()
    for path in flow_files(paths):
        report.files.append(check_file(path, target=target, hosts=hosts))
    report.project = list(across_files(report.files))
    return report


def across_files(files: list[Checked]) -> Iterator[Diagnostic]:
    """Flow ids and inbound numbers must each belong to one flow only."""
    first_id: dict[str, Checked] = {}
    first_number: dict[str, tuple[Checked, int]] = {}
    for checked in files:
        flow = checked.flow
        if flow is None:
            continue
        if flow.id in first_id:
            other = first_id[flow.id]
            message = f"the flow id `{flow.id}` is already used by {other.path}"
            yield Diagnostic(
                "duplicate-flow-id", flow.id_span, message, "give this flow its own id; the file name is a good choice"
            ).in_file(checked.path)
        else:
            first_id[flow.id] = checked
        for index, number in enumerate(flow.numbers):
            digits = number.lstrip("+")
            if digits in first_number:
                other_file, _ = first_number[digits]
                message = f"the number `{number}` already starts the flow in {other_file.path}"
                yield Diagnostic(
                    "duplicate-number",
                    flow.number_spans[index],
                    message,
                    "keep each inbound number in exactly one flow",
                ).in_file(checked.path)
            else:
                first_number[digits] = (checked, index)


def missing(paths: Iterable[Path]) -> list[str]:
    return [display_path(path) for path in paths if not path.exists()]
