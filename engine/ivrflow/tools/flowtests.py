"""`ivrflow test`: a flow's journeys file is what the flow does now, its hand-written cases in
FLOW.tests.yaml pass, a v1-compilable flow sounds the same live and on v1, and (asked for) what
no journey or case reaches.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError

from ivrflow.calls.transcripts import Step, shown_language
from ivrflow.errors import KeyScriptError, UsageError
from ivrflow.language.clock import default_zone, parse_at
from ivrflow.language.diagnostics import Diagnostic, no_such_language, suggestion
from ivrflow.language.lint import flow_files
from ivrflow.language.loader import check_bytes, display_path
from ivrflow.language.model import Flow
from ivrflow.language.schema import kind_of
from ivrflow.language.schema_files import validator
from ivrflow.language.v1plan import plan_v1
from ivrflow.language.yamlstrict import Document, parse
from ivrflow.tools.annotations import annotation
from ivrflow.tools.answers import answerer
from ivrflow.tools.journeys import FIXED_TIME, Walked, journeys_path, render, tests_path, trace, walk_all
from ivrflow.tools.simulate import keys_text, parse_keys, v1, v1_fields
from ivrflow.v1.playback import play

MAX_DIFF_LINES = 60


@dataclass(frozen=True, slots=True)
class Failure:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


@dataclass
class FlowResult:
    """What `ivrflow test` found for one flow file."""

    path: str
    flow: str = ""
    journeys: int = 0
    cases: int = 0
    failures: list[Failure] = field(default_factory=list)
    uncovered_nodes: list[str] = field(default_factory=list)
    uncovered_choices: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "flow": self.flow or None,
            "journeys": self.journeys,
            "cases": self.cases,
            "failures": [
                {"file": f.file, "line": f.line, "column": f.column, "message": f.message} for f in self.failures
            ],
            "uncovered": {
                "nodes": self.uncovered_nodes,
                "choices": [{"menu": menu, "key": key} for menu, key in self.uncovered_choices],
            },
        }


def run(paths: Iterable[Path]) -> list[FlowResult]:
    return [check_flow(path) for path in flow_files(paths)]


def check_flow(path: Path) -> FlowResult:
    return check_content(path, path.read_bytes())


def check_content(path: Path, data: bytes) -> FlowResult:
    """`check_flow` for the flow file at `path` as if it held `data` (the studio tests what is typed)."""
    shown = display_path(path)
    result = FlowResult(shown)
    checked = check_bytes(data, shown)
    errors = [d for d in checked.diagnostics if d.level == "error"]
    if checked.flow is None or errors:
        result.failures += [
            Failure(shown, d.span.line, d.span.column, f"{d.message} (run `ivrflow lint {shown}`)") for d in errors
        ]
        return result
    flow = checked.flow
    result.flow = flow.id
    walked = walk_all(flow)
    result.journeys = len(walked.journeys)
    result.failures += _journeys_file(path, flow, walked)
    result.failures += live_matches_v1(flow, walked)
    cases = tests_path(path)
    if cases.exists():
        result.cases, failures = _cases(cases, flow, walked)
        result.failures += failures
    result.uncovered_nodes, result.uncovered_choices = walked.uncovered(flow)
    return result


def _journeys_file(path: Path, flow: Flow, walked: Walked) -> list[Failure]:
    kept = journeys_path(path)
    shown = display_path(kept)
    if not kept.exists():
        return [
            Failure(
                shown,
                1,
                1,
                f"there is no journeys file for {flow.id}: run `ivrflow journeys {display_path(path)}`, review it and commit it",
            )
        ]
    now = render(flow, walked)
    before = kept.read_text(encoding="utf-8", errors="replace")
    if before == now:
        return []
    diff = list(
        difflib.unified_diff(
            before.splitlines(),
            now.splitlines(),
            f"{shown} (kept)",
            f"{shown} (what the flow does now)",
            lineterm="",
            n=2,
        )
    )
    first = next((int(line.split()[1].split(",")[0].lstrip("-")) for line in diff if line.startswith("@@")), 1)
    shown_diff = "\n".join(diff[:MAX_DIFF_LINES]) + (
        f"\n... {len(diff) - MAX_DIFF_LINES} more lines" if len(diff) > MAX_DIFF_LINES else ""
    )
    message = f"callers now hear something else than the journeys file says; if that is intended, run `ivrflow journeys {display_path(path)}` and commit the file:\n{shown_diff}"
    return [Failure(shown, max(first, 1), 1, message)]


def live_matches_v1(flow: Flow, walked: Walked) -> list[Failure]:
    """For a flow that compiles to v1: the first journey the two would play differently, each
    against the v1 call of the language it starts in (a v1 call has one voice)."""
    plan, _ = plan_v1(flow)
    if plan is None:
        return []
    # once per time (its branches decided) and language
    compiled: dict[tuple[float | None, str], dict[str, str] | list[Diagnostic]] = {}
    for journey in walked.journeys:
        spoken = flow.speaking(journey.language)
        if (journey.at, journey.language) not in compiled:
            compiled[journey.at, journey.language] = v1_fields(spoken, at=journey.at)
        fields = compiled[journey.at, journey.language]
        if isinstance(fields, list):
            reason = fields[0].message if fields else "another error"
            return [
                Failure(
                    flow.path,
                    flow.id_span.line,
                    flow.id_span.column,
                    f"the flow fits v1 but does not compile for a sample call: {reason}",
                )
            ]
        heard_v1 = list(play(fields, journey.keys, shown_language(spoken, spoken.language)))
        if heard_v1 != list(journey.steps):
            at = next(
                (i for i, (a, b) in enumerate(zip(journey.steps, heard_v1, strict=False)) if a != b),
                min(len(journey.steps), len(heard_v1)),
            )
            live_step = journey.steps[at] if at < len(journey.steps) else "the end of the call"
            v1_step = heard_v1[at] if at < len(heard_v1) else "the end of the call"
            starting = f" in {journey.language}" if journey.language else ""
            message = f"live and v1 differ{starting} for keys {keys_text(journey.keys)!r} at step {at + 1}: live {live_step}, v1 {v1_step}"
            return [Failure(flow.path, flow.id_span.line, flow.id_span.column, message)]
    return []


def _cases(path: Path, flow: Flow, walked: Walked) -> tuple[int, list[Failure]]:
    shown = display_path(path)
    document = parse(path.read_text(encoding="utf-8", errors="replace"))
    if document.diagnostics:
        return 0, [Failure(shown, d.span.line, d.span.column, d.message) for d in document.diagnostics]
    wrong = sorted(
        (
            failure
            for error in validator("flow-tests").iter_errors(document.data)
            for failure in _in_words(error, document, shown)
        ),
        key=lambda f: (f.line, f.column),
    )
    if wrong:
        return 0, wrong
    failures = []
    cases: list[dict[str, Any]] = document.data["tests"]
    for index, case in enumerate(cases):
        span = document.source.value(("tests", index))
        if case.get("language", flow.language) not in flow.languages:  # at the language itself
            where = document.source.value(("tests", index, "language"))
            message = (
                f"test {case['name']!r}: `language`: {no_such_language(flow.id, case['language'], flow.languages)}"
            )
            failures.append(Failure(shown, where.line, where.column, message))
            continue
        for message in _check(flow, case, walked, path.parent):
            failures.append(Failure(shown, span.line, span.column, f"test {case['name']!r}: {message}"))
    return len(cases), failures


_WANTED = {"string": "text", "object": "a group of `key: value` lines", "array": "a list"}
_SAID = {
    "keys": "keys are digits 0-9, * and #, and _ for letting a question time out; where the call is put through, a, n or c says how the transfer goes"
}


def _in_words(error: ValidationError, document: Document, file: str) -> Iterator[Failure]:
    """A mistake in a tests file, in the words of docs/testing.md, at its 1-based line and column."""
    path = tuple(error.absolute_path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    case = ""
    if len(path) >= 2 and path[0] == "tests" and isinstance(path[1], int):
        named = (
            document.data["tests"][path[1]].get("name") if isinstance(document.data["tests"][path[1]], dict) else None
        )
        case = f"test {path[1] + 1}" + (f" ({named!r})" if isinstance(named, str) else "") + ": "
    key = f"`{path[2]}`" if len(path) > 2 else ("`tests`" if path else "the file")
    typed = document.source.typed.get(path)
    shown = f"`{typed}`" if typed is not None else kind_of(instance)

    def at(where: tuple[str | int, ...], message: str, *, on_key: bool = False) -> Failure:
        span = document.source.key(where) if on_key else document.source.value(where)
        return Failure(file, span.line, span.column, case + message + " (see docs/testing.md)")

    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        owner = "a test case" if len(path) == 2 else "a tests file"
        for extra in (k for k in instance if k not in allowed):
            hint = suggestion(extra, allowed)
            yield at(
                (*path, extra),
                f"`{extra}` is not a key of {owner}. {hint[:1].upper() + hint[1:]}The keys of {owner} are: {', '.join(allowed)}",
                on_key=True,
            )
    elif error.validator == "required":
        for missing in (k for k in schema["required"] if k not in instance):
            yield at(
                path,
                f"has no `{missing}`: {schema['properties'][missing]['description']}"
                if case
                else f"the file has no `{missing}:` list of cases",
                on_key=True,
            )
    elif error.validator == "type":
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        yield at(
            path,
            f"{key} must be {' or '.join(_WANTED.get(str(kind), str(kind)) for kind in wanted)}, but it is {shown}",
        )
    elif error.validator == "enum":
        yield at(path, f"{key} is {shown}, but it is one of: {', '.join(map(str, schema['enum']))}")
    elif error.validator == "pattern":
        yield at(path, f"{key} is {shown}, but {_SAID.get(str(path[-1]), schema.get('description', ''))}")
    elif error.validator in ("minItems", "minLength"):
        yield at(path, f"{key} is empty")
    else:
        yield at(
            path,
            f"{key} is not written as a tests file needs it here: {schema.get('description', 'each step of `heard` is one of say, press, no_input, dial, hangup')}",
        )


def _check(flow: Flow, case: dict[str, Any], walked: Walked, base: Path) -> list[str]:
    """What is wrong with the call this case makes (empty: it passes). Answer files of `http`
    are relative to `base`, the tests file's folder."""
    keys = parse_keys(case["keys"])
    variables = dict(case.get("vars", {}))
    at = FIXED_TIME
    if "at" in case:
        try:
            at = parse_at(str(case["at"]), default_zone(flow.schedules.values()))
        except ValueError as problem:
            return [f"`at`: {problem}"]
    elif walked.moments:
        return [
            'this flow tests schedules, so what a caller hears depends on the time: give the case `at: "2026-12-24 15:00"` (in the schedules\' time zone)'
        ]
    language = str(case.get("language", ""))
    if case.get("mode") == "v1":
        played = v1(flow, keys, variables, at, language)
        if isinstance(played, list):
            return [f"the flow does not compile to v1{': ' + played[0].message if played else ''}"]
        heard: list[Step] = list(played)
        ended = ""
    else:
        try:
            answer = answerer(flow, {str(k): str(v) for k, v in case.get("http", {}).items()}, base)
        except UsageError as problem:
            return [str(problem).replace("--http ", "http: ")]
        try:
            journey = trace(flow, keys, variables, walked, answer, at, language)
        except KeyScriptError as problem:
            return [str(problem)]
        heard, ended = list(journey.steps), journey.ends_at
    problems = []
    said = [str(step["say"]) for step in heard if "say" in step]
    everything, at = "\n".join(said), 0
    for words in case.get("says", []):
        found = everything.find(words, at)
        if found < 0:
            problems.append(
                f"expected to hear {words!r}"
                + (" after what came before it" if words in everything else "")
                + f"; heard: {json.dumps(said, ensure_ascii=False)}"
            )
            break
        at = found + len(words)
    for words in case.get("never_says", []):
        if any(words in text for text in said):
            problems.append(f"expected never to hear {words!r}, but it was said")
    if "dials" in case and {"dial": case["dials"]} not in heard:
        dialled = [step["dial"] for step in heard if "dial" in step]
        problems.append(
            f"expected the call to be put through to {case['dials']}, but it was {'put through to ' + ', '.join(map(str, dialled)) if dialled else 'not put through'}"
        )
    if "ends_at" in case and ended != case["ends_at"]:
        problems.append(
            f"expected the call to end at `{case['ends_at']}`, but it ended at `{ended}`"
            if case.get("mode") != "v1"
            else "ends_at is for live cases"
        )
    if "heard" in case and case["heard"] != heard:
        problems.append(
            f"heard differs: expected {json.dumps(case['heard'], ensure_ascii=False)}, heard {json.dumps(heard, ensure_ascii=False)}"
        )
    return problems


