"""Semantic rules for `http` nodes and secrets: https with the host written out, the hosts the
operator allows, secrets only in headers, no credentials written into a flow, and `save` paths
checked against the node's example answer. Each rule is one function of the checker, as in
rules.py, which runs them with its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.http_node import MISSING, SECRET, Http, at_path, host_allowed, read_example
from ivrflow.language.model import BUILTIN_VARS, Dial

if TYPE_CHECKING:
    from ivrflow.language.rules import Checker

# Header and query names that carry a credential: their value must come from a secret.
_CREDENTIAL_NAME = re.compile(r"auth|token|secret|passw|api[-_]?key|^key$|cookie|signature", re.IGNORECASE)
# A value that is a credential by its shape: a scheme word and then the credential itself.
_CREDENTIAL_VALUE = re.compile(r"^\s*(bearer|basic|token|digest)\s+(?P<rest>\S.*)$", re.IGNORECASE)


def _https(check: Checker) -> Iterator[Http]:
    return (node for node in check.flow.nodes.values() if isinstance(node, Http))


def http_url(check: Checker) -> Iterator[Diagnostic]:
    for node in _https(check):
        span = node.value_span("url")
        if not node.url.lower().startswith("https://"):
            yield Diagnostic(
                "http-url",
                span,
                f"the url of `{node.name}` is not https: what it sends could be read on the way",
                "write the address with https://",
            )
        elif not node.host:
            yield Diagnostic(
                "http-url",
                span,
                f"the url of `{node.name}` does not write out its host",
                "write the host itself, like https://api.example.com/...; variables belong in the path or the query",
            )


def http_host(check: Checker) -> Iterator[Diagnostic]:
    if check.hosts is None:
        return
    for node in _https(check):
        if node.host and not host_allowed(node.host, check.hosts):
            allowed = ", ".join(sorted(check.hosts)) or "none"
            yield Diagnostic(
                "http-host",
                check.within(node.value_span("url"), node.host),
                f"`{node.name}` asks {node.host}, which is not an allowed host (allowed: {allowed})",
                "use an allowed host, or ask the operator to add it with `ivrflow serve --allow-host`",
            )


def _written_texts(check: Checker) -> Iterator[tuple[str, str, str]]:
    """(node, key, text) for everything a flow writes that is not a header."""
    for node in check.flow.nodes.values():
        for key, text in node.texts():
            yield node.name, key, text
        if isinstance(node, Dial):
            yield node.name, "to", node.to
            yield node.name, "caller_id", node.caller_id or ""
        if isinstance(node, Http):
            for key, text in node.templates():
                if key != "headers":
                    yield node.name, key, text


def secret_place(check: Checker) -> Iterator[Diagnostic]:
    for name, key, text in _written_texts(check):
        for match in SECRET.finditer(text):
            node = check.flow.nodes[name]
            yield Diagnostic(
                "secret-place",
                check.within(node.value_span(key), match.group(0)),
                f"`{match.group(0)}` in {key} of node `{name}`: a secret may be sent only in an http node's headers",
                f'send it in a header, such as Authorization: "Bearer {{{{ secret.{match.group(1)} }}}}"',
            )


def credentials_in_flow(check: Checker) -> Iterator[Diagnostic]:
    for node in _https(check):
        where = node.value_span("url")
        try:
            parts = urlsplit(node.url)
        except ValueError:
            continue
        if parts.password or (parts.username and "{{" not in parts.username):
            yield Diagnostic(
                "credentials-in-flow",
                where,
                f"the url of `{node.name}` has a user name or password written into it",
                "put the credential in the server's environment as IVRFLOW_SECRET_NAME and send it in a header as {{ secret.NAME }}",
            )
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if _CREDENTIAL_NAME.search(key) and value and "{{" not in value:
                yield Diagnostic(
                    "credentials-in-flow",
                    check.within(where, f"{key}="),
                    f"the url of `{node.name}` has a credential written into its query (`{key}`)",
                    "send it in a header as {{ secret.NAME }}, its value in the server's environment as IVRFLOW_SECRET_NAME",
                )
        for header, value in node.headers.items():
            if SECRET.search(value):
                continue
            shaped = _CREDENTIAL_VALUE.match(value)
            literal = shaped is not None and "{{" not in shaped.group("rest")
            if literal or (_CREDENTIAL_NAME.search(header) and value.strip() and "{{" not in value):
                yield Diagnostic(
                    "credentials-in-flow",
                    node.part_span(f"headers.{header}"),
                    f"header `{header}` of `{node.name}` has a credential written into the flow",
                    f'write `{header}: "{shaped.group(1) + " " if shaped else ""}{{{{ secret.NAME }}}}"` and give its value to the server as IVRFLOW_SECRET_NAME',
                )


def http_example(check: Checker) -> Iterator[Diagnostic]:
    for node in _https(check):
        if not node.example:
            continue
        answer, problem = read_example(check.flow.path, node)
        if problem:
            yield Diagnostic(
                "http-example",
                node.value_span("example"),
                f"the example answer of `{node.name}`: {problem}",
                "give a JSON file beside the flow holding an answer of the service",
            )
            continue
        for variable, path in node.save.items():
            if at_path(answer, path) is MISSING:
                yield Diagnostic(
                    "http-example",
                    node.part_span(f"save.{variable}"),
                    f"`save` of `{node.name}` reads `{path}` into `{variable}`, but the example answer {node.example} has no `{path}`",
                    "correct the path (keys joined by dots, list positions as numbers) or the example",
                )


def save_name(check: Checker) -> Iterator[Diagnostic]:
    for node in _https(check):
        for variable in node.save:
            if variable in check.flow.vars or variable in BUILTIN_VARS:
                what = (
                    "a variable already declared under `vars`" if variable in check.flow.vars else "a built-in variable"
                )
                yield Diagnostic(
                    "save-as-name",
                    node.part_span(f"save.{variable}:"),
                    f"`save` of `{node.name}` sets `{variable}`, {what}",
                    f"give the saved value its own name, such as `{variable}_found`",
                )


HTTP_CHECKS = (http_url, http_host, secret_place, credentials_in_flow, http_example, save_name)
