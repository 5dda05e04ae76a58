"""Semantic rules for what a call takes and keeps: collect_digits entries, the variables they set,
sensitive values, and transfers that fail. Each rule is one function of the checker, as in
rules.py, which runs them with its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ivrflow.language.dataflow import missing_path, must_be_set, path_words
from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.http_node import Http, without_secrets
from ivrflow.language.model import BUILTIN_VARS, CONFIRM_AGAIN, CONFIRM_YES, Collect, Dial, Node
from ivrflow.language.texts import VARIABLE

if TYPE_CHECKING:
    from ivrflow.language.rules import Checker


def _collects(check: Checker) -> Iterator[Collect]:
    return (node for node in check.flow.nodes.values() if isinstance(node, Collect))


def collect_length(check: Checker) -> Iterator[Diagnostic]:
    for node in _collects(check):
        given = [key for key in ("length", "min_length", "max_length") if key in node.key_spans]
        where = f"collect_digits node `{node.name}`"
        if "length" in given and len(given) > 1:
            other = given[1]
            yield Diagnostic(
                "collect-length",
                node.key_span(other),
                f"{where} has both `length` and `{other}`",
                f"give `length` for an exact number of digits, or `min_length` and `max_length` for a range, not both; remove `{other}` or `length`",
            )
        elif not given:
            yield Diagnostic(
                "collect-length",
                node.span,
                f"{where} does not say how many digits to take",
                "add `length: 7` for exactly 7 digits, or `min_length` and `max_length` for a range",
            )
        elif "length" not in given and len(given) == 1:
            missing = "max_length" if given[0] == "min_length" else "min_length"
            yield Diagnostic(
                "collect-length",
                node.key_span(given[0]),
                f"{where} has `{given[0]}` but no `{missing}`",
                f"add `{missing}`, or write `length` for an exact number of digits",
            )
        elif node.min_length > node.max_length:
            yield Diagnostic(
                "collect-length",
                node.value_span("min_length"),
                f"{where} takes at least {node.min_length} digits but at most {node.max_length}",
                "make `min_length` no larger than `max_length`",
            )


def collect_valid(check: Checker) -> Iterator[Diagnostic]:
    for node in _collects(check):
        where = f"`valid` of collect_digits node `{node.name}`"
        span = node.value_span("valid")
        if node.pattern is not None:
            try:
                re.compile(node.pattern)
            except re.error as problem:
                yield Diagnostic(
                    "collect-valid",
                    span,
                    f"{where}: the pattern `{node.pattern}` is not a regular expression: {problem}",
                    'write a regular expression the whole entry must match, such as "[1-9][0-9]*"',
                )
        if node.between is not None:
            low, high = node.between
            if low > high:
                yield Diagnostic(
                    "collect-valid",
                    span,
                    f"{where}: `between` goes from {low} down to {high}, so no entry passes",
                    f"write the low number first: [{high}, {low}]",
                )
            elif len(str(low)) > node.max_length:
                yield Diagnostic(
                    "collect-valid",
                    span,
                    f"{where}: no entry of at most {node.max_length} digits is {low} or more",
                    "raise `max_length`, or lower the numbers of `between`",
                )
        if node.luhn and node.max_length < 2:
            yield Diagnostic(
                "collect-valid",
                span,
                f"{where}: a Luhn check needs at least 2 digits, but the entry has at most {node.max_length}",
                "raise the length, or remove `luhn`",
            )


def confirm_keys(check: Checker) -> Iterator[Diagnostic]:
    """A read-back takes 1 (right) and 2 (again): its words must say so."""
    if not check.reads_keys:
        return
    for node in _collects(check):
        if node.confirm is None:
            continue
        said = check.said(node.confirm)
        span = node.value_span("confirm")
        for key in sorted(said - {CONFIRM_YES, CONFIRM_AGAIN}):
            message = f"{check.the}read-back of `{node.name}` tells the caller to press {key}, but a read-back takes only {CONFIRM_YES} (right) and {CONFIRM_AGAIN} (enter it again)"
            yield Diagnostic(
                "menu-key-not-handled",
                check.within(span, key),
                message,
                f'say "Press {CONFIRM_YES} if that is right, or {CONFIRM_AGAIN} to enter it again."',
            )
        for key, meaning in ((CONFIRM_YES, "that is right"), (CONFIRM_AGAIN, "to enter it again")):
            if key not in said:
                yield Diagnostic(
                    "menu-key-not-mentioned",
                    span,
                    f"{check.the}read-back of `{node.name}` never says to press {key} ({meaning})",
                    f'say "Press {CONFIRM_YES} if that is right, or {CONFIRM_AGAIN} to enter it again."',
                )


def _uses(node: Node) -> Iterator[tuple[str, str, re.Match[str]]]:
    """(key, text, match) for each variable a node's words (or a dial's numbers) use."""
    for key, text in node.texts():
        for match in VARIABLE.finditer(text):
            yield key, text, match
    if isinstance(node, Dial):
        for key, text in (("to", node.to), ("caller_id", node.caller_id or "")):
            for match in VARIABLE.finditer(text):
                yield key, text, match
    if isinstance(node, Http):
        for key, text in node.templates():
            for match in VARIABLE.finditer(without_secrets(text)):
                yield key, text, match


def save_as_name(check: Checker) -> Iterator[Diagnostic]:
    for node in _collects(check):
        name = node.save_as
        if name in check.flow.vars:
            yield Diagnostic(
                "save-as-name",
                node.value_span("save_as"),
                f"`save_as` of `{node.name}` is `{name}`, a variable already declared under `vars`",
                f"give the entry its own name, such as `{name}_entered`, or remove `{name}` from `vars`",
            )
        elif name in BUILTIN_VARS:
            yield Diagnostic(
                "save-as-name",
                node.value_span("save_as"),
                f"`save_as` of `{node.name}` is `{name}`, the built-in variable that holds the call's own number",
                f"give the entry its own name, such as `{name}_number`",
            )


def unset_variable(check: Checker) -> Iterator[Diagnostic]:
    flow = check.flow
    saved = {name: node for name, node in flow.saved().items() if name not in flow.vars and name not in BUILTIN_VARS}
    if not saved:
        return
    arriving = must_be_set(flow)
    for name, have in arriving.items():
        node = flow.nodes[name]
        seen: set[tuple[str, str]] = set()
        for key, _, match in _uses(node):
            variable = match.group(1)
            own = (
                isinstance(node, Collect) and key == "confirm" and node.save_as == variable
            )  # a read-back says the entry it reads back
            if variable not in saved or variable in have or own or (key, variable) in seen:
                continue
            seen.add((key, variable))
            path = missing_path(flow, variable, name)
            setter = saved[variable].name
            what = "an entry" if isinstance(saved[variable], Collect) else "a value"
            way = f": for example {path_words(path)}" if path else ""
            message = f"`{variable}` may have no value in {key} of node `{name}`: a call can get here without {what} saved by `{setter}`{way}"
            hint = f"use `{variable}` only after `{setter}` on every way here (its `on_fail` way saves nothing; an http node's `on_error` way neither), or say something else on the ways that skip it"
            yield Diagnostic("unset-variable", check.within(node.value_span(key), match.group(0)), message, hint)


def sensitive_spoken(check: Checker) -> Iterator[Diagnostic]:
    """An entry marked sensitive may be spoken back only in a read-back (`confirm`)."""
    secret = {node.save_as: node for node in _collects(check) if node.sensitive}
    if not secret:
        return
    for node in check.flow.nodes.values():
        for key, _, match in _uses(node):
            name = match.group(1)
            if name in secret and key not in ("confirm", "url", "body"):  # said back, or sent to a lookup
                where = f"{key} of node `{node.name}`"
                message = f"`{name}` is a sensitive entry (`{secret[name].name}`), but {where} would say it"
                yield Diagnostic(
                    "sensitive-spoken",
                    check.within(node.value_span(key), match.group(0)),
                    message,
                    "say a sensitive entry back only in a `confirm`; elsewhere, say something that does not contain it",
                )


def dial_on_fail(check: Checker) -> Iterator[Diagnostic]:
    if check.english:
        return  # the engine's own words after a failed transfer are English
    for node in check.flow.nodes.values():
        if isinstance(node, Dial) and node.on_fail is None:
            message = f"if nobody answers the transfer of `{node.name}`, the caller hears the engine's English words before the call ends, in this {check.flow.language} flow"
            yield Diagnostic(
                "dial-no-on-fail",
                node.span,
                message,
                "add `on_fail:` naming a node that says, in the flow's language, that the call could not be put through",
            )


# The rules here that read a flow's words: run again for each of its other languages.
WORD_CALL_CHECKS = (confirm_keys, sensitive_spoken, dial_on_fail)
CALL_CHECKS = (
    collect_length,
    collect_valid,
    confirm_keys,
    save_as_name,
    unset_variable,
    sensitive_spoken,
    dial_on_fail,
)
