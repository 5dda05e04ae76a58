"""The texts translators work on, where each is written, and the mark that says which source text
a translation was made from.

A translation carries `# translated from 1a2b3c4d` at the end of its line: the first 8 hex digits
of the SHA-256 of the source-language text (the flow's first language) it was translated from.
When the source text changes, its hash no longer matches, and lint (`translation-outdated`) and
the exported PO file (`fuzzy`) say so. The mark is a comment, so it costs a call nothing and stays
with any edit that keeps the line. A mark belongs to its line: translations written on one line
(`{ en-US: "...", es-MX: "...", fr-FR: "..." }`) share it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from ivrflow.language.diagnostics import Diagnostic, Span
from ivrflow.language.model import Flow
from ivrflow.language.wordings import Wording
from ivrflow.language.yamlstrict import Path, SourceMap

MARK = re.compile(r"#\s*translated from ([0-9a-fA-F]{8})(?![0-9a-fA-F])")
# The header of a block scalar (`|`, `>-`, `|2+`): its mark is on that line, after the header.
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*")

Style = Literal["plain", "block", "flow"]


def text_hash(text: str) -> str:
    """What a `# translated from` mark holds for `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def source_language(flow: Flow) -> str:
    """The language a flow is written in, and translated from: the first of its languages."""
    return flow.languages[0] if flow.languages else flow.language


def mark_place(lines: list[str], span: Span) -> tuple[int, int]:
    """(line, 0-based column) after which the mark of the value at `span` is written: after a
    block scalar's header, else after the value on the line where it ends."""
    if block_scalar(lines, span):
        header = _BLOCK_HEADER.match(lines[span.line - 1], span.column - 1)
        return span.line, header.end() if header else span.column
    line = lines[span.end_line - 1] if 0 < span.end_line <= len(lines) else ""
    return span.end_line, min(span.end_column - 1, len(line))


def read_mark(lines: list[str], span: Span) -> str | None:
    """The hash in the mark of the value at `span`, lower case; None when it has no mark."""
    line, column = mark_place(lines, span)
    found = MARK.search(lines[line - 1], column) if 0 < line <= len(lines) else None
    return found.group(1).lower() if found else None


def outdated(flow: Flow, lines: list[str]) -> Iterator[Diagnostic]:
    """`translation-outdated`: a translation whose mark names another source text than its own."""
    source = source_language(flow)
    for wording in flow.wordings:
        if source not in wording.texts:
            continue  # lint reports the missing text
        now = text_hash(wording.texts[source])
        for language, span in wording.spans.items():
            mark = read_mark(lines, span) if language != source else None
            if mark is None or mark == now:
                continue
            message = (
                f"the {language} {wording.key} of node `{wording.node}` was translated from another {source} text: "
                f"the {source} text on line {wording.spans[source].line} has changed since (mark {mark}, the text now {now})"
            )
            hint = (
                f"have it translated again (`ivrflow translations export FLOW --to {language}` marks it fuzzy for the translator); "
                f"or, if it still says the same, change the mark to `# translated from {now}`"
            )
            yield Diagnostic("translation-outdated", span, message, hint)


@dataclass(frozen=True, slots=True)
class Entry:
    """One language's text of one translated key, as written."""

    language: str
    text: str
    key_span: Span  # the language's key; for a plain text, the text's key
    span: Span  # the value as written (quotes included)
    mark: str | None  # the hash of its `# translated from` mark; None: no mark


@dataclass(frozen=True, slots=True)
class Text:
    """One key of one node that a caller hears, in every language the flow gives it."""

    node: str
    key: str
    key_span: Span
    span: Span  # the whole value: one text, or the mapping of languages
    style: Style  # plain: one text (one language); block or flow: a mapping per language
    entries: Mapping[str, Entry]  # for a plain text: only the source language's

    @property
    def context(self) -> str:
        """How a PO file names it: `menu.no_input`."""
        return f"{self.node}.{self.key}"


@dataclass(frozen=True, slots=True)
class Texts:
    """Everything in one flow file a translator works on, in the order it is written."""

    flow: str
    languages: tuple[str, ...]  # the first is the language the flow is written in
    texts: tuple[Text, ...]

    @property
    def source(self) -> str:
        return self.languages[0]

    def by_context(self) -> dict[str, Text]:
        return {text.context: text for text in self.texts}


def read_texts(flow: Flow, source: SourceMap, lines: list[str]) -> Texts:
    """The translatable texts of a flow, with where each part of them is written in its file."""
    languages = flow.languages or (flow.language,)
    return Texts(flow.id, languages, tuple(_text(wording, source, lines) for wording in flow.wordings))


def _text(wording: Wording, source: SourceMap, lines: list[str]) -> Text:
    path: Path = ("nodes", wording.node, wording.key)
    span = source.value(path)
    entries = {
        language: Entry(
            language,
            said,
            source.key((*path, language)) if wording.per_language else source.key(path),
            wording.spans[language],
            read_mark(lines, wording.spans[language]),
        )
        for language, said in wording.texts.items()
    }
    style: Style = "plain" if not wording.per_language else "flow" if flow_style(lines, span) else "block"
    return Text(wording.node, wording.key, source.key(path), span, style, entries)


def block_scalar(lines: list[str], span: Span) -> bool:
    """Whether the value at `span` is written as a block scalar (`|` or `>`)."""
    return _starts_with(lines, span, "|>")


def flow_style(lines: list[str], span: Span) -> bool:
    """Whether the mapping or list at `span` is written inline, in braces or brackets."""
    return _starts_with(lines, span, "{[")


def _starts_with(lines: list[str], span: Span, characters: str) -> bool:
    if not 0 < span.line <= len(lines):
        return False
    first = lines[span.line - 1][span.column - 1 : span.column]
    return first != "" and first in characters
