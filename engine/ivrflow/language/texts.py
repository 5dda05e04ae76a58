"""The words of a flow as they are filled in: `{{ name }}` and `{{ name | digits }}`, and sensitive
values shown as MASK wherever they are not spoken to the caller."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# `{{ name }}` or `{{ name | filter }}`; group 1 is the name, group 2 the filter (None: none).
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?\}\}")
BRACES = re.compile(r"\{\{.*?(?:\}\}|$)|\}\}")
# What a sensitive value is shown as, wherever it is not spoken to the caller.
MASK = "\u2022\u2022\u2022"


def spoken_digits(value: str) -> str:
    """`{{ x | digits }}`: "1234" read out key by key, "1 2 3 4"."""
    return " ".join(value.replace(" ", ""))


FILTERS = {"digits": spoken_digits}


def filtered(value: str, name: str | None) -> str:
    """A variable's value through its filter (None: as it is). Filters are checked at lint time."""
    return FILTERS[name](value) if name in FILTERS else value


def fill(text: str, values: Mapping[str, str], masked: frozenset[str] | set[str] = frozenset()) -> str:
    """`text` with its variables filled in from `values` (a missing one: nothing), each name in
    `masked` shown as MASK whatever its filter."""
    return VARIABLE.sub(
        lambda m: MASK if m.group(1) in masked else filtered(values.get(m.group(1), ""), m.group(2)), text
    )


def hide_values(text: str, values: Iterable[str]) -> str:
    """`text` with each of `values` (as given, or said digit by digit) shown as MASK: for texts
    already filled in, such as the v1 fields of a call that was sent."""
    for value in sorted((v for v in values if v.strip()), key=len, reverse=True):
        for form in (spoken_digits(value), value):
            text = text.replace(form, MASK)
    return text


def used_names(text: str) -> set[str]:
    """The variable names `text` uses."""
    return {match.group(1) for match in VARIABLE.finditer(text)}
