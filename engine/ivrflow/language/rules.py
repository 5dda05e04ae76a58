"""Semantic rules: what the schema cannot see, checked on the flow model.

Each rule is one function that yields diagnostics for one rule id of the catalog. All of them
are linear in the size of the flow, so a 20,000-node flow lints in about twice the time of a
10,000-node one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ivrflow.language.branches import tested_vars
from ivrflow.language.diagnostics import Diagnostic, Span, suggestion
from ivrflow.language.http_node import SECRET, Http, without_secrets
from ivrflow.language.http_rules import HTTP_CHECKS
from ivrflow.language.model import BUILTIN_VARS, Collect, Dial, Flow, Menu, Message, Node, Prompt, Repeat, message_run
from ivrflow.language.presses import knows, mentioned_digits
from ivrflow.language.rules_branches import BRANCH_CHECKS
from ivrflow.language.rules_calls import CALL_CHECKS, WORD_CALL_CHECKS
from ivrflow.language.rules_languages import LANGUAGE_CHECKS
from ivrflow.language.rules_paths import endless_loop, no_way_out, unreachable_node
from ivrflow.language.texts import BRACES, FILTERS, VARIABLE, filtered
from ivrflow.language.translations import outdated
from ivrflow.telesign.facts import MAX_MESSAGE, PHONE_DIGITS_MAX

# When checking message length, a built-in variable is as long as the longest phone number.
_BUILTIN_SAMPLE = "0" * PHONE_DIGITS_MAX


class Checker:
    """Runs every rule on one flow; `lines` is the file's text, for precise carets inside values."""

    def __init__(self, flow: Flow, lines: list[str], hosts: frozenset[str] | None = None) -> None:
        self.flow = flow
        self.lines = lines
        self.hosts = hosts  # the hosts an http node may ask (lint --allow-host); None: not checked
        self.english = flow.language.startswith("en")
        self.reads_keys = knows(flow.language)  # whether the key rules have words for its language
        # "the message", or in a flow of several languages "the es-MX message": which one is meant
        self.the = f"the {flow.language} " if len(flow.languages) > 1 else "the "

    def run(self) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for rule in RULE_CHECKS:
            found.extend(rule(self))
        seen = set(found)
        for language in self.flow.languages[1:]:  # the rules that read words, again in each other language
            other = Checker(self.flow.speaking(language), self.lines, self.hosts)
            for rule in WORD_CHECKS:
                for diagnostic in rule(other):
                    if diagnostic not in seen:  # the same problem in every language is said once
                        seen.add(diagnostic)
                        found.append(diagnostic)
        return found

    def said(self, text: str) -> set[str]:
        """The keys `text`, in the flow's language, tells the caller to press."""
        return mentioned_digits(text, self.flow.language)

    def within(self, span: Span, needle: str) -> Span:
        """The span of `needle` inside a one-line value, or the whole value when not found there."""
        if span.line != span.end_line or not 0 < span.line <= len(self.lines):
            return span
        column = self.lines[span.line - 1].find(needle, span.column - 1)
        if column < 0:
            return span
        return Span(span.line, column + 1, span.line, column + 1 + len(needle))

    def nodes(self, kind: type[Node]) -> Iterator[Node]:
        return (node for node in self.flow.nodes.values() if isinstance(node, kind))

    def target_span(self, node: Node, key: str) -> Span:
        return node.target_span(key) if isinstance(node, Menu) and key not in ("on_fail",) else node.value_span(key)


def unknown_target(check: Checker) -> Iterator[Diagnostic]:
    names = check.flow.nodes
    for node in names.values():
        for key, target in node.targets():
            if target not in names:
                where = f"choice `{key}`" if isinstance(node, Menu) and key != "on_fail" else f"`{key}`"
                hint = (
                    suggestion(target, names)
                    + "Add a node with that name under `nodes:`, or point to an existing node."
                )
                yield Diagnostic(
                    "unknown-target",
                    check.target_span(node, key),
                    f"{where} of node `{node.name}` leads to `{target}`, but there is no node `{target}`",
                    hint,
                )


def unknown_start(check: Checker) -> Iterator[Diagnostic]:
    flow = check.flow
    if flow.start not in flow.nodes:
        hint = suggestion(flow.start, flow.nodes) + "Or remove `start` to begin with the first node listed."
        yield Diagnostic(
            "unknown-start",
            flow.start_span or Span(1, 1, 1, 2),
            f"`start` is `{flow.start}`, but there is no node `{flow.start}`",
            hint,
        )


