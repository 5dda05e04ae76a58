"""The flow model: an immutable, typed picture of one flow file, built once by the loader.

Everything downstream (semantic rules, the v1 compiler, the interpreter, the simulator) reads
this model and never the YAML. Each node remembers where it and each of its keys were written,
so that any later check can still point at a line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ivrflow.language.diagnostics import Span
from ivrflow.language.http_node import Http
from ivrflow.language.nodes import Node as Node  # re-exported: every node type is a Node
from ivrflow.language.schedules import Schedule
from ivrflow.language.texts import used_names
from ivrflow.language.wordings import Wording, speak_in
from ivrflow.telesign.facts import (
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
    language: str  # the language its texts are in: the first of `languages`, or the one `speaking` gave
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
    languages: tuple[str, ...] = ()  # every language of the flow, the first the default
    wordings: tuple[Wording, ...] = ()  # every text as written, in every language
    number_languages: Mapping[str, str] = field(default_factory=dict)  # number → the language its calls start in
    language_span: Span | None = None  # where `language` was written, when `languages` was written too
    _spoken: dict[str, Flow] = field(default_factory=dict, compare=False, repr=False)  # speaking()'s views

    @property
    def start_node(self) -> Node:
        return self.nodes[self.start]

    def speaking(self, language: str) -> Flow:
        """This flow with its texts in `language`; itself for its own language, "" or a language
        it does not have."""
        if language == self.language or language not in self.languages:
            return self
        view = self._spoken.get(language)
        if view is None:
            nodes = MappingProxyType(speak_in(self.nodes, self.wordings, language))
            view = self._spoken[language] = replace(self, language=language, nodes=nodes)
        return view

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
