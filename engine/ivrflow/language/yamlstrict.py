"""Strict YAML: what the author typed is what the engine sees.

PyYAML follows YAML 1.1, where `NO` is false, `0123` is octal 83, `12:30` is 750 and `1:` is an
integer key. Flow authors are not programmers, so this loader keeps only the readings nobody is
surprised by: `true`/`false` are the only booleans, integers have no leading zeros, keys are
always the text that was typed, and a key written twice is an error naming both lines.

It also records where every key and value stands in the file, so that every later check can
point at the exact line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ivrflow.language.diagnostics import Diagnostic, Span

try:  # libyaml parses several times faster; the pure-Python parser gives the same nodes.
    from yaml._yaml import CParser as _Parser

    _C_PARSER = True
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml
    _C_PARSER = False

Path = tuple[str | int, ...]

# How many values an alias-heavy document may expand to before we stop ("billion laughs").
MAX_VALUES = 5_000_000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _StrictResolver(yaml.resolver.BaseResolver):
    """Implicit types: only the spellings a non-programmer would expect to be non-text."""

    yaml_implicit_resolvers: dict[Any, Any] = {}


_StrictResolver.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|false)$"), list("tf"))
_StrictResolver.add_implicit_resolver(_INT, re.compile(r"^-?(?:0|[1-9][0-9]*)$"), list("-0123456789"))
_StrictResolver.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)$"),
    list("-0123456789"),
)
_StrictResolver.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|)$"), ["~", "n", ""])


if _C_PARSER:

    class _Composer(_Parser, _StrictResolver):
        def __init__(self, text: str) -> None:
            _Parser.__init__(self, text)
            _StrictResolver.__init__(self)

else:  # pragma: no cover

    class _Composer(  # type: ignore[no-redef]
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        yaml.composer.Composer,
        _StrictResolver,
    ):
        def __init__(self, text: str) -> None:
            yaml.reader.Reader.__init__(self, text)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _StrictResolver.__init__(self)


@dataclass(slots=True)
class SourceMap:
    """Where each value and each mapping key of a document was written."""

    values: dict[Path, Span] = field(default_factory=dict)
    keys: dict[Path, Span] = field(default_factory=dict)
    # The text exactly as typed, for scalars: messages quote `0123`, never 123.
    typed: dict[Path, str] = field(default_factory=dict)

    def value(self, path: Path) -> Span:
        """The span of the value at `path`, or of its nearest written parent."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Span(1, 1, 1, 1))

    def key(self, path: Path) -> Span:
        """The span of the key that introduces `path` (the value's span for list items)."""
        return self.keys.get(path) or self.value(path)


@dataclass(slots=True)
class Document:
    """A parsed YAML file: plain data, where it came from, and what went wrong reading it."""

    text: str
    data: Any
    source: SourceMap
    diagnostics: list[Diagnostic]


def _span(node: Node) -> Span:
    start, end = node.start_mark, node.end_mark
    # A value ending at column 0 of the next line (block scalars) really ends on the line before.
    if end.line > start.line and end.column == 0:
        return Span(start.line + 1, start.column + 1, end.line, 10_000)
    return Span(start.line + 1, start.column + 1, end.line + 1, max(end.column + 1, start.column + 2))