def repeat_outside_menu(check: Checker) -> Iterator[Diagnostic]:
    flow = check.flow
    chosen: set[str] = set()
    for node in flow.nodes.values():
        for key, target in node.targets():
            if not isinstance(flow.nodes.get(target), Repeat):
                continue
            if isinstance(node, Menu) and key != "on_fail":
                chosen.add(target)
            else:
                message = f"`{key}` of node `{node.name}` leads to the repeat node `{target}`, but only a menu choice can repeat a menu"
                yield Diagnostic(
                    "repeat-outside-menu",
                    node.value_span(key),
                    message,
                    'make a menu choice lead to it instead, such as `"9": ' + target + "`",
                )
    start = flow.nodes.get(flow.start)
    if isinstance(start, Repeat):
        yield Diagnostic(
            "repeat-outside-menu",
            flow.start_span or start.span,
            f"the call starts at the repeat node `{start.name}`, but there is no menu yet to repeat",
            "start at a menu, a prompt or a message",
        )
    for node in check.nodes(Repeat):
        if node.name not in chosen:
            yield Diagnostic(
                "repeat-outside-menu",
                node.span,
                f"no menu choice leads to the repeat node `{node.name}`",
                'add a choice such as `"9": ' + node.name + "` to the menu it should repeat",
            )


def menu_keys(check: Checker) -> Iterator[Diagnostic]:
    if not check.reads_keys:
        return
    for node in check.nodes(Menu):
        assert isinstance(node, Menu)
        said = check.said(node.message)
        for digit in sorted(said - set(node.choices)):
            span = check.within(node.value_span("message"), digit)
            message = f"{check.the}message of menu `{node.name}` tells the caller to press {digit}, but {digit} is not one of its choices"
            yield Diagnostic(
                "menu-key-not-handled", span, message, f'add a choice `"{digit}": some-node`, or change the message'
            )
        for digit in node.choices:
            if digit not in said:
                message = f"choice `{digit}` of menu `{node.name}` is never mentioned in {check.the}message"
                yield Diagnostic(
                    "menu-key-not-mentioned",
                    node.choice_span(digit),
                    message,
                    f'tell the caller about it, such as "press {digit} to …", or remove the choice',
                )


def prompt_digit(check: Checker) -> Iterator[Diagnostic]:
    if not check.reads_keys:
        return
    for node in check.nodes(Prompt):
        assert isinstance(node, Prompt)
        said = check.said(node.message)
        if not said:
            yield Diagnostic(
                "prompt-digit-mismatch",
                node.value_span("message"),
                f"{check.the}message of prompt `{node.name}` never says which key to press",
                f'say it, such as "Press {node.digit} to continue."',
                severity="warning",
            )
        elif node.digit not in said:
            other = ", ".join(sorted(said))
            message = f"{check.the}message of prompt `{node.name}` says to press {other}, but the prompt waits for {node.digit}"
            yield Diagnostic(
                "prompt-digit-mismatch",
                node.value_span("digit"),
                message,
                f"make them agree: change `digit` to {other}, or change the message",
            )


def _texts(check: Checker) -> Iterator[tuple[Node, str, str]]:
    for node in check.flow.nodes.values():
        for key, text in node.texts():
            yield node, key, text
        if isinstance(node, Dial):
            yield node, "to", node.to
        if isinstance(node, Http):  # its secrets are the http rules' to check
            for key, text in node.templates():
                yield node, key, without_secrets(text)


def variables(check: Checker) -> Iterator[Diagnostic]:
    known = [*check.flow.vars, *BUILTIN_VARS, *check.flow.saved()]
    for node, key, text in _texts(check):
        for match in BRACES.finditer(text):
            written = match.group(0)
            span = check.within(node.value_span(key), written)
            name_match = VARIABLE.fullmatch(written)
            if SECRET.fullmatch(written):
                continue  # secret-place says where a secret may go
            if name_match is None:
                hint = "write `{{ name }}` with a name of letters, digits and underscores, and close it with `}}`"
                yield Diagnostic(
                    "variable-syntax", span, f"`{written}` in {key} of node `{node.name}` is not a variable", hint
                )
            elif name_match.group(2) is not None and name_match.group(2) not in FILTERS:
                hint = (
                    suggestion(name_match.group(2), FILTERS)
                    + f"The filters are: {', '.join(FILTERS)}, as in `{{{{ {name_match.group(1)} | digits }}}}` to say a number digit by digit."
                )
                yield Diagnostic(
                    "variable-syntax",
                    span,
                    f"`{written}` in {key} of node `{node.name}` uses the filter `{name_match.group(2)}`, which does not exist",
                    hint,
                )
            elif name_match.group(1) not in known:
                name = name_match.group(1)
                hint = suggestion(name, known) + f'Declare it under `vars:` with a default, such as `{name}: "..."`.'
                yield Diagnostic(
                    "undeclared-variable", span, f"the variable `{name}` in node `{node.name}` is not declared", hint
                )


# `{drug}`: one brace each side around a name, as other template languages write a variable. Braces
# around anything else (`{1 + 2}`) or doubled (`{{ drug }}`, checked by `variables`) are left alone.
_SINGLE_BRACES = re.compile(r"(?<!\{)\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}(?!\})")


