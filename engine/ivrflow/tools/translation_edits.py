"""Put translations into a flow file's text, changing nothing else: every comment, blank line, key
order and quoting style of what is not translated stays as it was written.

Each change is made on the text at the positions the strict YAML reader recorded, never by
writing the YAML out again (which would lose comments and layout). The caller checks the result
by reading it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from ivrflow.language.diagnostics import Span
from ivrflow.language.translations import MARK, Entry, Text, block_scalar, flow_style, mark_place, text_hash
from ivrflow.language.yamlstrict import Document


def double_quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar, on one line. Line breaks and characters YAML reads as
    line breaks or drops (NEL, the line and paragraph separators, a BOM) are escaped, so the value
    read back is `text` exactly."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def marked(comment: str, hash_: str) -> str:
    """A line's comment with its `# translated from` mark set to `hash_` (added when it has none)."""
    if MARK.search(comment):
        return MARK.sub(f"# translated from {hash_}", comment, count=1)
    return f"{comment.rstrip()}  # translated from {hash_}".lstrip()


class Unsafe(Exception):
    """This text cannot be changed without touching other translations; the message says why."""


@dataclass(slots=True)
class _Change:
    start: int
    end: int
    new: str


class FlowText:
    """A flow file's text and its parsed form, with changes collected and applied in one go."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.lines = document.text.splitlines()
        self.kept = document.text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.kept:
            self.starts.append(self.starts[-1] + len(line))
        self.changes: list[_Change] = []
        newline = next((line[len(line.rstrip("\r\n")) :] for line in self.kept if line.endswith("\n")), "")
        self.newline = newline or "\n"

    def at(self, line: int, column: int) -> int:
        """The offset of 1-based `line`, 0-based `column`."""
        return self.starts[line - 1] + column

    def end_of(self, line: int) -> int:
        """The offset of the end of `line`, before its line break."""
        return self.starts[line - 1] + len(self.lines[line - 1])

    def change(self, start: int, end: int, new: str) -> None:
        self.changes.append(_Change(start, end, new))

    def add_line_after(self, line: int, new: str) -> None:
        self.change(self.end_of(line), self.end_of(line), self.newline + new)

    def value_end(self, span: Span) -> int:
        """Where the value at `span` ends; a block scalar runs to the end of its last line."""
        if block_scalar(self.lines, span) or span.end_column > len(self.lines[span.end_line - 1]):
            return self.end_of(span.end_line)
        return self.at(span.end_line, span.end_column - 1)

    def slice(self, span: Span) -> str:
        return self.document.text[self.at(span.line, span.column - 1) : self.value_end(span)]

    def result(self) -> str:
        text = self.document.text
        ordered = sorted(self.changes, key=lambda change: (change.start, change.end))
        for before, after in pairwise(ordered):
            if after.start < before.end:
                raise Unsafe("two changes would overlap")
        for change in reversed(ordered):
            text = text[: change.start] + change.new + text[change.end :]
        return text

    def set_mark(self, span: Span, hash_: str) -> None:
        """Set the mark on the line that marks the value at `span` (for a block scalar: see _replace):
        its hash changed if it has one, else added at the end of the line, after any comment."""
        line, column = mark_place(self.lines, span)
        found = MARK.search(self.lines[line - 1], column)
        if found:
            self.change(self.at(line, found.start()), self.at(line, found.end()), marked(found.group(0), hash_))
        else:
            code = self.lines[line - 1].rstrip()
            self.change(self.at(line, len(code)), self.end_of(line), "  " + marked("", hash_))

    def put(self, text: Text, language: str, new: str, source: str) -> None:
        """Give `text` the translation `new` in `language`, with a mark of its `source` text's hash."""
        hash_ = text_hash(text.entries[source].text)
        existing = text.entries.get(language)
        if text.style == "plain":
            self._plain_to_mapping(text, language, new, source, hash_)
        elif existing is not None:
            self._shared_mark_check(text, language, source, existing.span.end_line, hash_)
            self._replace(existing, new, hash_)
        elif text.style == "block":
            last = list(text.entries.values())[-1]
            indent = " " * (last.key_span.column - 1)
            self.add_line_after(last.span.end_line, f"{indent}{language}: {double_quoted(new)}  {marked('', hash_)}")
        else:
            last = list(text.entries.values())[-1]
            self._shared_mark_check(text, language, source, last.span.end_line, hash_)
            self.change(self.value_end(last.span), self.value_end(last.span), f", {language}: {double_quoted(new)}")
            self.set_mark(last.span, hash_)

    def _replace(self, entry: Entry, new: str, hash_: str) -> None:
        start = self.at(entry.span.line, entry.span.column - 1)
        if block_scalar(self.lines, entry.span):  # its mark is on its header line, which goes
            line, column = mark_place(self.lines, entry.span)
            comment = marked(self.lines[line - 1][column:].strip(), hash_)
            self.change(start, self.value_end(entry.span), f"{double_quoted(new)}  {comment}")
            return
        self.change(start, self.value_end(entry.span), double_quoted(new))
        self.set_mark(entry.span, hash_)

    def _shared_mark_check(self, text: Text, language: str, source: str, line: int, hash_: str) -> None:
        """A mark is per line: on a line shared with other translations, a new mark would say they
        were translated from the current text too. Refused unless their mark already says so."""
        others = [
            entry.language
            for entry in text.entries.values()
            if entry.language not in (language, source) and entry.span.end_line == line and entry.mark != hash_
        ]
        if others:
            raise Unsafe(
                f"on line {line}, its `# translated from` mark would also count for {', '.join(others)}, translated from another text; "
                "write that mapping one language per line, then import again"
            )

    def _plain_to_mapping(self, text: Text, language: str, new: str, source: str, hash_: str) -> None:
        value = text.span
        node_span = self.document.source.value(("nodes", text.node))
        typed = self.slice(value)
        if flow_style(self.lines, node_span):  # the node is written inline: so is its text
            self.change(
                self.at(value.line, value.column - 1),
                self.value_end(value),
                f"{{ {source}: {typed}, {language}: {double_quoted(new)} }}",
            )
            self.set_mark(value, hash_)
            return
        key = text.key_span
        indent = " " * (key.column - 1 + 2)
        between = self.document.text[self.at(key.end_line, key.end_column - 1) : self.at(value.line, value.column - 1)]
        key_comment = between.split("\n")[0].partition("#")
        first, *rest = typed.split("\n")
        # Lines after the first keep their place relative to the key, which moves two columns right.
        shifted = [("  " + line if line.strip() else line) for line in rest]
        tail = (
            ""
            if block_scalar(self.lines, value)
            else self.document.text[self.value_end(value) : self.end_of(value.end_line)]
        )
        source_entry = self.newline.join([f"{indent}{source}: {first}", *shifted]) + tail.rstrip()
        new_entry = f"{indent}{language}: {double_quoted(new)}  {marked('', hash_)}"
        opening = ":" + (f"  #{key_comment[2]}" if key_comment[1] else "")
        self.change(
            self.at(key.end_line, key.end_column - 1),
            self.end_of(value.end_line),
            self.newline.join([opening.rstrip(), source_entry, new_entry]),
        )

    def add_language(self, data: Mapping[str, Any], first: str, language: str) -> None:
        """List `language` among the flow's languages, turning `language: x` (or none: `first`) into `languages:`."""
        source = self.document.source
        listed = data.get("languages")
        if isinstance(listed, list) and listed:
            if language in listed:
                return
            last = source.value(("languages", len(listed) - 1))
            if flow_style(self.lines, source.value(("languages",))):
                self.change(self.value_end(last), self.value_end(last), f", {language}")
            else:
                prefix = self.lines[last.line - 1][: last.column - 1]
                self.add_line_after(last.end_line, f"{prefix}{language}")
            return
        if "language" in data:
            key, value = source.key(("language",)), source.value(("language",))
            written = self.slice(value)
            self.change(self.at(key.line, key.column - 1), self.value_end(value), f"languages: [{written}, {language}]")
            return
        flow_key, flow_value = source.key(("flow",)), source.value(("flow",))
        self.add_line_after(flow_value.end_line, f"{' ' * (flow_key.column - 1)}languages: [{first}, {language}]")
