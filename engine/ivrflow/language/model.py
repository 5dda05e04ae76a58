"""The flow model: an immutable, typed picture of one flow file, built once by the loader.

Everything downstream (semantic rules, the v1 compiler, the interpreter, the simulator) reads
this model and never the YAML. Each node remembers where it and each of its keys were written,
so that any later check can still point at a line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ivrflow.language.branches import build_branch
from ivrflow.language.diagnostics import Span
from ivrflow.language.http_node import Http, build_http
from ivrflow.language.nodes import Node as Node  # re-exported: every node type is a Node
from ivrflow.language.nodes import as_text as _as_text
from ivrflow.language.schedules import Schedule, read_schedules
from ivrflow.language.texts import used_names
from ivrflow.language.yamlstrict import SourceMap
from ivrflow.telesign.facts import (
    DEFAULT_LANGUAGE,
    DEFAULT_MESSAGE_TYPE,
    V1_MENU_CHANCES,
    V1_PROMPT_CHANCES,
    V1_REPEAT_MAX,
)

# Live defaults that equal Telesign v1's fixed behaviour (flow-language.md), except TIMEOUT:
# v1 does not document how long it waits for a key, so 5 s is the engine's own choice.
DEFAULT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = V1_MENU_CHANCES
DEFAULT_REPEAT_MAX = V1_REPEAT_MAX
PROMPT_CHANCES = V1_PROMPT_CHANCES
BUILTIN_VARS = ("called", "caller")
# collect_digits has no v1 counterpart to match, so its default is the engine's own: three tries,
# as most phone lines give for a number typed in.
DEFAULT_COLLECT_ATTEMPTS = 3
CONFIRM_YES, CONFIRM_AGAIN = "1", "2"  # the keys of a collect_digits read-back
END_KEYS = ("#", "*")


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt(Node):
    message: str
    digit: str
    next: str
    on_fail: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next
        if self.on_fail:
            yield "on_fail", self.on_fail

    def texts(self) -> Iterator[tuple[str, str]]:
        yield "message", self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class Menu(Node):
    """A `select_digits` node."""

    message: str
    choices: Mapping[str, str]
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    no_input: str | None = None
    invalid: str | None = None
    on_fail: str | None = None
    choice_spans: Mapping[str, Span] = field(default_factory=dict)  # the digits
    target_spans: Mapping[str, Span] = field(default_factory=dict)  # the node names they lead to

    def targets(self) -> Iterator[tuple[str, str]]:
        yield from self.choices.items()
        if self.on_fail:
            yield "on_fail", self.on_fail

    def texts(self) -> Iterator[tuple[str, str]]:
        yield "message", self.message
        if self.no_input:
            yield "no_input", self.no_input
        if self.invalid:
            yield "invalid", self.invalid

    def choice_span(self, digit: str) -> Span:
        return self.choice_spans.get(digit, self.key_span("choices"))

    def target_span(self, digit: str) -> Span:
        return self.target_spans.get(digit, self.key_span("choices"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeat(Node):
    message: str | None = None
    max: int = DEFAULT_REPEAT_MAX

    def texts(self) -> Iterator[tuple[str, str]]:
        if self.message:
            yield "message", self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Node):
    """A `tts_message` node."""

    message: str
    next: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        if self.next:
            yield "next", self.next

    def texts(self) -> Iterator[tuple[str, str]]:
        yield "message", self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(Node):
    to: str
    caller_id: str | None = None
    max_call_duration: int | None = None
    send_dtmf: str | None = None
    on_fail: str | None = None  # where the call goes when the transfer is not answered or refused
    next: str | None = None  # where the caller goes when the other side hangs up first

    def targets(self) -> Iterator[tuple[str, str]]:
        if self.next:
            yield "next", self.next
        if self.on_fail:
            yield "on_fail", self.on_fail


@dataclass(frozen=True, slots=True, kw_only=True)
class Collect(Node):
    """A `collect_digits` node: several keys, checked, optionally read back, saved as `save_as`."""

    message: str
    save_as: str
    next: str
    min_length: int
    max_length: int
    end_key: str | None = None
    pattern: str | None = None  # `valid`: one of these three, or none
    luhn: bool = False
    between: tuple[int, int] | None = None
    attempts: int = DEFAULT_COLLECT_ATTEMPTS
    no_input: str | None = None
    invalid: str | None = None
    confirm: str | None = None
    sensitive: bool = False
    on_fail: str | None = None

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next
        if self.on_fail:
            yield "on_fail", self.on_fail

    def texts(self) -> Iterator[tuple[str, str]]:
        yield "message", self.message
        for key in ("no_input", "invalid", "confirm"):
            text = getattr(self, key)
            if text:
                yield key, text

    @property
    def most_keys(self) -> int:
        """How many keys to ask Telesign for: the longest entry, and its end key."""
        return self.max_length + (1 if self.end_key else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hangup(Node):
    message: str | None = None

    def texts(self) -> Iterator[tuple[str, str]]:
        if self.message:
            yield "message", self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """One flow file, checked and ready to run."""

    id: str
    path: str
    version: str  # content hash of the file: a call keeps the version it started with
    language: str
    message_type: str
    nodes: Mapping[str, Node]
    start: str
    description: str = ""
    lifecycle_event: str | None = None
    caller_id: str | None = None
    numbers: tuple[str, ...] = ()
    notify: str | None = None  # where the notice of each ended call is posted (else serve --notify)
    vars: Mapping[str, str] = field(default_factory=dict)
    sensitive: frozenset[str] = frozenset()  # declared vars and save_as names whose values are masked
    start_span: Span | None = None
    var_spans: Mapping[str, Span] = field(default_factory=dict)
    number_spans: tuple[Span, ...] = ()
    id_span: Span = Span(1, 1, 1, 2)  # noqa: RUF009 (a Span is frozen: one shared default is safe)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)

    @property
    def start_node(self) -> Node:
        return self.nodes[self.start]

    def saved(self) -> dict[str, Node]:
        """The variables set during a call (`save_as`, an `http` node's `save`), each with the first
        node that sets it."""
        found: dict[str, Node] = {}
        for node in self.nodes.values():
            if isinstance(node, Collect):
                found.setdefault(node.save_as, node)
            elif isinstance(node, Http):
                for name in node.save:
                    found.setdefault(name, node)
        return found

    def masked(self, text: str) -> bool:
        """Whether `text` says a sensitive value."""
        return bool(self.sensitive and used_names(text) & self.sensitive)


@dataclass(frozen=True, slots=True)
class MessageRun:
    """A straight run of `tts_message` nodes, heard as one text (flow-language.md), with the last
    words of a `hangup` that closes it."""

    texts: tuple[str, ...]
    last: Message | Hangup | None  # the last node of the run; None when the first is no message
    leads_to: Node | None  # the node the run goes on to; None when the call ends after it
    broken: bool = False  # it runs into a missing node or into itself (lint reports both)


def message_run(flow: Flow, name: str) -> MessageRun:
    """The run of messages starting at node `name`. The live interpreter speaks it as one text
    and the v1 compiler sends it as one message: one definition keeps the two the same."""
    texts: list[str] = []
    last: Message | Hangup | None = None
    seen: set[str] = set()
    current: str | None = name
    while current is not None:
        node = flow.nodes.get(current)
        if node is None or current in seen:
            return MessageRun(tuple(texts), last, None, broken=True)
        seen.add(current)
        if isinstance(node, Hangup):
            return MessageRun((*texts, node.message) if node.message else tuple(texts), node, None)
        if not isinstance(node, Message):
            return MessageRun(tuple(texts), last, node)
        texts.append(node.message)
        last, current = node, node.next
    return MessageRun(tuple(texts), last, None)


def digits_only(number: str) -> str:
    """A phone number as Telesign wants it: digits only, country code first."""
    return number.lstrip("+")


def _text(data: dict[str, Any], key: str, source: SourceMap, path: tuple[str | int, ...]) -> str | None:
    if data.get(key) is None:
        return None
    return _as_text(data[key], source.typed.get((*path, key)))


def _build_node(name: str, data: dict[str, Any], source: SourceMap) -> Node:
    path = ("nodes", name)
    common: dict[str, Any] = {
        "name": name,
        "type": data["type"],
        "span": source.key(path),
        "key_spans": MappingProxyType({key: source.key((*path, key)) for key in data}),
        "value_spans": MappingProxyType({key: source.value((*path, key)) for key in data}),
    }

    def text(key: str) -> str | None:
        return _text(data, key, source, path)

    kind = data["type"]
    if kind == "prompt":
        return Prompt(
            **common, message=data["message"], digit=text("digit") or "", next=data["next"], on_fail=data.get("on_fail")
        )
    if kind == "select_digits":
        choices = dict(data["choices"])
        return Menu(
            **common,
            message=data["message"],
            choices=MappingProxyType(choices),
            choice_spans=MappingProxyType({digit: source.key((*path, "choices", digit)) for digit in choices}),
            target_spans=MappingProxyType({digit: source.value((*path, "choices", digit)) for digit in choices}),
            timeout=float(data.get("timeout", DEFAULT_TIMEOUT)),
            attempts=int(data.get("attempts", DEFAULT_ATTEMPTS)),
            no_input=data.get("no_input"),
            invalid=data.get("invalid"),
            on_fail=data.get("on_fail"),
        )
    if kind == "repeat":
        return Repeat(**common, message=data.get("message"), max=int(data.get("max", DEFAULT_REPEAT_MAX)))
    if kind == "tts_message":
        return Message(**common, message=data["message"], next=data.get("next"))
    if kind == "dial":
        duration = data.get("max_call_duration")
        return Dial(
            **common,
            to=text("to") or "",
            caller_id=text("caller_id"),
            max_call_duration=int(duration) if duration is not None else None,
            send_dtmf=text("send_dtmf"),
            on_fail=data.get("on_fail"),
            next=data.get("next"),
        )
    if kind == "collect_digits":
        return _build_collect(common, data, text("end_key"))
    if kind == "http":
        return build_http(common, data, source, path)
    if kind == "branch":
        return build_branch(common, data, source)
    return Hangup(**common, message=data.get("message"))


def _build_collect(common: dict[str, Any], data: dict[str, Any], end_key: str | None) -> Collect:
    length = data.get("length")
    least, most = (
        (length, length)
        if length is not None
        else (data.get("min_length", 1), data.get("max_length", data.get("min_length", 1)))
    )
    valid: dict[str, Any] = data.get("valid") or {}
    between = valid.get("between")
    return Collect(
        **common,
        message=data["message"],
        save_as=data["save_as"],
        next=data["next"],
        min_length=int(least),
        max_length=int(most),
        end_key=end_key,
        pattern=str(valid["pattern"]) if valid.get("pattern") is not None else None,
        luhn=valid.get("luhn") is True,
        between=(int(between[0]), int(between[1])) if isinstance(between, list) and len(between) == 2 else None,
        attempts=int(data.get("attempts", DEFAULT_COLLECT_ATTEMPTS)),
        no_input=data.get("no_input"),
        invalid=data.get("invalid"),
        confirm=data.get("confirm"),
        sensitive=data.get("sensitive") is True,
        on_fail=data.get("on_fail"),
    )


def _var_default(data: dict[str, Any], name: str, source: SourceMap) -> str:
    """A declared var's default: the var itself (`drug: "x"`) or its mapping's `default`."""
    value = data["vars"][name]
    if isinstance(value, dict):
        return _text(value, "default", source, ("vars", name)) or ""
    return _text(data["vars"], name, source, ("vars",)) or ""


def build_flow(data: dict[str, Any], source: SourceMap, *, path: str, version: str) -> Flow:
    """The model of a flow whose data has passed the schema."""
    nodes = {name: _build_node(name, node, source) for name, node in data["nodes"].items()}
    numbers = tuple(_as_text(n, source.typed.get(("numbers", i))) for i, n in enumerate(data.get("numbers", [])))
    variables = {name: _var_default(data, name, source) for name in data.get("vars", {})}
    sensitive = {
        name
        for name, value in data.get("vars", {}).items()
        if isinstance(value, dict) and value.get("sensitive") is True
    }
    sensitive |= {node.save_as for node in nodes.values() if isinstance(node, Collect) and node.sensitive}
    return Flow(
        id=data["flow"],
        path=path,
        version=version,
        description=data.get("description", ""),
        language=data.get("language", DEFAULT_LANGUAGE),
        message_type=data.get("message_type", DEFAULT_MESSAGE_TYPE),
        lifecycle_event=data.get("lifecycle_event"),
        caller_id=_text(data, "caller_id", source, ()),
        numbers=numbers,
        notify=data.get("notify"),
        vars=MappingProxyType(variables),
        sensitive=frozenset(sensitive),
        nodes=MappingProxyType(nodes),
        start=data.get("start") or next(iter(nodes)),
        start_span=source.values.get(("start",)),
        var_spans=MappingProxyType({name: source.key(("vars", name)) for name in variables}),
        number_spans=tuple(source.value(("numbers", i)) for i in range(len(numbers))),
        id_span=source.value(("flow",)),
        schedules=read_schedules(data, source),
    )
