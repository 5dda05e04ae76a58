"""The texts translators work on, read from a flow file as it is written, and the mark that says
which source text a translation was made from.

A translation carries `# translated from 1a2b3c4d` on its line: the first 8 hex digits of the
SHA-256 of the source-language text it was translated from. When the source text changes, its
hash no longer matches, and lint (`translation-outdated`) and the exported PO file (`fuzzy`) say
so. The mark is a comment so that it costs the flow nothing at run time and survives any edit
that keeps the line.

This reads the YAML data and its positions, not the flow model, so that the commands work on a
flow whose translations are still missing (lint errors, but the texts are all there to export).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ivrflow.language.diagnostics import Diagnostic, Span
from ivrflow.language.yamlstrict import Path, SourceMap
from ivrflow.telesign.facts import DEFAULT_LANGUAGE

# The keys whose value a caller hears and a translator translates. A `select_language` node's
# message is one line per language by nature (each names its own language): nothing to translate.
TEXT_KEYS = ("message", "no_input", "invalid", "confirm", "hold")
UNTRANSLATED_TYPES = frozenset({"select_language"})
MARK = re.compile(r"#\s*translated from ([0-9a-fA-F]{8})(?![0-9a-fA-F])")
# The header of a block scalar (`|`, `>-`, `|2+`): its mark is on this line, after the header.
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*")

Style = Literal["plain", "block", "flow"]


def text_hash(text: str) -> str:
    """What a `# translated from` mark holds for `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Entry:
    """One language's text of one translated key, as written."""

    language: str
    text: str
    key_span: Span  # the language's key; for a plain text, the text's key
    span: Span  # the value as written (quotes included)
    mark: str | None  # the hash in its `# translated from` mark, lower case; None: no mark


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

    @property
    def path(self) -> Path:
        return ("nodes", self.node, self.key)


@dataclass(frozen=True, slots=True)
class Texts:
    """Everything in one flow file a translator works on."""

    flow: str
    languages: tuple[str, ...]  # the first is the source language
    texts: tuple[Text, ...]

    @property
    def source(self) -> str:
        return self.languages[0]

    def by_context(self) -> dict[str, Text]:
        return {text.context: text for text in self.texts}


def flow_languages(data: Mapping[str, Any]) -> tuple[str, ...]:
    """A flow's languages, the source first: `languages`, else `language`, else the default."""
    listed = data.get("languages")
    if isinstance(listed, list) and listed and all(isinstance(item, str) for item in listed):
        return tuple(listed)
    single = data.get("language")
    return (single if isinstance(single, str) else DEFAULT_LANGUAGE,)


def code_ends(data: Any, source: SourceMap, lines: list[str]) -> dict[int, int]:
    """For each line, the column just past the last YAML value or key that ends on it: what
    follows is blank or a comment. Block mappings and lists are left out (they end where the next
    key starts); a block scalar ends at the end of its last line, so a `#` in it is never a comment."""
    ends: dict[int, int] = {}

    def note(span: Span) -> None:
        ends[span.end_line] = max(ends.get(span.end_line, 0), span.end_column)

    for path, span in source.values.items():
        if isinstance(_at(data, path), dict | list) and not flow_style(lines, span):
            continue
        note(span)
    for span in source.keys.values():
        note(span)
    return ends


def mark_place(lines: list[str], ends: Mapping[int, int], span: Span) -> tuple[int, int]:
    """(line, 0-based column) where the comment that marks the value at `span` starts, or would
    start: after a block scalar's header, else after the last value on the line the value ends."""
    if block_scalar(lines, span):
        header = _BLOCK_HEADER.match(lines[span.line - 1], span.column - 1)
        line, after = span.line, header.end() if header else span.column
    else:
        line, after = span.end_line, max(ends.get(span.end_line, 0) - 1, 0)
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    after = min(after, len(text))
    hash_sign = text.find("#", after)
    return line, hash_sign if hash_sign >= 0 else len(text)


def read_mark(lines: list[str], ends: Mapping[int, int], span: Span) -> str | None:
    line, column = mark_place(lines, ends, span)
    found = MARK.search(lines[line - 1][column:]) if 0 < line <= len(lines) else None
    return found.group(1).lower() if found else None


def read_texts(data: Any, source: SourceMap, lines: list[str]) -> Texts:
    """The translatable texts of a parsed flow file, in the order they are written. Values the
    schema would refuse are skipped, not reported: the loader reports them."""
    if not isinstance(data, dict):
        return Texts("", (DEFAULT_LANGUAGE,), ())
    languages = flow_languages(data)
    ends = code_ends(data, source, lines)
    found: list[Text] = []
    nodes = data.get("nodes")
    for name, node in nodes.items() if isinstance(nodes, dict) else ():
        if not isinstance(node, dict) or node.get("type") in UNTRANSLATED_TYPES:
            continue
        for key in TEXT_KEYS:
            text = _text(str(name), key, node.get(key), source, lines, ends, languages[0])
            if text is not None:
                found.append(text)
    flow_id = data.get("flow")
    return Texts(flow_id if isinstance(flow_id, str) else "", languages, tuple(found))


def _text(
    node: str, key: str, value: Any, source: SourceMap, lines: list[str], ends: Mapping[int, int], first: str
) -> Text | None:
    path: Path = ("nodes", node, key)
    span = source.value(path)
    if isinstance(value, str):
        entry = Entry(first, value, source.key(path), span, read_mark(lines, ends, span))
        return Text(node, key, source.key(path), span, "plain", {first: entry})
    if not isinstance(value, dict):
        return None
    entries = {}
    for language, said in value.items():
        if isinstance(said, str):
            where = source.value((*path, language))
            entries[language] = Entry(
                language, said, source.key((*path, language)), where, read_mark(lines, ends, where)
            )
    style: Style = "flow" if _starts_with(lines, span, "{") else "block"
    return Text(node, key, source.key(path), span, style, entries)


def outdated(texts: Texts) -> Iterator[Diagnostic]:
    """`translation-outdated`: a translation whose mark names another source text than the current one."""
    for text in texts.texts:
        source = text.entries.get(texts.source)
        if source is None:
            continue
        now = text_hash(source.text)
        for entry in text.entries.values():
            if entry.language == texts.source or entry.mark is None or entry.mark == now:
                continue
            message = (
                f"the {entry.language} {text.key} of node `{text.node}` was translated from another {texts.source} text: "
                f"the {texts.source} text on line {source.span.line} has changed since (mark {entry.mark}, the text now {now})"
            )
            hint = (
                f"have it translated again (`ivrflow translations export FLOW --to {entry.language}` marks it fuzzy for the translator); "
                f"or, if it still says the same, change the mark to `# translated from {now}`"
            )
            yield Diagnostic("translation-outdated", entry.span, message, hint)


def block_scalar(lines: list[str], span: Span) -> bool:
    """Whether the value at `span` is written as a block scalar (`|` or `>`)."""
    return _starts_with(lines, span, "|>")


def flow_style(lines: list[str], span: Span) -> bool:
    """Whether the mapping or list at `span` is written inline, in braces or brackets."""
    return _starts_with(lines, span, "{[")


def _at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _starts_with(lines: list[str], span: Span, characters: str) -> bool:
    if not 0 < span.line <= len(lines):
        return False
    first = lines[span.line - 1][span.column - 1 : span.column]
    return first != "" and first in characters
