"""How a flow's calls went, from the counts its store keeps (ivrflow/calls/tally.py,
ivrflow/stores/counting.py): GET /flows/{flow}/outcomes and `ivrflow outcomes`. Pure: reading the
counts is one small query whatever the number of calls, and this only arranges them.

Given the flow as it is now, its menus, collect_digits nodes and v1 choices are listed even
before anyone has used them; what was counted at nodes the flow no longer has is listed after."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ivrflow.calls.tally import counted_values
from ivrflow.language.model import Collect, Flow, Menu, Prompt
from ivrflow.language.v1plan import plan_v1

# Statuses of calls someone picked up (v1 counts voicemail as picked up: Telesign cannot tell).
ANSWERED = ("completed", "caller_hung_up", "transferred", "transfer_failed")


def _under(counts: Mapping[str, int], prefix: str) -> Iterator[tuple[str, int]]:
    """(the rest of the name, count) of each count whose name starts with `prefix`."""
    for name, count in counts.items():
        if name.startswith(prefix):
            yield name[len(prefix) :], count


def _nodes(counts: Mapping[str, int], kind: str, flow: Flow | None, types: tuple[type, ...]) -> list[str]:
    """The flow's nodes of these types in written order, then nodes counted that it does not have."""
    named = [name for name, node in flow.nodes.items() if isinstance(node, types)] if flow else []
    counted = sorted({rest.split(":", 1)[0] for rest, _ in _under(counts, kind + ":")} - set(named))
    return named + counted


def _menus(counts: Mapping[str, int], flow: Flow | None) -> list[dict[str, Any]]:
    found = []
    for name in _nodes(counts, "menu", flow, (Menu, Prompt)):
        node = flow.nodes.get(name) if flow else None
        leads = (
            dict(node.choices)
            if isinstance(node, Menu)
            else {node.digit: node.next}
            if isinstance(node, Prompt)
            else {}
        )
        pressed = dict(_under(counts, f"menu:{name}:key:"))
        keys = [*leads, *sorted(key for key in pressed if key not in leads)]
        found.append(
            {
                "node": name,
                "type": node.type if node else None,
                "keys": [{"key": key, "node": leads.get(key), "times": pressed.get(key, 0)} for key in keys],
                "no_input": counts.get(f"menu:{name}:no_input", 0),
                "used_up": counts.get(f"menu:{name}:used_up", 0),
            }
        )
    return found


def _answers(counts: Mapping[str, int], flow: Flow | None) -> list[dict[str, Any]]:
    found = []
    for name in _nodes(counts, "entry", flow, (Collect,)):
        node = flow.nodes.get(name) if flow else None
        values = counted_values(flow, node) if flow and isinstance(node, Collect) else None
        given = dict(_under(counts, f"entry:{name}:value:"))
        row: dict[str, Any] = {
            "node": name,
            "save_as": node.save_as if isinstance(node, Collect) else None,
            "sensitive": bool(flow and isinstance(node, Collect) and node.save_as in flow.sensitive),
        }
        for what in ("entered", "no_input", "invalid", "used_up"):
            row[what] = counts.get(f"entry:{name}:{what}", 0)
        # By value only for a node counted so (few answers, not sensitive): never a sensitive one.
        shown = [*(values or ()), *sorted(value for value in given if values and value not in values)]
        row["values"] = [{"value": value, "times": given.get(value, 0)} for value in shown] if values else None
        found.append(row)
    return found


def outcomes(flow_id: str, counts: Mapping[str, int], flow: Flow | None = None) -> dict[str, object]:
    """How a flow's calls went, live and v1 alike: by status, how many were answered; per menu (and
    prompt) how often each key was pressed, no key came, or the attempts ran out; per collect_digits
    node how many entries came, were missing or not valid, and for a survey-like node (few answers,
    not sensitive) how often each answer was given; how many calls ended at each node, each way;
    and, for v1 calls, how many chose each key and how many were answered but chose nothing."""
    statuses = {status: count for status, count in _under(counts, "status:") if count > 0}
    plan = plan_v1(flow)[0] if flow else None
    v1_choices = {(key, plan.menu.choices[key]): 0 for key in plan.choices} if plan and plan.menu else {}
    for rest, count in _under(counts, "v1_choice:"):
        key, _, node = rest.partition(":")
        v1_choices[(key, node)] = count
    calls, v1_calls = counts.get("calls", 0), counts.get("v1_calls", 0)
    ended = sorted(
        ((-count, *rest.rpartition(":")[::2]) for rest, count in _under(counts, "end:") if count), key=lambda row: row
    )
    endings = [{"node": node, "outcome": outcome, "calls": -count} for count, node, outcome in ended]
    return {
        "flow": flow_id,
        "calls": calls,
        "v1_calls": v1_calls,
        "live_calls": calls - v1_calls,
        "answered": sum(statuses.get(status, 0) for status in ANSWERED),
        "choices": [{"key": key, "node": node, "calls": count} for (key, node), count in sorted(v1_choices.items())],
        "no_choice": counts.get("v1_no_choice", 0),
        "statuses": dict(sorted(statuses.items(), key=lambda item: (-item[1], item[0]))),
        "menus": _menus(counts, flow),
        "answers": _answers(counts, flow),
        "endings": endings,
    }


def outcomes_text(summary: Mapping[str, Any]) -> str:
    """`ivrflow outcomes` for people: the summary as a few indented lines."""
    lines = [
        f"{summary['flow']}: {_count(summary['calls'], 'call')} ({summary['v1_calls']} v1, {summary['live_calls']} live)"
    ]
    lines.append(f"  {summary['answered']} answered")
    for row in summary["choices"]:
        lines.append(f"    {row['calls']} pressed {row['key']} → {row['node']}")
    if summary["v1_calls"]:
        lines.append(f"    {summary['no_choice']} answered a v1 call and chose nothing")
    for menu in summary["menus"]:
        lines.append(f"  {menu['type'] or 'node'} {menu['node']}:")
        for key in menu["keys"]:
            lines.append(
                f"    {key['times']} pressed {key['key']} " + (f"→ {key['node']}" if key["node"] else "(not a choice)")
            )
        lines.append(f"    {menu['no_input']} no key; {menu['used_up']} used up their attempts")
    for node in summary["answers"]:
        lines.append(
            f"  collect_digits {node['node']} ({node['save_as'] or '?'}{', sensitive' if node['sensitive'] else ''}):"
        )
        for value in node["values"] or ():
            lines.append(f"    {value['times']} answered {value['value']}")
        lines.append(
            f"    {node['entered']} entered; {node['no_input']} no key; {node['invalid']} not valid; {node['used_up']} used up their attempts"
        )
    if summary["endings"]:
        lines.append(
            "  endings: "
            + ", ".join(f"{row['calls']} at {row['node'] or '?'} ({row['outcome']})" for row in summary["endings"])
        )
    statuses = summary["statuses"]
    lines.append(
        "  by status: " + (", ".join(f"{count} {status}" for status, count in statuses.items()) or "no calls yet")
    )
    return "\n".join(lines) + "\n"


def _count(number: object, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
