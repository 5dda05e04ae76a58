"""The fields every node of a flow has, and what every node can be asked: where it leads, what it says.

Its own module so that node types kept in modules of their own (the `http` and `branch` nodes) and
the flow model can all build on it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ivrflow.language.diagnostics import Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Fields every node has: its name, its type, and where it and its keys were written."""

    name: str
    type: str
    span: Span
    key_spans: Mapping[str, Span]
    value_spans: Mapping[str, Span]

    def key_span(self, key: str) -> Span:
        """Where `key` of this node was written; the node's own line when the key is absent."""
        return self.key_spans.get(key, self.span)

    def value_span(self, key: str) -> Span:
        """Where the value of `key` was written; the node's own line when the key is absent."""
        return self.value_spans.get(key, self.span)

    def targets(self) -> Iterator[tuple[str, str]]:
        """The nodes this node can lead to, as (key, target) pairs, such as ("next", "menu")."""
        return iter(())

    def texts(self) -> Iterator[tuple[str, str]]:
        """Everything this node can say, as (key, text) pairs."""
        return iter(())


def as_text(value: Any, typed: str | None) -> str:
    """A value as the text that was typed: `digit: 5` and `digit: "5"` are both "5"."""
    return typed if typed is not None and not isinstance(value, str) else str(value)