def single_braces(check: Checker) -> Iterator[Diagnostic]:
    known = [*check.flow.vars, *BUILTIN_VARS]
    for node, key, text in _texts(check):
        for match in _SINGLE_BRACES.finditer(text):
            written, name = match.group(0), match.group(1)
            span = check.within(node.value_span(key), written)
            message = f"`{written}` in {key} of node `{node.name}` is spoken as typed, braces and all"
            if name in known:
                hint = f"write `{{{{ {name} }}}}` to say the value of the variable `{name}`"
            else:
                hint = f"to say a call variable, write `{{{{ {name} }}}}` and declare `{name}` under `vars:` with a default; or reword the text without braces"
            yield Diagnostic("single-braces", span, message, hint)


def unused_variables(check: Checker) -> Iterator[Diagnostic]:
    # A name written `{drug}` counts as used: single-braces says what is wrong with it.
    used = {
        match.group(1)
        for _, _, text in _texts(check)
        for pattern in (VARIABLE, _SINGLE_BRACES)
        for match in pattern.finditer(text)
    } | tested_vars(check.flow.nodes.values())  # a branch's test uses a variable too
    for name, span in check.flow.var_spans.items():
        if name not in used:
            yield Diagnostic(
                "unused-variable",
                span,
                f"the variable `{name}` is declared but no message uses it",
                f"use it as {{{{ {name} }}}} in a message, or remove it",
            )


def _as_long_as_it_gets(check: Checker) -> Callable[[str], str]:
    """A text with each variable filled in as long as it can be: an entry as the longest the node
    takes, a built-in as the longest phone number, a declared one as its default (a looked-up
    value's length is the service's, so it stays as written)."""
    saved = {
        name: "0" * node.max_length if isinstance(node, Collect) else "" for name, node in check.flow.saved().items()
    }
    values = {**dict.fromkeys(BUILTIN_VARS, _BUILTIN_SAMPLE), **saved, **check.flow.vars}
    return lambda text: VARIABLE.sub(
        lambda m: filtered(values[m.group(1)], m.group(2)) if m.group(1) in values else m.group(0), text
    )


def message_length(check: Checker) -> Iterator[Diagnostic]:
    filled_in = _as_long_as_it_gets(check)
    for node, key, text in _texts(check):
        if key == "to" or len(text) > MAX_MESSAGE:  # over the limit as written: the schema said so
            continue
        filled = filled_in(text)
        if len(filled) > MAX_MESSAGE:
            message = f"{key} of node `{node.name}` is {len(filled)} characters long once its variables are filled in; Telesign speaks at most {MAX_MESSAGE}"
            yield Diagnostic(
                "message-too-long",
                node.value_span(key),
                message,
                "shorten it, or split it in two with a `prompt` between the parts",
            )


def message_run_length(check: Checker) -> Iterator[Diagnostic]:
    """A straight run of messages is said as one text (message_run): the limit holds for the whole."""
    filled_in = _as_long_as_it_gets(check)
    messages = [node for node in check.flow.nodes.values() if isinstance(node, Message)]
    continued = {node.next for node in messages}
    for first in messages:
        run = message_run(check.flow, first.name)
        if first.name in continued or run.broken or run.last is None or len(run.texts) < 2:
            continue  # the longest run through a node starts where no message leads to it
        length = len(" ".join(filled_in(text) for text in run.texts))
        if length > MAX_MESSAGE and all(len(filled_in(text)) <= MAX_MESSAGE for text in run.texts):
            message = f"the messages from `{first.name}` to `{run.last.name}` are said as one text of {length} characters once their variables are filled in; Telesign speaks at most {MAX_MESSAGE}"
            yield Diagnostic(
                "message-too-long",
                first.value_span("message"),
                message,
                "shorten them, or put a `prompt` between them: a straight run of messages is one spoken text",
            )


def translation_outdated(check: Checker) -> Iterator[Diagnostic]:
    return outdated(check.flow, check.lines)


# The rules that read a flow's words, run once more for each of its other languages.
WORD_CHECKS: tuple[Callable[[Checker], Iterator[Diagnostic]], ...] = (
    menu_keys,
    prompt_digit,
    variables,
    single_braces,
    message_length,
    message_run_length,
    *WORD_CALL_CHECKS,
)
RULE_CHECKS: tuple[Callable[[Checker], Iterator[Diagnostic]], ...] = (
    unknown_target,
    unknown_start,
    unreachable_node,
    endless_loop,
    no_way_out,
    repeat_outside_menu,
    menu_keys,
    prompt_digit,
    variables,
    single_braces,
    unused_variables,
    message_length,
    message_run_length,
    translation_outdated,
    *CALL_CHECKS,
    *HTTP_CHECKS,
    *BRANCH_CHECKS,
    *LANGUAGE_CHECKS,
)
