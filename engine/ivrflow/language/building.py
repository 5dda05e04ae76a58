"""Building the flow model from a flow file's data, once it has passed the schema."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ivrflow.language.branches import build_branch
from ivrflow.language.diagnostics import Span
from ivrflow.language.http_node import build_http
from ivrflow.language.language_menu import build_language_menu
from ivrflow.language.model import (
    DEFAULT_ATTEMPTS,
    DEFAULT_COLLECT_ATTEMPTS,
    DEFAULT_REPEAT_MAX,
    DEFAULT_TIMEOUT,
    Collect,
    Dial,
    Flow,
    Hangup,
    Menu,
    Message,
    Node,
    Prompt,
    Repeat,
)
from ivrflow.language.nodes import as_text as _as_text
from ivrflow.language.schedules import read_schedules
from ivrflow.language.wordings import read_wordings, speak_in
from ivrflow.language.yamlstrict import SourceMap
from ivrflow.telesign.facts import DEFAULT_LANGUAGE, DEFAULT_MESSAGE_TYPE


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
    if kind == "select_language":
        return build_language_menu(common, data, source)
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
    languages = tuple(data.get("languages") or (data.get("language", DEFAULT_LANGUAGE),))
    plain, wordings = read_wordings(data["nodes"], source, languages[0])
    built = {name: _build_node(name, node, source) for name, node in plain.items()}
    # A text written per language is found at its first language's line (a plain one already is).
    nodes = speak_in(built, tuple(w for w in wordings if w.per_language), languages[0])
    numbers, number_spans, number_languages = _numbers(data, source)
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
        language=languages[0],
        languages=languages,
        language_span=source.key(("language",)) if "language" in data and "languages" in data else None,
        wordings=tuple(wordings),
        message_type=data.get("message_type", DEFAULT_MESSAGE_TYPE),
        lifecycle_event=data.get("lifecycle_event"),
        caller_id=_text(data, "caller_id", source, ()),
        numbers=numbers,
        number_languages=MappingProxyType(number_languages),
        notify=data.get("notify"),
        vars=MappingProxyType(variables),
        sensitive=frozenset(sensitive),
        nodes=MappingProxyType(nodes),
        start=data.get("start") or next(iter(nodes)),
        start_span=source.values.get(("start",)),
        var_spans=MappingProxyType({name: source.key(("vars", name)) for name in variables}),
        number_spans=number_spans,
        id_span=source.value(("flow",)),
        schedules=read_schedules(data, source),
    )


def _numbers(data: dict[str, Any], source: SourceMap) -> tuple[tuple[str, ...], tuple[Span, ...], dict[str, str]]:
    """The flow's numbers, where each is written, and the language of those that start in one
    (`{ number: "15558670002", language: es-MX }`)."""
    numbers: list[str] = []
    spans: list[Span] = []
    languages: dict[str, str] = {}
    for i, entry in enumerate(data.get("numbers", [])):
        path: tuple[str | int, ...] = ("numbers", i, "number") if isinstance(entry, dict) else ("numbers", i)
        number = _as_text(entry["number"] if isinstance(entry, dict) else entry, source.typed.get(path))
        numbers.append(number)
        spans.append(source.value(path))
        if isinstance(entry, dict):
            languages[number] = str(entry["language"])
    return tuple(numbers), tuple(spans), languages
