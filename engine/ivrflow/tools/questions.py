"""The questions of a call as the journeys walk them: at each, every answer and the detours a
caller can take (a wrong key, no key, the repeat key; a wrong entry; a read-back asked again)."""

from __future__ import annotations

from ivrflow.calls.entries import entry_ok
from ivrflow.calls.interpreter import CallState
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.model import CONFIRM_AGAIN, CONFIRM_YES, END_KEYS, Collect, Flow, Menu, Prompt, Repeat

Keys = tuple[str | None, ...]


def sample_entry(node: Collect, good: bool) -> str | None:
    """An entry the node takes (good) or refuses (not good), as plain digits, or None when none
    of the simple candidates is one (a `pattern` the journeys cannot guess)."""
    candidates = [str(node.between[0]).zfill(node.min_length)] if node.between else []
    for length in range(node.min_length, node.max_length + 1):
        candidates += ["".join(str((first + i) % 10) for i in range(1, length + 1)) for first in range(10)]
        candidates += [digit * length for digit in "0123456789"]
        if node.luhn and length > 1:
            base = "".join(str(i % 10) for i in range(1, length))
            candidates += [base + check for check in "0123456789"]
    if not good and node.min_length > 1:
        return "".join(str(i % 10) for i in range(1, node.min_length))  # one digit short
    return next((each for each in candidates if entry_ok(node, each) == good), None)


def entry_keys(node: Collect, digits: str) -> Keys:
    """The keys of an entry in a key script: it ends by itself at the most keys the question
    takes, else with its end key, else with a pause (`_`)."""
    keys: Keys = tuple(digits)
    if len(digits) >= node.most_keys:
        return keys
    return (*keys, node.end_key) if node.end_key else (*keys, None)


def _collect_options(node: Collect, waiting: str) -> tuple[list[Keys], list[tuple[Keys, str]]]:
    """The answers and detours of a collect_digits question, or of its read-back."""
    if waiting == "confirm":
        return [(CONFIRM_YES,)], [((CONFIRM_AGAIN,), "again")]
    good = sample_entry(node, True)
    wrong = sample_entry(node, False)
    if wrong is None:  # every entry of the right length passes: press a key that is no digit
        wrong = next(key for key in END_KEYS if key != node.end_key)
        detours: list[tuple[Keys, str]] = [((wrong,), "wrong")]
    else:
        detours = [(entry_keys(node, wrong), "wrong")]
    return ([entry_keys(node, good)] if good is not None else []), [*detours, ((None,), "none")]


def options(flow: Flow, state: CallState, kind: str | None) -> list[tuple[Keys, str | None]]:
    """What a caller can do at the question the call waits at, as the keys of the script, each
    with the kind of detour it is (None: it answers the question). Every answer, always; and, so
    that the number of paths stays one a person can review, one kind of detour per visit to a
    question, repeated up to the question's limit: a wrong key (the lowest digit not accepted), no
    key, or a repeat key; at a collect_digits node, a good entry, a wrong one, none, and at its
    read-back 1 and 2; at a select_language, each language's key."""
    node = flow.nodes[state.node]
    if isinstance(node, Collect):
        answers_of, detours_of = _collect_options(node, state.waiting)
        return [(keys, None) for keys in answers_of] + [
            (keys, each) for keys, each in detours_of if kind in (None, each)
        ]
    if isinstance(node, Prompt):
        answers, repeats = [node.digit], []
    elif isinstance(node, Menu):
        answers = sorted(key for key, target in node.choices.items() if not isinstance(flow.nodes.get(target), Repeat))
        repeats = sorted(key for key in node.choices if key not in answers)
    elif isinstance(node, LanguageMenu):  # every language's key; or none, the call going on in its own
        answers, repeats = sorted(node.choices), []
    else:
        return []
    wrong = [d for d in "0123456789" if d not in answers and d not in repeats][:1]
    detours: list[tuple[str | None, str | None]] = (
        [(key, key) for key in repeats] + [(key, "wrong") for key in wrong] + [(None, "none")]
    )
    return [((key,), None) for key in answers] + [((key,), each) for key, each in detours if kind in (None, each)]
