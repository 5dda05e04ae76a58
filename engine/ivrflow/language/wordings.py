"""The words of a flow in each of its languages.

A message is one text (a flow in one language) or a mapping of each language of the flow to its
text (`message: { en-US: "Goodbye.", es-MX: "Adiós." }`). The nodes of the model hold the texts of
the flow's first language; every text as written, in every language, is a `Wording`, and
`speak_in` gives the nodes as they are in another language. So the interpreter, the simulator and
the v1 compiler read one language at a time and never see a mapping, and the rules that read words
(the keys a menu names, a message's length) run once per language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from ivrflow.language.diagnostics import Span
from ivrflow.language.nodes import Node
from ivrflow.language.yamlstrict import SourceMap

# The keys of a node that the caller hears, and so may be written per language. A
# `select_language` node's message is one line per language by nature: not a wording.
TEXT_KEYS = ("message", "no_input", "invalid", "confirm", "hold")
SELECT_LANGUAGE = "select_language"


@dataclass(frozen=True, slots=True)
class Wording:
    """One text of one node as written: `texts` by language (a plain text is in the flow's first
    language), `spans` where each language's text was written."""

    node: str
    key: str
    texts: Mapping[str, str]
    spans: Mapping[str, Span]
    per_language: bool  # written as a mapping of languages, rather than one plain text


def read_wordings(nodes: dict[str, Any], source: SourceMap, default: str) -> tuple[dict[str, Any], list[Wording]]:
    """The nodes' data with each text in the `default` language (empty when it has none: lint says
    so), and every text as written."""
    plain: dict[str, Any] = {}
    found: list[Wording] = []
    for name, data in nodes.items():
        if not isinstance(data, dict) or data.get("type") == SELECT_LANGUAGE:
            plain[name] = data
            continue
        changed = dict(data)
        for key in TEXT_KEYS:
            value = data.get(key)
            path = ("nodes", name, key)
            if isinstance(value, dict):
                texts = {str(language): str(text) for language, text in value.items()}
                spans = {language: source.value((*path, language)) for language in texts}
                found.append(Wording(name, key, MappingProxyType(texts), MappingProxyType(spans), True))
                changed[key] = texts.get(default, "")
            elif isinstance(value, str):
                found.append(Wording(name, key, {default: value}, {default: source.value(path)}, False))
        plain[name] = changed
    return plain, found


def speak_in(nodes: Mapping[str, Node], wordings: tuple[Wording, ...], language: str) -> dict[str, Node]:
    """The nodes with their texts in `language`, each text's place the one of its translation. A
    text with no translation stays as it is (lint reports it as missing)."""
    changes: dict[str, dict[str, Any]] = {}
    for wording in wordings:
        if language in wording.texts:
            node = nodes[wording.node]
            node_changes = changes.setdefault(wording.node, {"value_spans": dict(node.value_spans)})
            node_changes[wording.key] = wording.texts[language]
            node_changes["value_spans"][wording.key] = wording.spans[language]
    spoken = dict(nodes)
    for name, node_changes in changes.items():
        node_changes["value_spans"] = MappingProxyType(node_changes["value_spans"])
        spoken[name] = replace(nodes[name], **node_changes)
    return spoken
