"""The YAML parser's complaints, said in a flow author's words.

PyYAML says "mapping values are not allowed in this context (while scanning a plain scalar)". An
author needs "the indentation is off: `message:` is indented 1 space more than `type:` on line 4",
or "a second `: ` on this line", at a 1-based line and column, with what to write instead. The
parser's own wording never reaches the author: each problem it knows is matched here, and any
other gets plain words about the line.
"""

from __future__ import annotations

import re

import yaml

from ivrflow.language.diagnostics import Diagnostic, Span

# A line that starts with a key: its indentation, the key as written (a list item's `- ` skipped).
_KEY_LINE = re.compile(r"""^( *)(?:- +)?("[^"]*"|'[^']*'|[^\s#'"{\[][^:#]*?)\s*:(?:\s+(.*))?$""")

_GENERAL_HINT = "check this line and the one above it for a missing colon, a quote that is not closed, or indentation"


def _key_line(line: str) -> tuple[int, str, bool] | None:
    """(indentation, key, whether it opens a block of keys under it) of a `key:` line, else None."""
    match = _KEY_LINE.match(line)
    if match is None:
        return None
    value = (match.group(3) or "").split(" #", 1)[0].strip()
    return len(match.group(1)), match.group(2), value == "" or value.startswith("#")


def misindented(lines: list[str], at: int) -> Diagnostic | None:
    """A diagnostic saying by how much line `at` (0-based) is indented wrongly, when its key does
    not line up with any key it could belong to; None when its indentation is one YAML allows."""
    if not 0 <= at < len(lines):
        return None
    here = _key_line(lines[at])
    if here is None:
        return None
    indent, key, _ = here
    # The keys before it that it could line up with: the one just above, and each one further up
    # that is indented less (its parents). The line above opening a block allows any deeper indentation.
    above: list[tuple[int, str, int]] = []
    for number in range(at - 1, -1, -1):
        found = _key_line(lines[number])
        if found is None or (above and found[0] >= above[-1][0]):
            continue
        if not above and found[2] and indent > found[0]:
            return None
        above.append((found[0], found[1], number + 1))
    if not above or any(each[0] == indent for each in above):
        return None
    other_indent, other, line = min(above, key=lambda each: (abs(each[0] - indent), -each[0]))
    gap = abs(indent - other_indent)
    how = f"{gap} space{'s' if gap != 1 else ''} {'more' if indent > other_indent else 'less'}"
    message = f"the indentation is off: `{key}:` is indented {how} than `{other}:` on line {line}"
    hint = f"line `{key}:` up with `{other}:` ({other_indent} space{'s' if other_indent != 1 else ''}), or with the keys of the part it belongs to; keys of one node line up under each other"
    return Diagnostic("yaml-syntax", Span(at + 1, indent + 1, at + 1, indent + 1 + len(key)), message, hint)


