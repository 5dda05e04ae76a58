"""Every JSON body the server is sent is read here, strictly, once: Telesign's events and callbacks
and the calls API's requests alike. What is refused, with the reason said in the 400:

- anything but UTF-8: a UTF-16 body, or one that starts with a byte order mark (RFC 8259 §8.1:
  JSON between systems is UTF-8, without a BOM);
- what is not JSON: `NaN`, `Infinity`, `-Infinity`, a number too large for a double, a lone
  surrogate such as `"\\ud800"` (no store can write it: SQLite and Redis take UTF-8 only);
- nesting deeper than `MAX_DEPTH`: nothing the server takes is deeper than 4, and a parser's
  recursion is what a deep body attacks;
- a NUL character (`\\u0000`) in any text: no id, number, key or variable holds one, and C
  strings (logs, labels, many tools reading the store) end at it.

orjson parses: it refuses the first three kinds itself (and any depth over 1024), in Rust, several
times faster than the standard library, which would also need a depth check made before parsing
(its parser recurses, and a RecursionError is not a reason).
"""

from __future__ import annotations

from typing import Any

import orjson

from ivrflow.errors import BadJson

MAX_DEPTH = 32  # objects and arrays inside each other; a Telesign event is 2 deep, a POST /calls 2

_NOT_UTF8 = "the body is not JSON in UTF-8"


def loads(body: bytes) -> Any:
    """The JSON value of `body`, or BadJson saying why it is refused."""
    if body.startswith(b"\xef\xbb\xbf"):
        raise BadJson(f"{_NOT_UTF8} as sent: it starts with a byte order mark; send UTF-8 without one")
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        raise BadJson(f"{_NOT_UTF8}: it looks like UTF-16; send UTF-8")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as problem:
        reason = str(problem)
        if "depth limit" in reason:
            raise BadJson(_too_deep()) from None
        if "UTF-8" in reason:
            raise BadJson(f"{_NOT_UTF8}: {reason}") from None
        raise BadJson(f"the body is not JSON: {reason}") from None
    _check(data)
    return data


def _too_deep() -> str:
    return f"the body is not JSON this server takes: it is nested deeper than {MAX_DEPTH} levels"


def _check(data: Any) -> None:
    """Refuse what parsed but no store should hold: nesting past MAX_DEPTH, a NUL in any text.
    A loop, not recursion, so that no shape of body can exhaust the stack."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise BadJson("the body holds a NUL character (\\u0000) in a text: no field takes one")
        elif isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise BadJson(_too_deep())
            for key, item in value.items():
                pending.append((key, depth))
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise BadJson(_too_deep())
            pending.extend((item, depth + 1) for item in value)
