"""Property tests: generated valid flows lint clean; each mutation of one gives an error at the
line that was changed, and nothing ever raises."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ivrflow.language.loader import check_bytes

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü ", min_size=1, max_size=30).map(str.strip).filter(bool)


@dataclass
class Generated:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    uses_var: bool = False

    def add(self, name: str, node: dict[str, Any]) -> str:
        self.nodes[name] = node
        self.order.append(name)
        return name


def _node(draw: st.DrawFn, flow: Generated, depth: int, menus: list[str]) -> str:
    """Draw one node and everything below it; return its name. Every node is reachable."""
    name = f"n{len(flow.order)}-{draw(st.sampled_from(['a', 'menu', 'x_1']))}"
    kinds = (
        ["hangup", "dial", "tts_message"]
        if depth >= 3
        else ["hangup", "dial", "tts_message", "prompt", "select_digits"]
    )
    kind = draw(st.sampled_from(kinds))
    node: dict[str, Any] = {"type": kind}
    flow.add(name, node)
    if kind == "hangup":
        if draw(st.booleans()):
            node["message"] = draw(WORDS)
    elif kind == "dial":
        node["to"] = "1" + draw(st.text(alphabet="0123456789", min_size=9, max_size=13))
    elif kind == "tts_message":
        text = draw(WORDS)
        if not flow.uses_var and draw(st.booleans()):
            text += " {{ who }}"
            flow.uses_var = True
        node["message"] = text
        ending = draw(st.sampled_from(["end", "child", "back"] if menus else ["end", "child"]))
        if ending == "child":
            node["next"] = _node(draw, flow, depth + 1, menus)
        elif ending == "back":  # back to a menu: a loop the caller can leave
            node["next"] = draw(st.sampled_from(menus))
    elif kind == "prompt":
        digit = str(draw(st.integers(0, 9)))
        node["message"] = f"Press {digit} to continue."
        node["digit"] = digit
        node["next"] = _node(draw, flow, depth + 1, menus)
    else:
        digits = draw(st.lists(st.integers(0, 9).map(str), min_size=1, max_size=3, unique=True))
        node["message"] = " ".join(f"Press {d} for {draw(WORDS)}." for d in digits)
        node["choices"] = {}
        for digit in digits:
            if draw(st.integers(0, 4)) == 0:
                node["choices"][digit] = flow.add(f"n{len(flow.order)}-again", {"type": "repeat"})
            else:
                node["choices"][digit] = _node(draw, flow, depth + 1, [*menus, name])
        if draw(st.booleans()):
            node["attempts"] = draw(st.integers(1, 5))
    return name


@dataclass
class Written:
    text: str
    lines: dict[tuple[str, ...], int]  # (node,) / (node, key) / (node, "choices", digit) → line


def _scalar(draw: st.DrawFn, value: Any) -> str:
    if isinstance(value, str) and value.isdigit() and len(value) == 1 and draw(st.booleans()):
        return value  # digits may be written without quotes
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _write(draw: st.DrawFn, flow: Generated) -> Written:
    lines = ["# yaml-language-server: $schema=../schemas/flow.schema.json", "flow: generated"]
    if flow.uses_var:
        lines += ["vars:", '  who: "friend"']
    lines.append("nodes:")
    where: dict[tuple[str, ...], int] = {}
    for name in flow.order:
        lines.append(f"  {name}:")
        where[(name,)] = len(lines)
        for key, value in flow.nodes[name].items():
            if key == "choices":
                lines.append("    choices:")
                where[(name, key)] = len(lines)
                for digit, target in value.items():
                    lines.append(f"      {_scalar(draw, digit)}: {target}")
                    where[(name, key, digit)] = len(lines)
            else:
                lines.append(f"    {key}: {_scalar(draw, value)}")
                where[(name, key)] = len(lines)
    return Written("\n".join(lines) + "\n", where)


@st.composite
def flows(draw: st.DrawFn) -> tuple[Generated, Written]:
    flow = Generated()
    _node(draw, flow, 0, [])
    return flow, _write(draw, flow)


@given(flows())
def test_generated_valid_flows_lint_clean(generated: tuple[Generated, Written]) -> None:
    flow, written = generated
    checked = check_bytes(written.text.encode(), "generated.yaml")
    assert [f"{d.span.line}: {d.rule} {d.message}" for d in checked.diagnostics] == [], written.text
    assert checked.flow is not None and list(checked.flow.nodes) == flow.order


def _errors_at(text: str, rule: str) -> set[int]:
    checked = check_bytes(text.encode(), "mutated.yaml")
    return {d.span.line for d in checked.diagnostics if d.rule == rule and d.level == "error"}


@given(flows(), st.data())
def test_renamed_target_is_an_error_at_its_line(generated: tuple[Generated, Written], data: st.DataObject) -> None:
    flow, written = generated
    links = [key for key in written.lines if (len(key) == 2 and key[1] == "next") or len(key) == 3]
    if not links:
        return
    key = data.draw(st.sampled_from(links))
    line = written.lines[key]
    lines = written.text.splitlines()
    prefix, _, target = lines[line - 1].rpartition(": ")
    renamed = f'{target[:-1]}-renamed"' if target.endswith('"') else f"{target}-renamed"
    lines[line - 1] = f"{prefix}: {renamed}"
    assert line in _errors_at("\n".join(lines) + "\n", "unknown-target")


REQUIRED = {
    "prompt": ["type", "message", "digit", "next"],
    "select_digits": ["type", "message", "choices"],
    "tts_message": ["type", "message"],
    "dial": ["type", "to"],
    "hangup": ["type"],
    "repeat": ["type"],
}


@given(flows(), st.data())
def test_dropped_required_key_is_an_error_at_its_node(
    generated: tuple[Generated, Written], data: st.DataObject
) -> None:
    flow, written = generated
    name = data.draw(st.sampled_from(flow.order))
    key = data.draw(st.sampled_from(REQUIRED[flow.nodes[name]["type"]]))
    first = written.lines[(name, key)]
    last = max((line for k, line in written.lines.items() if k[:2] == (name, key)), default=first)
    lines = written.text.splitlines()
    del lines[first - 1 : last]
    assert written.lines[(name,)] in _errors_at("\n".join(lines) + "\n", "missing-key")


@given(flows(), st.data())
def test_duplicated_key_is_an_error_at_the_second_line(
    generated: tuple[Generated, Written], data: st.DataObject
) -> None:
    flow, written = generated
    scalar_keys = [key for key in written.lines if len(key) == 2 and key[1] != "choices"] + [
        key for key in written.lines if len(key) == 3
    ]
    key = data.draw(st.sampled_from(scalar_keys))
    line = written.lines[key]
    lines = written.text.splitlines()
    lines.insert(line, lines[line - 1])
    assert line + 1 in _errors_at("\n".join(lines) + "\n", "duplicate-key")


@given(st.text(max_size=300))
def test_any_text_gives_diagnostics_never_an_exception(text: str) -> None:
    checked = check_bytes(text.encode("utf-8", "surrogatepass"), "random.yaml")
    assert checked.flow is not None or not checked.ok
