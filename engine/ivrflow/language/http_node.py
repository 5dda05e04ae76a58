"""The `http` node: a lookup in the business's own web service in the middle of a call.

Its model and what the rules, the interpreter and the tools share about it: the templates it fills
in (`url`, `headers`, `body`), the secrets it names (`{{ secret.NAME }}`, only in `headers`), the
`save` paths read out of the JSON answer, and the optional `example` answer file beside the flow,
read to check those paths before any call is made and to stand in for the service in journeys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from ivrflow.language.diagnostics import Span
from ivrflow.language.nodes import Node
from ivrflow.language.yamlstrict import SourceMap

# `{{ secret.NAME }}`: a value from the server's environment, IVRFLOW_SECRET_NAME.
SECRET = re.compile(r"\{\{\s*secret\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SECRET_ENV_PREFIX = "IVRFLOW_SECRET_"
DEFAULT_HTTP_TIMEOUT = 3.0
MOST_HTTP_TIMEOUT = 5.0  # a caller never waits longer than this for a lookup
METHODS = ("GET", "POST")


@dataclass(frozen=True, slots=True, kw_only=True)
class Http(Node):
    """An `http` node: ask a web service, save parts of its JSON answer, go on to `next`; on any
    failure (no answer within `timeout`, refused, not 2xx, not JSON, a `save` path missing), go to
    `on_error` with nothing saved."""

    url: str
    next: str
    on_error: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # a JSON value whose strings are templates
    timeout: float = DEFAULT_HTTP_TIMEOUT
    save: Mapping[str, str] = field(default_factory=dict)  # variable → path in the answer, like refill.ready
    hold: str | None = None
    example: str | None = None  # an answer file, relative to the flow file
    part_spans: Mapping[str, Span] = field(
        default_factory=dict
    )  # "headers.NAME", "save.NAME" (its path), "save.NAME:" (its name)

    def part_span(self, part: str) -> Span:
        """Where one header's value, one save path (`save.NAME`) or one saved name (`save.NAME:`) was written."""
        return self.part_spans.get(part, self.value_span(part.split(".")[0]))

    def targets(self) -> Iterator[tuple[str, str]]:
        yield "next", self.next
        yield "on_error", self.on_error

    def texts(self) -> Iterator[tuple[str, str]]:
        if self.hold:
            yield "hold", self.hold

    def templates(self) -> Iterator[tuple[str, str]]:
        """(key, text) for each template the request is made of: `url`, each header, each string of
        `body` (as written, secrets included)."""
        yield "url", self.url
        for value in self.headers.values():
            yield "headers", value
        for text in body_strings(self.body):
            yield "body", text

    @property
    def host(self) -> str:
        """The host the url names, lowercase; "" when it is templated or missing."""
        try:
            host = urlsplit(self.url).hostname or ""
        except ValueError:
            return ""
        return "" if "{" in host or "}" in host else host.lower()


def body_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from body_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from body_strings(item)


def without_secrets(text: str) -> str:
    """`text` with its secret references taken out: what the variable rules read."""
    return SECRET.sub("", text)


def build_http(common: dict[str, Any], data: dict[str, Any], source: SourceMap, path: tuple[str, ...]) -> Http:
    spans = {f"headers.{name}": source.value((*path, "headers", name)) for name in data.get("headers") or {}}
    for name in data.get("save") or {}:
        spans[f"save.{name}"] = source.value((*path, "save", name))
        spans[f"save.{name}:"] = source.key((*path, "save", name))
    return Http(
        part_spans=MappingProxyType(spans),
        **common,
        url=str(data["url"]),
        method=str(data.get("method", "GET")).upper(),
        headers=MappingProxyType({str(k): str(v) for k, v in (data.get("headers") or {}).items()}),
        body=data.get("body"),
        timeout=float(data.get("timeout", DEFAULT_HTTP_TIMEOUT)),
        save=MappingProxyType({str(k): str(v) for k, v in (data.get("save") or {}).items()}),
        hold=data.get("hold"),
        next=data["next"],
        on_error=data["on_error"],
        example=data.get("example"),
    )


MISSING = object()


def at_path(answer: Any, path: str) -> Any:
    """The value at `path` (`refill.drug_name`, `items.0.id`) in a JSON answer; MISSING if none."""
    value = answer
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def as_variable(value: Any) -> str:
    """A saved JSON value as a call variable: text as it is, true/false, numbers as JSON writes
    them, null as empty, an object or a list as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def example_path(flow_path: str, node: Http) -> Path | None:
    return Path(flow_path).parent / node.example if node.example else None


def read_example(flow_path: str, node: Http) -> tuple[Any, str]:
    """The node's example answer and "", or (None, why it could not be read)."""
    path = example_path(flow_path, node)
    if path is None:
        return None, "no example"
    folder = Path(flow_path).parent.resolve()
    if not path.resolve().is_relative_to(folder):
        # Only the flow's own folder: a flow shown by a server (the studio's pages) must not make it
        # read, and say, a file elsewhere on that server.
        return (
            None,
            f"`{node.example}` is outside the flow's folder: keep the example beside the flow, like {Path(flow_path).stem}.{node.name}.json",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except OSError as error:
        return None, f"cannot read {path.as_posix()}: {error.strerror or error}"
    except (UnicodeDecodeError, ValueError) as error:
        return None, f"{path.as_posix()} is not JSON: {error}"


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    """Whether `host` is one of `allowed`: a host name, or `*.example.com` for any name under it."""
    host = host.lower().rstrip(".")
    return any(host == each or (each.startswith("*.") and host.endswith(each[1:])) for each in allowed)


def parse_hosts(text: str) -> frozenset[str]:
    """Hosts as an option or IVRFLOW_ALLOW_HOSTS gives them: separated by commas or spaces."""
    return frozenset(each.strip().lower().rstrip(".") for each in re.split(r"[,\s]+", text) if each.strip())


ALLOW_HOSTS_ENV = "IVRFLOW_ALLOW_HOSTS"


def allowed_hosts(given: list[str] | None, environ: Mapping[str, str]) -> frozenset[str] | None:
    """The hosts `--allow-host` gives (repeated, or each a list), else IVRFLOW_ALLOW_HOSTS in
    `environ`; None when neither says."""
    if given:
        return frozenset().union(*(parse_hosts(each) for each in given))
    if environ.get(ALLOW_HOSTS_ENV, "").strip():
        return parse_hosts(environ[ALLOW_HOSTS_ENV])
    return None
