"""GitHub Actions workflow commands (`::error file=...,line=...::message`): the one writer of them,
for `ivrflow lint --format github` and `ivrflow test --format github`.

GitHub reads `%`, CR and LF in the message as escapes, and in a property also `:` and `,` (which
would otherwise end the property), so each is written as its %-code.
"""

from __future__ import annotations


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line: `level` is error, warning or notice; `properties` (file, line,
    col, endLine, endColumn, title) are written in the order given, those that are None left out."""
    written = ",".join(
        f"{name}={_escape_property(str(value))}" for name, value in properties.items() if value is not None
    )
    return f"::{level} {written}::{_escape_data(message)}"
