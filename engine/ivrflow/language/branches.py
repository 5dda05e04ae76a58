"""The `branch` node: the call moves on by data or by the clock, saying nothing.

A branch has `cases`, each a `when` and a `go`, and an `otherwise`; the first case whose `when`
holds wins. A `when` is a fixed set of tests (no free-form expressions, so the linter can check
each one): `var` with one of `equals`, `in`, `between`, `empty`; `open` or `closed` with a
schedule's name; `language`. Several keys in one `when` must all hold. How a `when` is judged on a
call is in calls/branching.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ivrflow.language.diagnostics import Span
from ivrflow.language.nodes import Node
from ivrflow.language.nodes import as_text as _text
from ivrflow.language.yamlstrict import SourceMap

VAR_TESTS = ("equals", "in", "between", "empty")


@dataclass(frozen=True, slots=True)
class When:
    span: Span
    keys: tuple[str, ...]  # the keys as written, in order
    var: str | None = None
    equals: str | None = None
    within: tuple[str, ...] | None = None  # `in`
    between: tuple[float, float] | None = None
    empty: bool | None = None
    open: str | None = None
    closed: str | None = None
    language: str | None = None
    between_text: str = ""  # `between` as written, for messages

    def schedules(self) -> Iterator[str]:
        if self.open is not None:
            yield self.open
        if self.closed is not None:
            yield self.closed

    def words(self) -> str:
        """The test as a diagram's edge label: `tier = gold`, `office closed`."""
        parts: list[str] = []
        if self.var is not None:
            if self.equals is not None:
                parts.append(f"{self.var} = {self.equals}")
            if self.within is not None:
                parts.append(f"{self.var} in {', '.join(self.within)}")
            if self.between is not None:
                parts.append(f"{self.var} {self.between_text}")
            if self.empty is not None:
                parts.append(f"{self.var} {'empty' if self.empty else 'not empty'}")
        if self.open is not None:
            parts.append(f"{self.open} open")
        if self.closed is not None:
            parts.append(f"{self.closed} closed")
        if self.language is not None:
            parts.append(f"language {self.language}")
        return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class Case:
    when: When
    go: str
    span: Span  # the list item
    go_span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch(Node):
    cases: tuple[Case, ...]
    otherwise: str

    def targets(self) -> Iterator[tuple[str, str]]:
        for index, case in enumerate(self.cases):
            yield case_key(index), case.go
        yield "otherwise", self.otherwise


def tested_vars(nodes: Iterable[Node]) -> set[str]:
    """The variables the branches among `nodes` test."""
    return {
        case.when.var for node in nodes if isinstance(node, Branch) for case in node.cases if case.when.var is not None
    }


def case_key(index: int) -> str:
    """How the way out of a case is named in messages: `case 2`."""
    return f"case {index + 1}"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def _when(data: dict[str, Any], source: SourceMap, path: tuple[str | int, ...]) -> When:
    within = data.get("in")
    between = data.get("between")
    return When(
        span=source.value(path),
        keys=tuple(data),
        var=data.get("var"),
        equals=_text(data["equals"], source.typed.get((*path, "equals"))) if "equals" in data else None,
        within=tuple(_text(v, source.typed.get((*path, "in", i))) for i, v in enumerate(within))
        if isinstance(within, list)
        else None,
        between=(_number(between[0]), _number(between[1])) if isinstance(between, list) and len(between) == 2 else None,
        between_text=f"{source.typed.get((*path, 'between', 0), '')}-{source.typed.get((*path, 'between', 1), '')}"
        if isinstance(between, list)
        else "",
        empty=data.get("empty"),
        open=data.get("open"),
        closed=data.get("closed"),
        language=data.get("language"),
    )


def build_branch(common: dict[str, Any], data: dict[str, Any], source: SourceMap) -> Branch:
    path = ("nodes", common["name"])
    cases = tuple(
        Case(
            when=_when(case["when"], source, (*path, "cases", index, "when")),
            go=case["go"],
            span=source.value((*path, "cases", index)),
            go_span=source.value((*path, "cases", index, "go")),
        )
        for index, case in enumerate(data["cases"])
    )
    # `case 2` names the way out of the second case in messages (unknown-target, unset-variable).
    value_spans: Mapping[str, Span] = MappingProxyType(
        {**common["value_spans"], **{case_key(i): case.go_span for i, case in enumerate(cases)}}
    )
    return Branch(**{**common, "value_spans": value_spans}, cases=cases, otherwise=data["otherwise"])
