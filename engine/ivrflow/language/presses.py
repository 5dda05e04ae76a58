"""The keys an English message tells a caller to press ("press 1", "2 to cancel", "press star"),
read by the menu, prompt and read-back rules."""

from __future__ import annotations

import re

from ivrflow.language.texts import VARIABLE

_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "star": "*",
    "pound": "#",
    "hash": "#",
}
_DIGIT = r"(?:[0-9*#]|zero|one|two|three|four|five|six|seven|eight|nine|star|pound|hash)"
# "press 1", "press 1, 2 or 3", "dial the number 7", "enter 0"
_PRESS = re.compile(
    rf"\b(?:press|push|dial|enter|select|choose|hit|type|key in)\s+(?:the\s+)?(?:key\s+|number\s+|digit\s+|button\s+)?"
    rf"({_DIGIT}(?:\s*(?:,\s*or|,|or|and)\s*{_DIGIT})*)(?!\w)",
    re.IGNORECASE,
)
# "2 to cancel", "9 for the main menu", "8 or 9 to repeat"
_FOR = re.compile(rf"(?<![\w.:/-])({_DIGIT}(?:\s*(?:,\s*or|,|or|and)\s*{_DIGIT})*)\s+(?:to|for)\b", re.IGNORECASE)
_ANY_DIGIT = re.compile(_DIGIT, re.IGNORECASE)


def mentioned_digits(text: str) -> set[str]:
    """The keys an English message tells the caller to press."""
    text = VARIABLE.sub(" ", text)
    found: set[str] = set()
    for match in _PRESS.finditer(text):
        found.update(_to_digit(word) for word in _ANY_DIGIT.findall(match.group(1)))
    for match in _FOR.finditer(text):
        found.update(_to_digit(word) for word in _ANY_DIGIT.findall(match.group(1)))
    return found


def _to_digit(word: str) -> str:
    return _WORDS.get(word.lower(), word)
