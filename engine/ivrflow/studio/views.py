"""What the studio shows for one flow's text, as JSON for the page: all of it from the engine's parts.

The page sends what the author typed; these functions answer with the loader's diagnostics, the
diagram `ivrflow graph` draws, the v1 fields or the reasons there are none, the journeys file
`ivrflow journeys` writes and what `ivrflow test` finds. Nothing here knows a node type but
`http` (the phone offers what its web service answers), so a new one shows as soon as the loader,
the graph and the interpreter know it; one that makes the interpreter wait for something other
than the caller needs the phone (phone.py) to answer it, as lookups are answered.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ivrflow.language.catalog import RULES
from ivrflow.language.clock import default_zone, status
from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.http_node import Http
from ivrflow.language.loader import Checked, check_bytes, content_version
from ivrflow.language.model import BUILTIN_VARS, Flow
from ivrflow.language.schedules import known_zone, zone
from ivrflow.telesign.facts import LANGUAGES
from ivrflow.tools.answers import NO_ANSWER
from ivrflow.tools.calltime import call_time as time_of_call
from ivrflow.tools.flowtests import check_content
from ivrflow.tools.graph import mermaid
from ivrflow.tools.journeys import call_variables, render, walk_all
from ivrflow.tools.simulate import v1_fields

JSON = dict[str, Any]
# The time every command and server takes as now when it is set (a staging setup, a test suite).
# What the phone lets the author pick as a web service's answer, besides its example: a few
# statuses that are not 2xx (any status from 100 to 599 is taken), and no answer at all.
STATUSES_OFFERED = ("404", "500", "503")


def diagnostic(d: Diagnostic) -> JSON:
    rule = RULES[d.rule]
    return {
        "rule": d.rule,
        "title": rule.title,
        "severity": d.level,
        "line": d.span.line,
        "column": d.span.column,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column,
        "message": d.message,
        "hint": d.hint,
        "link": f"rules/{d.rule}",  # served by the studio itself, so it works offline
    }


def zones(flow: Flow) -> list[str]:
    """The time zones of the flow's schedules (UTC for a flow without any), the first the one a
    time without a zone is read in."""
    found = sorted({each.timezone for each in flow.schedules.values()}) or ["UTC"]
    usual = default_zone(flow.schedules.values())
    return [usual, *(each for each in found if each != usual)] if usual else found


def call_time(flow: Flow, text: str = "", in_zone: str = "") -> float:
    """The moment a call takes place, as `ivrflow simulate --at` reads it (in `in_zone` when the
    text names none), or IVRFLOW_AT, or now. ValueError says what to write."""
    if in_zone and not known_zone(in_zone):
        raise ValueError(f"`{in_zone}` is not a time zone")
    return time_of_call(flow, text, in_zone)


def chosen_time(flow: Flow | None, text: str, in_zone: str) -> tuple[float, str]:
    """`call_time`, or now and why not when the text is no time."""
    if flow is None:
        return time.time(), ""
    try:
        return call_time(flow, text, in_zone), ""
    except ValueError as problem:
        return time.time(), str(problem)


def check(text: str, file: str, at_text: str = "", in_zone: str = "") -> JSON:
    """Diagnostics, diagram, v1 fit and the phone's options for the text of the flow file `file`,
    the call taking place at `at_text` (in `in_zone`; default now)."""
    data = text.encode("utf-8")
    checked = check_bytes(data, file)
    flow = checked.flow
    at, problem = chosen_time(flow, at_text, in_zone)
    return {
        "file": file,
        "version": content_version(data),
        "ok": checked.ok,
        "diagnostics": [diagnostic(d) for d in checked.diagnostics],
        "suppressed": len(checked.suppressed),
        "diagram": mermaid(flow) if flow is not None else None,
        "v1": v1_fit(checked, at),
        "phone": phone_options(flow, at, in_zone, problem) if flow is not None and checked.ok else None,
    }


def v1_fit(checked: Checked, at: float) -> JSON:
    """Whether the flow fits one Telesign v1 request sent at `at` (its branches are decided then):
    its fields (sensitive values masked), or the reasons."""
    flow = checked.flow
    if flow is None or not checked.ok:
        return {"fits": None, "why": "fix the errors first: only a flow without errors can be compiled", "reasons": []}
    fields = v1_fields(flow, call_variables(flow), at)
    if isinstance(fields, list):
        return {
            "fits": False,
            "why": "this flow needs the live engine (ivrflow serve)" if fields else "not in v1's shape",
            "reasons": [diagnostic(d) for d in fields],
        }
    return {"fits": True, "why": "one v1 request can play this flow", "fields": fields, "reasons": []}


def phone_options(flow: Flow, at: float, in_zone: str = "", problem: str = "") -> JSON:
    """What the phone lets the author choose before a call: the flow's variables (with their
    defaults; sensitive ones marked), the number called and the caller's, the language it starts
    in (`several`: one of the flow's languages; else the voice its one language is heard in, as
    `ivrflow simulate --language`), for a flow with schedules the time of the call (`at`,
    shown in `in_zone` or the schedules' zone, with each schedule's state then and `problem`
    when the time typed is none), and what each http node's web service answers (as
    `ivrflow simulate --http`)."""
    variables = {**flow.vars, **call_variables(flow)}  # each field starts at the flow's default: the call's value
    return {
        "variables": [
            {"name": name, "value": variables.get(name, ""), "sensitive": name in flow.sensitive, "builtin": False}
            for name in flow.vars
        ]
        + [
            {"name": name, "value": variables.get(name, ""), "sensitive": False, "builtin": True}
            for name in BUILTIN_VARS
        ],
        # A flow with several languages: the call starts in one of them; else any voice of Telesign's.
        "languages": list(flow.languages) if len(flow.languages) > 1 else sorted({flow.language, *LANGUAGES}),
        "language": flow.language,
        "several": len(flow.languages) > 1,
        "time": time_options(flow, at, in_zone, problem) if flow.schedules else None,
        "lookups": [lookup_options(node) for node in flow.nodes.values() if isinstance(node, Http)],
    }


def time_options(flow: Flow, at: float, in_zone: str, problem: str) -> JSON:
    """The time of the call as a date-time input shows it (local time in `in_zone`), the zones to
    read it in, and each schedule's state at that moment."""
    shown = in_zone if in_zone and known_zone(in_zone) else zones(flow)[0]
    return {
        "value": datetime.fromtimestamp(at, zone(shown)).strftime("%Y-%m-%dT%H:%M"),
        "zone": shown,
        "zones": zones(flow),
        "schedules": [
            {"name": name, "open": now.open, "state": now.words}
            for name, now in ((name, status(each, at)) for name, each in flow.schedules.items())
        ],
        "problem": problem,
    }


def lookup_options(node: Http) -> JSON:
    """What the web service of an http node can answer on the phone: its example (the default),
    a status that is not 2xx, no answer in time, or no connection."""
    usual = f"its example, {node.example}" if node.example else "each saved value as [its name]"
    return {
        "node": node.name,
        "url": node.url,
        "answers": [{"value": "example", "label": f"200 with {usual}"}]
        + [{"value": each, "label": f"status {each}"} for each in STATUSES_OFFERED]
        + [
            {"value": each, "label": {"timeout": "no answer in time", "refused": "cannot connect"}[each]}
            for each in NO_ANSWER
        ],
    }


def journeys_and_tests(path: Path, file: str, text: str) -> JSON:
    """The journeys file this text gives, and `ivrflow test`'s findings for it, as if saved at `path`."""
    data = text.encode("utf-8")
    checked = check_bytes(data, file)
    if checked.flow is None or not checked.ok:
        return {
            "journeys": None,
            "tests": None,
            "why": "fix the errors first: journeys are walked on a flow without errors",
        }
    walked = walk_all(checked.flow)
    result = check_content(path, data)
    return {
        "journeys": render(checked.flow, walked),
        "count": len(walked.journeys),
        "tests": result.to_json(),
        "passed": not result.failures,
    }
