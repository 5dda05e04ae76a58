"""schemas/flow.schema.json helps editors: every key described, every bundled flow points at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema

from conftest import FLOWS
from ivrflow.language.lint import flow_files
from ivrflow.language.schema_files import load_schema

MODELINE = "# yaml-language-server: $schema=../schemas/flow.schema.json"


def _properties(schema: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for key, sub in schema.items():
            if key != "properties":
                yield from _properties(sub, f"{where}/{key}")
        for name, sub in schema.get("properties", {}).items():
            yield from _properties(sub, f"{where}.{name}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from _properties(sub, f"{where}[{index}]")


def test_schema_is_valid_draft_07() -> None:
    schema = load_schema("flow")
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


def test_every_key_has_a_description() -> None:
    schema = load_schema("flow")
    # `if` conditions pick a node type; they are not keys an author writes.
    missing = [where for where, sub in _properties(schema) if not sub.get("description") and "/if" not in where]
    assert missing == []
    for name, definition in schema["definitions"].items():
        assert definition.get("description"), name


def test_every_node_type_has_a_definition() -> None:
    schema = load_schema("flow")
    types = schema["definitions"]["node"]["properties"]["type"]["enum"]
    assert sorted(types) == sorted(t for t in schema["definitions"] if t in types)


def test_bundled_flows_start_with_the_schema_modeline() -> None:
    flows = sorted(flow_files([FLOWS]))
    assert len(flows) >= 4
    for flow in flows:
        assert flow.read_text().splitlines()[0] == MODELINE, flow.name


def _errors(found: Any) -> set[tuple[tuple[Any, ...], str, str]]:
    return {(tuple(error.absolute_path), str(error.validator), error.message) for error in found}


def test_fast_node_dispatch_reports_exactly_what_the_full_schema_reports() -> None:
    """The linter validates each node against its own type's definition (for speed); on every
    example flow that must give the very errors the whole schema file gives."""
    from conftest import EXAMPLES
    from ivrflow.language.schema_files import flow_errors, validator
    from ivrflow.language.yamlstrict import parse

    documents = [
        parse(p.read_text(errors="replace")) for p in sorted(EXAMPLES.rglob("*.yaml")) + sorted(flow_files([FLOWS]))
    ]
    documents.append(
        parse("flow: x\nnodes:\n  a: 5\n  b: {type: nope}\n  c: {}\n  d: {type: prompt, digit: 12, extra: 1}\n")
    )
    compared = 0
    for document in documents:
        if document.data is None:
            continue
        assert _errors(flow_errors(document.data)) == _errors(validator("flow").iter_errors(document.data))
        compared += 1
    assert compared > 30
