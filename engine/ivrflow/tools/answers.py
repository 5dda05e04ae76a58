"""Recorded answers of web services, so that the simulator, journeys and flow tests run every way
through an `http` node, its failures included, without a network.

An answer is given per node as `NODE=ANSWER` (`simulate --http lookup=answer.json`, a tests
file's `http: {lookup: timeout}`): a JSON file (answered 200 with it), a status such as `404`
(a 2xx status answers with the node's example), `timeout`, or `refused`. A node without a
recorded answer answers with its `example` file, or, without one, with each saved variable as
`[name]`: the way through `next` is heard, with the names showing where the values go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ivrflow.calls.lookups import LookupDone, Request, failed, result_of
from ivrflow.errors import UsageError
from ivrflow.language.http_node import Http, read_example
from ivrflow.language.model import Flow

NO_ANSWER = ("timeout", "refused")
SHAPE = "NODE=FILE.json, NODE=STATUS (like 404) or NODE=timeout"


def parse_http(values: Iterable[str]) -> dict[str, str]:
    """`["lookup=answer.json", "other=timeout"]` → {"lookup": "answer.json", "other": "timeout"}."""
    given: dict[str, str] = {}
    for value in values:
        node, sign, answer = value.partition("=")
        if not sign or not node.strip() or not answer.strip():
            raise UsageError(f"--http {value!r}: write {SHAPE}")
        given[node.strip()] = answer.strip()
    return given


def check_answers(flow: Flow, given: Mapping[str, str]) -> None:
    """UsageError when `given` names a node that is no http node of `flow`."""
    for node in given:
        if not isinstance(flow.nodes.get(node), Http):
            lookups = ", ".join(name for name, each in flow.nodes.items() if isinstance(each, Http)) or "none"
            raise UsageError(f"--http {node}=...: {flow.id} has no http node `{node}` (its http nodes: {lookups})")


def usual_answer(flow: Flow, node: Http) -> LookupDone:
    """What `node` answers when no answer is recorded: its example, or `[name]` for each saved variable."""
    answer, problem = read_example(flow.path, node)
    if not problem:
        return result_of(node, 200, json.dumps(answer).encode())
    return LookupDone(node.name, "", 200, {name: f"[{name}]" for name in node.save})


def recorded(flow: Flow, node: Http, answer: str, base: Path) -> LookupDone:
    """What `node` comes to with the recorded `answer` (files relative to `base`)."""
    if answer in NO_ANSWER:
        return failed(node.name, answer)
    if answer.isdigit():
        status = int(answer)
        if 200 <= status < 300:
            usual = usual_answer(flow, node)
            return LookupDone(node.name, usual.error, status, usual.saved, usual.detail)
        return result_of(node, status, b"")
    path = base / answer
    try:
        body = path.read_bytes()
    except OSError as error:
        raise UsageError(f"the answer for `{node.name}`, {path}: {error.strerror or error}") from None
    return result_of(node, 200, body)


def answerer(flow: Flow, given: Mapping[str, str], base: Path) -> Callable[[Request], LookupDone]:
    """The answer of each lookup a call makes: recorded in `given`, else the usual one."""
    check_answers(flow, given)

    def answer(request: Request) -> LookupDone:
        node = flow.nodes[request.node]
        assert isinstance(node, Http)
        return recorded(flow, node, given[node.name], base) if node.name in given else usual_answer(flow, node)

    return answer


def journey_answers(flow: Flow, node: Http) -> list[LookupDone]:
    """The answers journeys follow at `node`: the usual one, and one failure (no answer in time)
    for the `on_error` way; every failure goes that one way."""
    return [usual_answer(flow, node), failed(node.name, "timeout")]