class _Builder:
    """Turns composed YAML nodes into plain data, recording positions and problems."""

    def __init__(self) -> None:
        self.source = SourceMap()
        self.diagnostics: list[Diagnostic] = []
        self.count = 0
        self.active: set[int] = set()

    def problem(self, rule: str, span: Span, message: str, hint: str) -> None:
        self.diagnostics.append(Diagnostic(rule=rule, span=span, message=message, hint=hint))

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES or len(path) > MAX_DEPTH:
            raise _TooBig(node)
        self.source.values[path] = _span(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:  # an alias that contains itself
            raise _TooBig(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
            return self.mapping(node, path)  # type: ignore[arg-type]
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        self.source.typed[path] = node.value
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _BOOL:
            return node.value == "true"
        if tag == _NULL:
            return None
        if tag in (_INT, _FLOAT):
            try:
                return int(node.value) if tag == _INT else float(node.value)
            except ValueError:
                pass
        self.problem(
            "yaml-syntax",
            _span(node),
            f"the tag `{tag}` is not supported in flows",
            "remove the `!` tag and write the value as plain text",
        )
        return node.value

    def sequence(self, node: SequenceNode, path: Path) -> list[Any]:
        if node.tag != _SEQ:
            self.problem(
                "yaml-syntax", _span(node), f"the tag `{node.tag}` is not supported in flows", "remove the `!` tag"
            )
        return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        if node.tag != _MAP:
            self.problem(
                "yaml-syntax", _span(node), f"the tag `{node.tag}` is not supported in flows", "remove the `!` tag"
            )
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_span = _span(key_node)
            if not isinstance(key_node, ScalarNode):
                self.problem(
                    "yaml-syntax",
                    key_span,
                    "a key must be a plain word, not a list or a mapping",
                    "write the key as one word followed by `:`",
                )
                continue
            key = key_node.value  # always the typed text: `1:` is "1", `on:` is "on"
            if key == "<<" and not key_node.style:  # plain: None from PyYAML, "" from libyaml
                self.problem(
                    "yaml-syntax",
                    key_span,
                    "merge keys (`<<`) are not supported in flows",
                    "write the keys out in full in this node",
                )
                continue
            if key in first_line:
                self.problem(
                    "duplicate-key",
                    key_span,
                    f"`{key}` is written twice here: first on line {first_line[key]}, again on line {key_span.line}",
                    f"keep one `{key}:` and delete the other; only one of them can count",
                )
                continue
            first_line[key] = key_span.line
            child = (*path, key)
            self.source.keys[child] = key_span
            result[key] = self.build(value_node, child)
        return result


class _TooBig(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


_SYNTAX_HINTS = (
    ("'\\t'", "", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "", "a value that contains `: ` must be written in quotes"),
    ("could not find expected ':'", "", "each line needs a key, a colon and a space: `key: value`"),
    ("did not find expected key", "", "check the indentation: keys of one node line up under each other"),
    ("found undefined alias", "", "an `*alias` needs a matching `&anchor` earlier in the file"),
    ("expected a single document", "", "keep one flow per file: remove the `---` line"),
    ("found unexpected end of stream", "", "a quote is opened but never closed"),
)


def _syntax_hint(problem: str) -> str:
    for needle, extra, hint in _SYNTAX_HINTS:
        if needle in problem and extra in problem:
            return hint
    return "check the line and the one above it for a missing colon, quote or indentation"


def parse(text: str) -> Document:
    """Parse one YAML document strictly. Never raises for bad input: problems are diagnostics."""
    try:
        root = _Composer(text).get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or error.context or "the file is not valid YAML"
        lines = text.splitlines()
        if 0 < line <= len(lines) and "\t" in lines[line - 1][: max(column, 1)]:
            problem = "a tab is used here, and YAML does not allow tabs for indenting ('\\t')"
        message = f"this is not valid YAML: {problem}"
        if error.context and error.problem and error.context_mark:
            message += f" ({error.context} on line {error.context_mark.line + 1})"
        diagnostic = Diagnostic(
            "yaml-syntax", Span(line, column, line, column + 1), message, _syntax_hint(f"{error.context} {problem}")
        )
        return Document(text, None, SourceMap(), [diagnostic])
    except RecursionError:
        diagnostic = Diagnostic(
            "yaml-syntax",
            Span(1, 1, 1, 2),
            "the file nests lists or mappings too deeply to be a flow",
            "a flow is at most a few levels deep: flow, nodes, node, choices",
        )
        return Document(text, None, SourceMap(), [diagnostic])
    except yaml.YAMLError as error:  # reader errors: bad bytes, control characters
        return Document(
            text,
            None,
            SourceMap(),
            [
                Diagnostic(
                    "yaml-syntax", Span(1, 1, 1, 2), f"this is not valid YAML: {error}", "save the file as UTF-8 text"
                )
            ],
        )
    if root is None:
        return Document(text, None, SourceMap(), [])
    builder = _Builder()
    try:
        data = builder.build(root, ())
    except _TooBig as too_big:
        span = _span(too_big.node)
        message = "the file nests or repeats aliases too deeply to be a flow"
        return Document(
            text,
            None,
            SourceMap(),
            [Diagnostic("yaml-syntax", span, message, "write the flow out without `*aliases` that include themselves")],
        )
    return Document(text, data, builder.source, builder.diagnostics)
