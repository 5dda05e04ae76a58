"""A flow as a diagram: Mermaid (pastes into GitHub Markdown) or Graphviz dot.

Each node is labelled with its type and the start of its message; each edge with what takes the
call along it: a key (`1`), `next`, `no input` / `invalid` (said, then asked again),
`after 3 attempts`, `after 3 repeats`, `transfer`, `after the transfer`, `not answered`, `entered (rx)`,
`answered (ready, drug)`, `no answer, not 2xx, not JSON` (an http node's lookup), a branch's tests (`office
closed`, `tier in gold, platinum`) and `otherwise`, a select_language's keys with the language each
chooses (`2: es-MX`). The call's end is one node of its own. A flow in several languages is drawn
with the texts of one of them (`Flow.speaking`), named in the title.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ivrflow.language.branches import Branch
from ivrflow.language.http_node import Http
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.model import PROMPT_CHANCES, Collect, Dial, Flow, Hangup, Menu, Message, Node, Prompt, Repeat

END = "(end)"
LABEL_WORDS = 40  # characters of a message shown in its node


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_WORDS else text[: LABEL_WORDS - 1].rstrip() + "…"


def label(node: Node, language: str = "") -> str:
    if isinstance(node, Dial):
        return f"dial: {node.to}"
    if isinstance(node, Http):
        return f"http: {node.method} {node.host or _short(node.url)}"
    if isinstance(node, LanguageMenu):  # its own line in the language drawn, else its first
        return f"{node.type}: {_short(node.lines.get(language) or next(iter(node.lines.values()), ''))}"
    message = getattr(node, "message", None)
    return f"{node.type}: {_short(message)}" if message else node.type


def edges(flow: Flow) -> Iterator[tuple[str, str, str]]:
    """(from, to, label) for every way the call can move; END for the end of the call."""
    repeats_of: dict[str, str] = {}
    for name, node in flow.nodes.items():
        if isinstance(node, Prompt):
            yield name, node.next, node.digit
            yield name, node.on_fail or END, f"after {PROMPT_CHANCES} tries"
        elif isinstance(node, Menu):
            for key, target in node.choices.items():
                yield name, target, key
                if isinstance(flow.nodes.get(target), Repeat):
                    repeats_of.setdefault(target, name)
            if node.no_input:
                yield name, name, "no input"
            if node.invalid:
                yield name, name, "invalid"
            yield name, node.on_fail or END, f"after {node.attempts} attempt{'s' if node.attempts != 1 else ''}"
        elif isinstance(node, Message):
            yield name, node.next or END, "next" if node.next else ""
        elif isinstance(node, Collect):
            yield name, node.next, f"entered{' and confirmed' if node.confirm else ''} ({node.save_as})"
            if node.no_input:
                yield name, name, "no input"
            if node.invalid:
                yield name, name, "invalid"
            if node.confirm:
                yield name, name, "2: enter it again"
            yield name, node.on_fail or END, f"after {node.attempts} attempt{'s' if node.attempts != 1 else ''}"
        elif isinstance(node, Dial):  # put through: the call ends with it, or goes on when the far end hangs up
            yield (name, node.next, "after the transfer") if node.next else (name, END, "transfer")
            yield name, node.on_fail or END, "not answered"
        elif isinstance(node, Http):
            yield name, node.next, f"answered ({', '.join(node.save)})" if node.save else "answered"
            yield name, node.on_error, "no answer, not 2xx, not JSON"
        elif isinstance(node, Hangup):
            yield name, END, ""
        elif isinstance(node, LanguageMenu):  # the call goes on at `next`, in the language chosen
            for key, language in node.choices.items():
                yield name, node.next, f"{key}: {language}"
            yield name, node.next, f"after {node.attempts} attempt{'s' if node.attempts != 1 else ''}: same language"
        elif isinstance(node, Branch):  # each case labelled with its test, in the order they are tried
            for case in node.cases:
                yield name, case.go, case.when.words()
            yield name, node.otherwise, "otherwise"
    for name, node in flow.nodes.items():
        if isinstance(node, Repeat):
            menu = repeats_of.get(name)
            if menu is not None:
                yield name, menu, "repeat"
            yield name, END, f"after {node.max} repeats"


def _id(name: str) -> str:
    return "call_end" if name == END else "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _title(flow: Flow) -> str:
    """For a flow in several languages, which one its texts are drawn in; none for a flow in one
    (its diagram stays as it was)."""
    if len(flow.languages) < 2:
        return ""
    return f"{flow.id}: texts in {flow.language} (the flow speaks {', '.join(flow.languages)})"


def mermaid(flow: Flow) -> str:
    def text(value: str) -> str:
        return '"' + value.replace('"', "#quot;") + '"'

    title = _title(flow)
    head = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", "---"] if title else []
    lines = [*head, "flowchart TD", f"  %% {flow.id}: made by `ivrflow graph`"]
    for name, node in flow.nodes.items():
        start = "start: " if name == flow.start else ""
        lines.append(f"  {_id(name)}[{text(f'{start}{name} — {label(node, flow.language)}')}]")
    lines.append(f"  {_id(END)}(({text('hang up')}))")
    for source, target, on in edges(flow):
        arrow = f" -->|{text(on)}| " if on else " --> "
        lines.append(f"  {_id(source)}{arrow}{_id(target)}")
    return "\n".join(lines) + "\n"


def dot(flow: Flow) -> str:
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a dot string: double quotes, backslash escapes

    lines = [f"digraph {text(flow.id)} {{", "  node [shape=box, fontname=Helvetica];", "  edge [fontname=Helvetica];"]
    title = _title(flow)
    if title:
        lines.append(f"  labelloc=t; label={text(title)};")
    for name, node in flow.nodes.items():
        style = ", penwidth=2" if name == flow.start else ""
        lines.append(f"  {_id(name)} [label={text(name + chr(10) + label(node, flow.language))}{style}];")
    lines.append(f"  {_id(END)} [label={text('hang up')}, shape=ellipse];")
    for source, target, on in edges(flow):
        lines.append(f"  {_id(source)} -> {_id(target)}" + (f" [label={text(on)}];" if on else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"


FORMATS = {"mermaid": mermaid, "dot": dot}
