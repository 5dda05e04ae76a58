"""The JSON Schemas under schemas/: each loaded once, its validator, and the flow schema split by
node type for speed. schema.py says their errors in plain words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path as FilePath
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = FilePath(__file__).parent.parent / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in the package, such as `flow` for schemas/flow.schema.json."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return schema


@cache
def validator(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(load_schema(name), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def inline_refs(schema: Any, definitions: dict[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its definition; a sibling `description`
    (ignored by draft-07 validation) is kept, as it is the more specific help text."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = inline_refs(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions)
            return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return {key: inline_refs(value, definitions) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inline_refs(item, definitions) for item in schema]
    return schema


@cache
def _flow_validators() -> tuple[jsonschema.Draft7Validator, dict[str, jsonschema.Draft7Validator]]:
    """The flow schema split for speed: the flow without its nodes' type dispatch, and one
    validator per node type. Checking a node against its own type's definition is exactly what
    the schema's `if type == X then X` chain does, without trying all six conditions per node."""
    schema = load_schema("flow")
    definitions = schema["definitions"]
    top = inline_refs({k: v for k, v in schema.items() if k != "definitions"}, definitions)
    node = top["properties"]["nodes"]["additionalProperties"]
    node.pop("allOf")
    per_type = {
        kind: jsonschema.Draft7Validator(inline_refs(definitions[kind], definitions))
        for kind in node["properties"]["type"]["enum"]
    }
    return jsonschema.Draft7Validator(top), per_type


def flow_errors(data: Any) -> Iterator[ValidationError]:
    """Every error of `data` against schemas/flow.schema.json (see _flow_validators)."""
    top, per_type = _flow_validators()
    yield from top.iter_errors(data)
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        return
    for name, node in nodes.items():
        kind = node.get("type") if isinstance(node, dict) else None
        if isinstance(kind, str) and kind in per_type:
            for error in per_type[kind].iter_errors(node):
                error.path.extendleft((name, "nodes"))
                yield error
