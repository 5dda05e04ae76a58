"""The one flow loader: every entry point (lint, compile, serve, tests) reads flows through here.

file bytes → strict YAML → JSON Schema → flow model → semantic rules → (Flow, diagnostics)

Because the server loads flows exactly as the linter checks them, a flow that passes lint
cannot fail to load in production, and one that fails lint is never served.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ivrflow.errors import FlowError
from ivrflow.language.building import build_flow
from ivrflow.language.diagnostics import Diagnostic, Span
from ivrflow.language.model import Flow
from ivrflow.language.rules import Checker
from ivrflow.language.schema import schema_diagnostics
from ivrflow.language.suppress import apply, read_disables
from ivrflow.language.v1plan import plan_v1
from ivrflow.language.yamlstrict import parse

Target = Literal["live", "v1"]


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking one flow file. `flow` is None when it could not be modelled."""

    path: str
    flow: Flow | None
    diagnostics: list[Diagnostic]
    suppressed: list[Diagnostic] = field(default_factory=list)  # silenced by disable comments

    @property
    def ok(self) -> bool:
        return not any(d.level == "error" for d in self.diagnostics)


def content_version(data: bytes) -> str:
    """A flow's version: the hash of its file's bytes. A call keeps the version it started with."""
    return hashlib.sha256(data).hexdigest()[:16]


def check_bytes(data: bytes, path: str, *, target: Target = "live", hosts: frozenset[str] | None = None) -> Checked:
    """Check one flow file's content; never raises for bad input. `hosts`: the hosts an http node
    may ask (None: not checked)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problem = Diagnostic(
            "yaml-syntax",
            Span(line, 1, line, 2),
            "this file is not UTF-8 text",
            "save the file as UTF-8 (most editors have it under 'Save with encoding')",
        )
        return Checked(path, None, [problem.in_file(path)])
    document = parse(text.removeprefix("\ufeff"))
    diagnostics = list(document.diagnostics)
    if document.data is None and not diagnostics:
        diagnostics.append(
            Diagnostic(
                "not-a-flow",
                Span(1, 1, 1, 2),
                "this file is empty",
                "a flow file starts with `flow: my-flow-id` and has a `nodes:` section",
            )
        )
    flow: Flow | None = None
    if not diagnostics or all(d.rule == "duplicate-key" for d in diagnostics):
        schema_problems = schema_diagnostics(document)
        diagnostics.extend(schema_problems)
        if not schema_problems:
            flow = build_flow(document.data, document.source, path=path, version=content_version(data))
            diagnostics.extend(Checker(flow, text.splitlines(), hosts).run())
            if target == "v1":
                diagnostics.extend(plan_v1(flow)[1])
    diagnostics, silenced = apply(read_disables(text.splitlines()), diagnostics)
    diagnostics = sorted((d.in_file(path) for d in diagnostics), key=Diagnostic.sort_key)
    return Checked(path, flow, diagnostics, sorted((d.in_file(path) for d in silenced), key=Diagnostic.sort_key))


def check_file(path: str | Path, *, target: Target = "live", hosts: frozenset[str] | None = None) -> Checked:
    path = Path(path)
    return check_bytes(path.read_bytes(), display_path(path), target=target, hosts=hosts)


def load_flow(path: str | Path) -> Flow:
    """Load a flow to run it: the Flow, or FlowError with every error found."""
    checked = check_file(path)
    if not checked.ok or checked.flow is None:
        raise FlowError(checked.path, [d for d in checked.diagnostics if d.level == "error"])
    return checked.flow


def display_path(path: Path) -> str:
    """A path as people and CI annotations want it: relative to here when inside, POSIX style."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