def _at(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _quoted(line: str) -> str:
    """The line with its value in quotes, to show what to write: `message: "Press 1: to confirm"`."""
    found = _KEY_LINE.match(line)
    if found is None or not found.group(3):
        return ""
    value = found.group(3).strip().replace('"', '\\"')
    return f'put the value in quotes: `{found.group(2)}: "{value}"`'


def syntax_error(error: yaml.MarkedYAMLError, lines: list[str]) -> Diagnostic:
    """What is wrong, where, and what to write, for one error of the YAML parser."""
    problem, context = error.problem or "", error.context or ""
    line, column = _at(error.problem_mark or error.context_mark)
    since, _ = _at(error.context_mark)
    text = lines[line - 1] if 0 < line <= len(lines) else ""

    def said(message: str, hint: str, where: tuple[int, int] | None = None) -> Diagnostic:
        at_line, at_column = where or (line, column)
        return Diagnostic("yaml-syntax", Span(at_line, at_column, at_line, at_column + 1), message, hint)

    if (
        "mapping values are not allowed" in problem
        or "expected key" in problem
        or "expected <document start>" in problem
    ):
        wrongly = misindented(lines, line - 1)
        if wrongly is not None:
            return wrongly
    if "\t" in text[: max(column, 1)] or "'\\t'" in problem:
        return said(
            "a tab is used for indenting here; YAML allows only spaces",
            "indent with spaces, not tabs (most editors can turn tabs into spaces)",
        )
    if "mapping values are not allowed" in problem:
        return said(
            "a second `: ` on this line: YAML reads the text after it as another key",
            _quoted(text) or "a value that contains `: ` must be written in quotes",
        )
    if "cannot start any token" in problem:
        char = text[column - 1] if 0 < column <= len(text) else "this character"
        return said(
            f"a value cannot start with `{char}`" if char != "`" else "a value cannot start with a backquote",
            f'put the value in quotes: "{text[column - 1 :].strip()}"' if text else "put the value in quotes",
        )
    if "end of stream" in problem and "quoted scalar" in context:
        return said(
            f"the quote opened on line {since} is never closed",
            "close it with the same quote mark at the end of the value",
            _at(error.context_mark),
        )
    if "escape character" in problem:
        return said(
            "a backslash `\\` inside double quotes starts an escape YAML does not know",
            "write the text in single quotes, or write the backslash twice: `\\\\`",
        )
    if "could not find expected ':'" in problem:
        return said(
            "this line has no `:` after its key",
            "each line needs a key, a colon and a space: `key: value`; text that runs over several lines must be in quotes",
            _at(error.context_mark),
        )
    if "expected key" in problem:
        return said(
            f"this line does not fit the keys that start on line {since}",
            "check that the quotes on the lines above are closed, and that keys of one node line up under each other",
        )
    if "expected <document start>" in problem:
        return said(
            "this line does not belong to any key above it",
            "check its indentation: the flow's own keys (`flow:`, `nodes:`, ...) start at the left margin",
        )
    if "block sequence entries are not allowed" in problem:
        return said(
            "a list item (`- `) cannot follow a key on the same line",
            "start the list on the next line, indented, one `- item` a line, or write it as `[a, b]`",
        )
    if "expected ',' or ']'" in problem:
        return said(
            f"the list opened with `[` on line {since} is not closed with `]`, or two items have no comma between them",
            "write lists as `[a, b]`, and put quotes around items that contain `,` or `: `",
        )
    if "expected ',' or '}'" in problem:
        return said(
            f"the group opened with `{{` on line {since} is not closed with `}}`, or two keys have no comma between them",
            "write it as `{a: 1, b: 2}`, or as `key: value` lines",
        )
    if "single document" in problem + context:
        return said(
            "this file holds more than one YAML document (a `---` line)",
            "keep one flow per file: remove the `---` line",
        )
    if "undefined alias" in problem:
        return said(
            f"`{text[column - 1 :].split()[0] if text else '*'}` refers to an `&anchor` that is not defined above it",
            "an `*alias` needs a matching `&anchor` earlier in the file; or put the value in quotes if it is text",
        )
    if "alphabetic or numeric character" in problem:
        return said(
            "`&` or `*` must be followed by a name here",
            "put the value in quotes if it is text that starts with & or *",
        )
    return said("this is not valid YAML", _GENERAL_HINT)


def reader_error(error: yaml.YAMLError, text: str) -> Diagnostic:
    """A character a text file should not hold (such as a control character)."""
    position = getattr(error, "position", 0)
    character = getattr(error, "character", None)
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    code = ord(character) if isinstance(character, str) else character  # PyYAML gives the code point
    shown = f" (U+{code:04X})" if isinstance(code, int) else ""
    return Diagnostic(
        "yaml-syntax",
        Span(line, column, line, column + 1),
        f"this line holds a character that cannot be in a flow file{shown}",
        "delete it: it is often left over from copying text out of another program",
    )
