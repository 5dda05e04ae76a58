"""The translation of schema errors into plain words (the schemas themselves: schema_files.py).

jsonschema says "'five' is not of type 'number'" at "$.nodes.menu.timeout". A flow author needs
"`timeout` of node `menu` must be a number of seconds, but it is `five`" at line 14, column 14,
with a hint. This module does that translation, one best message per location.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from ivrflow.language.diagnostics import Diagnostic, suggestion
from ivrflow.language.schema_files import flow_errors
from ivrflow.language.yamlstrict import Document, Path
from ivrflow.telesign.facts import PHONE_DIGITS_MAX, PHONE_DIGITS_MIN

_KINDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a group of `key: value` lines",
    "array": "a list",
    "null": "empty",
}


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a group of `key: value` lines"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    return "text"


def where(path: Path, data: Any) -> str:
    """A path in the flow, in words: "`timeout` of node `menu`"."""
    if not path:
        return "the flow"
    if path[0] == "nodes" and len(path) >= 2:
        node = f"node `{path[1]}`"
        if len(path) == 2:
            return node
        if path[2] == "choices" and len(path) >= 4:
            return f"choice `{path[3]}` of {node}"
        if path[2] == "cases" and len(path) >= 4 and isinstance(path[3], int):  # a branch's case
            case = f"case {path[3] + 1} of {node}"
            return f"the `when` of {case}" if len(path) >= 5 and path[4] == "when" else case
        return f"`{path[2]}` of {node}"
    if path[0] == "schedules" and len(path) >= 2:
        return f"schedule `{path[1]}`" if len(path) == 2 else f"`{path[2]}` of schedule `{path[1]}`"
    if path[0] == "vars" and len(path) == 2:
        return f"variable `{path[1]}`"
    if path[0] == "numbers" and len(path) == 2 and isinstance(path[1], int):
        return f"number {path[1] + 1} under `numbers`"
    return f"`{path[-1]}`"


def _node_type(data: Any, path: Path) -> str | None:
    if len(path) >= 2 and path[0] == "nodes" and isinstance(data, dict):
        node = data.get("nodes", {}).get(path[1]) if isinstance(data.get("nodes"), dict) else None
        kind = node.get("type") if isinstance(node, dict) else None
        if isinstance(kind, str):
            return kind
    return None


class _Translator:
    def __init__(self, document: Document) -> None:
        self.doc = document
        self.data = document.data

    def typed(self, path: Path, value: Any) -> str:
        text = self.doc.source.typed.get(path)
        return f"`{text}`" if text else kind_of(value)  # `key:` with nothing after it is "empty"

    def make(self, rule: str, path: Path, message: str, hint: str, *, at_key: bool = False) -> Diagnostic:
        span = self.doc.source.key(path) if at_key else self.doc.source.value(path)
        return Diagnostic(rule, span, message, hint)

    def translate(self, error: ValidationError) -> Iterator[Diagnostic]:
        path: Path = tuple(error.absolute_path)
        schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
        keyword = error.validator
        value = error.instance

        if "propertyNames" in error.absolute_schema_path:
            yield self.bad_name(path, str(value), schema)
            return
        if not path and keyword == "type":
            yield self.make(
                "not-a-flow",
                path,
                f"this file holds {kind_of(value)}, not a flow",
                "a flow file starts with `flow: my-flow-id` and has a `nodes:` section",
            )
            return
        if "x-ivrflow-rule" in schema and keyword in ("anyOf", "oneOf", "enum", "pattern"):
            yield self.custom(schema["x-ivrflow-rule"], path, value, schema)
            return
        if keyword in ("anyOf", "oneOf"):
            # A value of the right kind for one branch is best told what is wrong inside that branch
            # (a text too long), not that it is not the other branch's kind (not a mapping).
            inside = [sub for sub in error.context or [] if sub.validator != "type"]
            best = best_match(inside or error.context or [])
            if best is not None:
                yield from self.translate(best)
            return
        handler = getattr(self, f"on_{keyword}", None)
        if handler is None:
            yield self.make(
                "invalid-value", path, f"{where(path, self.data)} is not valid: {error.message}", self.described(schema)
            )
            return
        yield from handler(path, value, schema, error)

    def described(self, schema: dict[str, Any]) -> str:
        return str(schema.get("x-ivrflow-hint") or schema.get("description") or "")

    def allowed_keys(self, schema: dict[str, Any]) -> list[str]:
        return list(schema.get("properties", {}))

    def on_additionalProperties(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        allowed = self.allowed_keys(schema)
        node_type = _node_type(self.data, path)
        owner = (
            f"a `{node_type}` node"
            if node_type and len(path) == 2
            else ("the flow" if not path else where(path, self.data))
        )
        for key in value:
            if key in allowed:
                continue
            hint = suggestion(key, allowed) + f"The keys of {owner} are: {', '.join(allowed)}."
            yield self.make("unknown-key", (*path, key), f"`{key}` is not a key of {owner}", hint, at_key=True)

    def on_required(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        # jsonschema reports each missing key once; recomputing the list keeps us off its wording.
        node_type = _node_type(self.data, path)
        required: list[str] = list(schema["required"])
        for missing in (key for key in required if key not in value):
            about = schema.get("properties", {}).get(missing, {}).get("description", "")
            if not path:
                message = f"the flow has no `{missing}`"
            elif node_type and len(path) == 2:
                message = f"the `{node_type}` node `{path[1]}` has no `{missing}`"
            else:
                message = f"{where(path, self.data)} has no `{missing}`"
            hint = f"add `{missing}:`" + (f" ({about})" if about else "")
            yield self.make("missing-key", path, message, hint, at_key=True)

    def on_type(self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError) -> Iterator[Diagnostic]:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if value is None and len(path) == 2 and path[0] == "nodes":
            yield self.make(
                "missing-key",
                path,
                f"node `{path[1]}` is empty: it has no `type`",
                "add `type:` and the keys of that type, such as `type: hangup`",
                at_key=True,
            )
            return
        words = " or ".join(_KINDS[kind] for kind in wanted)
        typed = self.typed(path, value)
        hint = self.described(schema)
        if "string" in wanted and not isinstance(value, (dict, list)) and path in self.doc.source.typed:
            hint = f'write it in quotes: "{self.doc.source.typed[path]}"'
        elif value is None:
            hint = "write a value after the colon" + (f": {hint}" if hint else "")
        yield self.make("wrong-type", path, f"{where(path, self.data)} must be {words}, but it is {typed}", hint)

    def on_enum(self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError) -> Iterator[Diagnostic]:
        options = [str(option) for option in schema["enum"]]
        typed = self.typed(path, value)
        hint = suggestion(str(value), options) + "Allowed: " + ", ".join(options) + "."
        yield self.make(
            "invalid-value", path, f"{where(path, self.data)} is {typed}, which is not one of the allowed values", hint
        )

    def on_const(self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError) -> Iterator[Diagnostic]:
        yield self.make("invalid-value", path, f"{where(path, self.data)} must be `{schema['const']}`", "")

    def on_pattern(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        yield self.make(
            "invalid-value",
            path,
            f"{where(path, self.data)} is {self.typed(path, value)}, which is not allowed here",
            self.described(schema),
        )

    def on_minLength(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        yield self.make(
            "invalid-value",
            path,
            f"{where(path, self.data)} is empty",
            "write what the caller should hear, or remove the key",
        )

    def on_maxLength(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        rule = schema.get("x-ivrflow-length-rule", "invalid-value")
        limit = schema["maxLength"]
        yield self.make(
            rule,
            path,
            f"{where(path, self.data)} is {len(value)} characters long; Telesign speaks at most {limit}",
            "shorten it, or split it in two with a `prompt` between the parts (a straight run of `tts_message` nodes is said as one text)",
        )

    def on_minProperties(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        yield self.make("invalid-value", path, f"{where(path, self.data)} is empty", self.described(schema))

    def on_maxProperties(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        rule = schema.get("x-ivrflow-count-rule", "invalid-value")
        message = (
            f"{where(path, self.data)} has {len(value)} keys; a keypad menu can have at most {schema['maxProperties']}"
        )
        yield self.make(
            rule, path, message, 'split the menu: put the rarer choices behind an "other options" key', at_key=True
        )

    def on_uniqueItems(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        seen: set[str] = set()
        for index, item in enumerate(value):
            same = json.dumps(item, sort_keys=True)  # items may be mappings (`{ number: ..., language: ... }`)
            if same in seen:
                yield self.make(
                    "invalid-value",
                    (*path, index),
                    f"{_inline(item) if isinstance(item, dict) else self.typed((*path, index), item)} is listed twice in {where(path, self.data)}",
                    "remove the second one",
                )
            seen.add(same)

    def on_minimum(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        yield self.bound(path, value, schema, f"at least {schema['minimum']}")

    def on_exclusiveMinimum(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        yield self.bound(path, value, schema, f"more than {schema['exclusiveMinimum']}")

    def on_maximum(
        self, path: Path, value: Any, schema: dict[str, Any], error: ValidationError
    ) -> Iterator[Diagnostic]:
        yield self.bound(path, value, schema, f"at most {schema['maximum']}")

    def bound(self, path: Path, value: Any, schema: dict[str, Any], limit: str) -> Diagnostic:
        return self.make(
            "invalid-value",
            path,
            f"{where(path, self.data)} is {self.typed(path, value)}, but it must be {limit}",
            self.described(schema),
        )

    def bad_name(self, path: Path, name: str, schema: dict[str, Any]) -> Diagnostic:
        rule = schema.get("x-ivrflow-rule", "invalid-value")
        child = (*path, name)
        if rule == "bad-digit":
            return self.make(
                rule,
                child,
                f"`{name}` is not a key the caller can press",
                "a choice is one key: a digit from 0 to 9, or `*` or `#` (live calls only)",
                at_key=True,
            )
        if rule == "unknown-language":  # a text per language, under a tag Telesign has no voice for
            return self.custom(rule, child, name, schema, at_key=True)
        return self.make(
            rule,
            child,
            f"`{name}` cannot be used as a name in {where(path, self.data)}",
            self.described(schema),
            at_key=True,
        )

    def custom(self, rule: str, path: Path, value: Any, schema: dict[str, Any], *, at_key: bool = False) -> Diagnostic:
        typed = f"`{value}`" if at_key else self.typed(path, value)
        if rule == "bad-digit":
            return self.make(
                rule,
                path,
                f"{where(path, self.data)} is {typed}, which is not a key the caller can press",
                "use one digit from 0 to 9",
            )
        if rule == "phone-number":
            return self.make(
                rule,
                path,
                f"{where(path, self.data)} is {typed}, which is not a phone number Telesign accepts",
                f"write {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits with the country code and no spaces or dashes, like `15554441313` or `+15554441313`",
            )
        if rule == "unknown-language":
            options = [str(option) for option in schema["enum"]]
            hint = suggestion(str(value), options) + "Telesign speaks: " + ", ".join(options) + "."
            if not typed.startswith("`"):  # a list, a group of keys: not a language at all
                return self.make(
                    rule,
                    path,
                    f"{where(path, self.data)} must be a language tag such as `en-US`, but it is {typed}",
                    hint,
                )
            return self.make(rule, path, f"Telesign has no voice for the language {typed}", hint, at_key=at_key)
        return self.make(
            rule, path, f"{where(path, self.data)} is {typed}, which is not allowed here", self.described(schema)
        )


_FIRST = ("not-a-flow", "unknown-key", "missing-key", "wrong-type")


def _relevance(diagnostic: Diagnostic) -> int:
    """Where one location has several problems, the one the author can act on first wins."""
    return _FIRST.index(diagnostic.rule) if diagnostic.rule in _FIRST else len(_FIRST)


def schema_diagnostics(document: Document) -> list[Diagnostic]:
    """Check a parsed flow against the flow schema: one best diagnostic per location."""
    translator = _Translator(document)
    best: dict[tuple[int, int, str], Diagnostic] = {}
    for error in flow_errors(document.data):
        for diagnostic in translator.translate(error):
            # Several keys can be missing from one mapping, all reported at its key, so their message is
            # part of the place; any other position gets only its most relevant problem.
            place = (
                diagnostic.span.line,
                diagnostic.span.column,
                diagnostic.message if diagnostic.rule == "missing-key" else "",
            )
            if place not in best or _relevance(diagnostic) < _relevance(best[place]):
                best[place] = diagnostic
    return list(best.values())


def _inline(item: dict[str, Any]) -> str:
    """A mapping as it could be written on one line: `{ number: 15558670011, language: es-MX }`."""
    return "`{ " + ", ".join(f"{key}: {value}" for key, value in item.items()) + " }`"
