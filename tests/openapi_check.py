"""Every answer a test sees, checked against the server's OpenAPI document (ivrflow/server/openapi.py):
its status is one the document lists for the operation, its content type one listed for that
status, its JSON body valid against that schema, and its required headers present.
tests/inprocess.py checks each answer of the app with it; the Schemathesis test checks its own."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import httpx
import jsonschema

from ivrflow.server.openapi import document


@cache
def _document() -> dict[str, Any]:
    return document(["appointment-reminder"])


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in _document()["paths"]]


def operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The document's path template and operation for a request (None: not one of its operations)."""
    for pattern, template in _templates():
        if pattern.match(path):
            found = _document()["paths"][template].get(method.lower())
            return (template, found) if found is not None else None
    return None


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def problems(method: str, path: str, status: int, headers: httpx.Headers, body: bytes) -> list[str]:
    """What in an answer does not conform to the document ([] when it does, or the request is to no operation of it)."""
    found = operation(method, path)
    if found is None:
        return []
    template, described = found
    answer = described["responses"].get(str(status))
    if answer is None:
        return [f"{method} {template}: status {status} is not in the document ({', '.join(described['responses'])})"]
    wrong = [
        f"{method} {template} {status}: no {name} header"
        for name, header in answer.get("headers", {}).items()
        if header.get("required") and name not in headers
    ]
    content = answer.get("content")
    if not content:
        return wrong
    media = headers.get("content-type", "").split(";")[0].strip()
    if media not in content:
        return [*wrong, f"{method} {template} {status}: content type {media!r}, not one of {list(content)}"]
    if media != "application/json":
        return wrong
    try:
        data = json.loads(body)
    except ValueError as error:
        return [*wrong, f"{method} {template} {status}: not JSON ({error}): {body[:200]!r}"]
    root = {
        **_document(),
        "$ref": _pointer("paths", template, method.lower(), "responses", str(status), "content", media, "schema"),
    }
    validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [
        *wrong,
        *(f"{method} {template} {status}: {error.json_path}: {error.message}" for error in validator.iter_errors(data)),
    ]


def check(response: httpx.Response) -> None:
    """Raise AssertionError when the answer does not conform to the document (its body must have been read)."""
    request = response.request
    found = problems(request.method, request.url.path, response.status_code, response.headers, response.content)
    assert not found, "the answer does not conform to the OpenAPI document:\n" + "\n".join(found)
