"""Several keys from a caller (a collect_digits entry), pure: what Telesign sends back read either
way it may, the node's checks, and the keys a key script gives one question."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ivrflow.language.model import Collect

_DIGITS = re.compile(r"[0-9]*")


def entry_digits(collected: str, end_key: str | None) -> str | None:
    """The digits of an entry as Telesign reports it, read either way it may: with or without the
    end key (and anything after it), fewer keys than asked for. None: it has other keys in it."""
    if end_key and end_key in collected:
        collected = collected[: collected.index(end_key)]
    return collected if _DIGITS.fullmatch(collected) else None


def luhn_ok(digits: str) -> bool:
    """The Luhn check: the last digit checks the others (card and many account numbers)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return len(digits) > 1 and total % 10 == 0


def entry_ok(node: Collect, digits: str) -> bool:
    """Whether an entry has the node's length and passes its `valid` check."""
    if not node.min_length <= len(digits) <= node.max_length:
        return False
    if node.pattern is not None and re.fullmatch(node.pattern, digits) is None:
        return False
    if node.luhn and not luhn_ok(digits):
        return False
    return node.between is None or node.between[0] <= int(digits) <= node.between[1]


def take_keys(presses: Iterator[str | None], most: int = 1, end_key: str | None = None) -> str:
    """The keys a caller gives one question, from a key script: one key for a menu; for an entry,
    keys up to its end key or its most keys, or up to a pause (None, or the script's end), which
    ends a shorter entry as waiting does on a call. A script item of several keys (a line typed
    at a terminal) is a whole answer."""
    taken = ""
    while len(taken) < most:
        key = next(presses, None)
        if key is None:
            break
        taken += key
        if len(key) > 1 or (end_key is not None and taken.endswith(end_key)):
            break
    return taken
