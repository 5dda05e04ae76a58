"""The pure half of an `http` node: the request a call makes, and what an answer comes to.

`step()` never waits for a web service. Arriving at an `http` node, the interpreter answers with
a `Lookup` action (the request, and the `hold` words if any); whoever runs the call performs the
request (the live server on httpx's async client, the simulator and journeys from recorded
answers) and hands the outcome back as a `LookupDone` event, which `result_of` or `failed` below
make the same way for both. On `LookupDone` the call saves the `save` values and goes to `next`,
or to `on_error` with nothing saved.

Telesign answers each call event with one action, and a lookup is not one, so a lookup lives
between two events: with `hold`, the answer to the event that reached the node is `speak hold`
(the call waits at "hold"); the `speak_completed` that follows asks for the lookup's result (the
call waits at "lookup"), and the result decides the answer to that event. Without `hold`, the
call waits at "lookup" at once and the result decides the answer to the event that reached the
node. Either way the caller waits in silence at most the node's `timeout` (at most 5 s).

Secrets stay out of here: `headers` keep their `{{ secret.NAME }}` references, filled in by the
server from its environment as the request leaves, so no state, record or transcript holds one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ivrflow.errors import BadJson
from ivrflow.language.http_node import MISSING, Http, as_variable, at_path
from ivrflow.language.texts import VARIABLE, filtered
from ivrflow.strictjson import loads

# Why a lookup went to `on_error`, in words for transcripts and logs.
ERRORS = {
    "timeout": "no answer in time",
    "refused": "could not connect",
    "host": "host not allowed",
    "status": "answered",  # followed by the status
    "not-json": "answer is not JSON",
    "missing": "answer lacks",  # followed by the path
    "secret": "secret not set on the server",
}


@dataclass(frozen=True, slots=True)
class Request:
    """What to ask: variables filled in (in `url`, URL-encoded), secrets not yet."""

    node: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    timeout: float
    host: str


@dataclass(frozen=True, slots=True)
class LookupDone:
    """What a lookup came to: `error` "" when it answered 2xx with JSON holding every `save` path
    (then `saved` holds their values), else why not (a key of ERRORS)."""

    node: str
    error: str = ""
    status: int | None = None  # the HTTP status, None when there was no answer
    saved: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""  # the missing path, or what the server saw
    ms: int | None = None  # how long it took, when it really ran

    @property
    def ok(self) -> bool:
        return not self.error


def _fill_url(text: str, values: Mapping[str, str]) -> str:
    return VARIABLE.sub(lambda m: quote(filtered(values.get(m.group(1), ""), m.group(2)), safe=""), text)


def _fill_plain(text: str, values: Mapping[str, str]) -> str:
    return VARIABLE.sub(lambda m: filtered(values.get(m.group(1), ""), m.group(2)), text)


def _fill_body(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _fill_plain(value, values)
    if isinstance(value, dict):
        return {key: _fill_body(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_body(item, values) for item in value]
    return value


def request_for(node: Http, values: Mapping[str, str]) -> Request:
    """The request `node` makes with the call's variables `values`."""
    headers = tuple((name, _fill_plain(value, values)) for name, value in node.headers.items())
    body = None
    if node.body is not None:
        body = json.dumps(_fill_body(node.body, values), ensure_ascii=False).encode()
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers += (("Content-Type", "application/json"),)
    return Request(node.name, node.method, _fill_url(node.url, values), headers, body, node.timeout, node.host)


def result_of(node: Http, status: int, body: bytes, ms: int | None = None) -> LookupDone:
    """What an answer with `status` and `body` comes to for `node`."""
    if not 200 <= status < 300:
        return LookupDone(node.name, "status", status, ms=ms)
    try:
        answer = loads(body)
    except BadJson as problem:
        return LookupDone(node.name, "not-json", status, detail=str(problem), ms=ms)
    saved: dict[str, str] = {}
    for variable, path in node.save.items():
        value = at_path(answer, path)
        if value is MISSING:
            return LookupDone(node.name, "missing", status, detail=path, ms=ms)
        saved[variable] = as_variable(value)
    return LookupDone(node.name, "", status, saved, ms=ms)


def failed(node: str, error: str, detail: str = "", ms: int | None = None) -> LookupDone:
    """A lookup that got no answer to use: timeout, refused, host, secret."""
    return LookupDone(node, error, None, detail=detail, ms=ms)


def describe(done: LookupDone) -> str:
    """The lookup as transcripts and the call's record show it: the node, what came back, which
    `save` fields (names only: values may be private), how long it took. Never a secret or the body."""
    took = f" in {done.ms} ms" if done.ms is not None else ""
    if done.ok:
        names = ", ".join(done.saved)
        got = f", saved {names}" if names else ""
        return f"{done.node}: {done.status}{got}{took}"
    words = ERRORS.get(done.error, done.error)
    if done.error == "status":
        words = f"answered {done.status}"
    elif done.error == "missing":
        words = f"answer lacks {done.detail}"
    return f"{done.node}: {words}{took}, on_error"
