"""The `select_language` node: "For English, press 1. Para español, oprima 2.", each line in its
own language's voice; the call goes on in the language chosen."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ivrflow.language.diagnostics import Span
from ivrflow.language.nodes import Node
from ivrflow.language.yamlstrict import SourceMap

# As a menu waits by default (model.DEFAULT_TIMEOUT); one pass of the lines by default, after which
# the call goes on in the language it is in: a caller who chooses nothing most often understands it.
LANGUAGE_TIMEOUT = 5.0
LANGUAGE_ATTEMPTS = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageMenu(Node):
    """A `select_language` node."""

    lines: Mapping[str, str]  # language → its line, in the order written (the order they are said)
    choices: Mapping[str, str]  # key → language
    next: str
    timeout: float = LANGUAGE_TIMEOUT
    attempts: int = LANGUAGE_ATTEMPTS
    line_spans: Mapping[str, Span] = field(default_factory=dict)  # language → where its line is
    choice_spans: Mapping[str, Span] = field(default_factory=dict)  # key → where it is written
    language_spans: Mapping[str, Span] = field(default_factory=dict)  # key → where its language is

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next

    def texts(self) -> Iterator[tuple[str, str]]:
        for line in self.lines.values():
            yield "message", line

    def keys_for(self, language: str) -> list[str]:
        """The keys that choose `language`."""
        return [key for key, chosen in self.choices.items() if chosen == language]

    def line_span(self, language: str) -> Span:
        return self.line_spans.get(language, self.key_span("message"))


def build_language_menu(common: dict[str, Any], data: dict[str, Any], source: SourceMap) -> LanguageMenu:
    path = ("nodes", common["name"])
    lines = {str(language): str(text) for language, text in data["message"].items()}
    choices = {str(key): str(language) for key, language in data["choices"].items()}
    return LanguageMenu(
        **common,
        lines=MappingProxyType(lines),
        choices=MappingProxyType(choices),
        next=data["next"],
        timeout=float(data.get("timeout", LANGUAGE_TIMEOUT)),
        attempts=int(data.get("attempts", LANGUAGE_ATTEMPTS)),
        line_spans=MappingProxyType({language: source.value((*path, "message", language)) for language in lines}),
        choice_spans=MappingProxyType({key: source.key((*path, "choices", key)) for key in choices}),
        language_spans=MappingProxyType({key: source.value((*path, "choices", key)) for key in choices}),
    )
