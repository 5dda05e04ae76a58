"""What the studio shows for one flow's text, as JSON for the page: all of it from the engine's parts.

The page sends what the author typed; these functions answer with the loader's diagnostics, the
diagram `ivrflow graph` draws, the v1 fields or the reasons there are none, the journeys file
`ivrflow journeys` writes and what `ivrflow test` finds. Nothing here knows a node type, so a new
one shows as soon as the loader, the graph and the interpreter know it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivrflow.language.catalog import RULES
from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.loader import Checked, check_bytes, content_version
from ivrflow.language.model import BUILTIN_VARS, Flow
from ivrflow.telesign.facts import LANGUAGES
from ivrflow.tools.calltime import call_time
from ivrflow.tools.flowtests import check_content
from ivrflow.tools.graph import mermaid
from ivrflow.tools.journeys import call_variables, render, walk_all
from ivrflow.tools.simulate import v1_fields

JSON = dict[str, Any]


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


def check(text: str, file: str) -> JSON:
    """Diagnostics, diagram, v1 fit and the phone's options for the text of the flow file `file`."""
    data = text.encode("utf-8")
    checked = check_bytes(data, file)
    flow = checked.flow
    return {
        "file": file,
        "version": content_version(data),
        "ok": checked.ok,
        "diagnostics": [diagnostic(d) for d in checked.diagnostics],
        "suppressed": len(checked.suppressed),
        "diagram": mermaid(flow) if flow is not None else None,
        "v1": v1_fit(checked),
        "phone": phone_options(flow) if flow is not None and checked.ok else None,
    }


def v1_fit(checked: Checked) -> JSON:
    """Whether the flow fits one Telesign v1 request: its fields (sensitive values masked), or the reasons."""
    flow = checked.flow
    if flow is None or not checked.ok:
        return {"fits": None, "why": "fix the errors first: only a flow without errors can be compiled", "reasons": []}
    fields = v1_fields(flow, call_variables(flow), call_time(flow))  # a branch on the clock: decided now
    if isinstance(fields, list):
        return {
            "fits": False,
            "why": "this flow needs the live engine (ivrflow serve)" if fields else "not in v1's shape",
            "reasons": [diagnostic(d) for d in fields],
        }
    return {"fits": True, "why": "one v1 request can play this flow", "fields": fields, "reasons": []}


def phone_options(flow: Flow) -> JSON:
    """What the phone lets the author choose before a call: the flow's variables (with their
    defaults; sensitive ones marked), the number called and the caller's, and the language it
    speaks (as `ivrflow simulate --language`). A call has no time of its own yet: when the
    language gains schedules, the time to choose is added here."""
    variables = call_variables(flow)
    return {
        "variables": [
            {"name": name, "value": variables.get(name, ""), "sensitive": name in flow.sensitive, "builtin": False}
            for name in flow.vars
        ]
        + [
            {"name": name, "value": variables.get(name, ""), "sensitive": False, "builtin": True}
            for name in BUILTIN_VARS
        ],
        "languages": sorted({flow.language, *LANGUAGES}),
        "language": flow.language,
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