def coverage_line(result: FlowResult) -> str:
    if not result.uncovered_nodes and not result.uncovered_choices:
        return "every node and menu choice is reached"
    parts = [f"node `{name}`" for name in result.uncovered_nodes] + [
        f"choice `{key}` of menu `{menu}`" for menu, key in result.uncovered_choices
    ]
    return "not reached by any journey or test: " + ", ".join(parts)


def render_text(results: list[FlowResult], *, coverage: bool) -> str:
    lines = []
    for result in results:
        for failure in result.failures:
            lines.append(str(failure))
        verdict = "FAILED" if result.failures else "ok"
        lines.append(
            f"{result.path}: {verdict} ({result.journeys} journeys, {result.cases} test{'s' if result.cases != 1 else ''})"
        )
        if coverage and result.flow:
            lines.append(f"  coverage: {coverage_line(result)}")
    failed = sum(1 for r in results if r.failures)
    lines.append(f"{len(results)} flow{'s' if len(results) != 1 else ''} tested, {failed} failed")
    return "\n".join(lines) + "\n"


def render_github(results: list[FlowResult], *, coverage: bool) -> str:
    lines = [
        annotation("error", f.message, file=f.file, line=f.line, col=f.column, title="ivrflow test")
        for r in results
        for f in r.failures
    ]
    if coverage:
        lines += [
            annotation("warning", coverage_line(r), file=r.path, title="ivrflow coverage")
            for r in results
            if r.flow and (r.uncovered_nodes or r.uncovered_choices)
        ]
    return "".join(line + "\n" for line in lines) + render_text(results, coverage=coverage)


def render_json(results: list[FlowResult], *, coverage: bool) -> str:
    return (
        json.dumps(
            {"flows": [r.to_json() for r in results], "failed": sum(1 for r in results if r.failures)},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


RENDERERS = {"text": render_text, "github": render_github, "json": render_json}
