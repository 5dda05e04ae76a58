"""What one step of a call adds to its flow's outcome counts, pure: each count is a name, and a
step gives the names to add one to. The stores add them up as the step is stored (in the same
transaction), so a flow's outcomes are read, never recounted (ivrflow/calls/outcomes.py).

Names (node names have no `:`): `menu:NODE:key:K` (a menu or prompt heard key K),
`menu:NODE:no_input`, `menu:NODE:used_up` (its attempts ran out); `entry:NODE:entered`,
`entry:NODE:no_input`, `entry:NODE:invalid`, `entry:NODE:used_up`, and `entry:NODE:value:V` for an
entry saved at a collect_digits node whose answers are few and not sensitive (a survey's 1 to 5);
`end:NODE:OUTCOME` (the call ended at NODE, this way). The stores keep `calls`, `v1_calls` and
`status:STATUS` themselves (ivrflow/stores/counting.py); a v1 call's report adds its own
(ivrflow/v1/outcomes.py). A sensitive entry is never counted by its value."""

from __future__ import annotations

from ivrflow.calls.entries import entry_digits, entry_ok
from ivrflow.calls.events import CallEnded, Event, SpeakDone
from ivrflow.calls.interpreter import CallState
from ivrflow.language.model import CONFIRM_YES, PROMPT_CHANCES, Collect, Flow, Menu, Prompt

MOST_VALUES = 10  # a collect_digits node with at most this many answers is counted by answer


def menu(node: str, what: str) -> str:
    return f"menu:{node}:{what}"


def entry(node: str, what: str) -> str:
    return f"entry:{node}:{what}"


def ending(node: str, outcome: str) -> str:
    return f"end:{node}:{outcome}"


def counted_values(flow: Flow, node: Collect) -> tuple[str, ...] | None:
    """The answers a collect_digits node is counted by, in order; None when it is sensitive or
    has more than MOST_VALUES answers (its entries are then counted, not their values)."""
    if node.save_as in flow.sensitive or node.sensitive:
        return None
    if node.between is not None and node.between[1] - node.between[0] < MOST_VALUES:
        candidates = [str(value) for value in range(node.between[0], node.between[1] + 1)]
        candidates += [value.zfill(node.min_length) for value in candidates]
    elif node.max_length == 1:
        candidates = list("0123456789")
    else:
        return None
    return tuple(dict.fromkeys(value for value in candidates if entry_ok(node, value)))


def step_tally(flow: Flow, before: CallState, event: Event, after: CallState) -> tuple[str, ...]:
    """The counts one step adds: what the caller did at the question the call was asking, and
    how the call ended if it ended now."""
    names: list[str] = []
    asked = flow.nodes.get(before.node)
    if isinstance(event, SpeakDone) and not before.ended:
        if before.waiting == "key" and isinstance(asked, (Menu, Prompt)):
            names += _key(asked, before, event.digits[:1])
        elif before.waiting in ("digits", "confirm") and isinstance(asked, Collect):
            names += _entry(flow, asked, before, event.digits)
    if after.ended and not before.ended and not (isinstance(event, CallEnded) and before.waiting == "start"):
        names.append(ending(after.node or before.node, after.outcome or "completed"))
    return tuple(names)


def _key(asked: Menu | Prompt, before: CallState, key: str) -> list[str]:
    names = [menu(asked.name, f"key:{key}" if key else "no_input")]
    if isinstance(asked, Prompt):
        if key != asked.digit and before.tries + 1 >= PROMPT_CHANCES:
            names.append(menu(asked.name, "used_up"))
    elif key not in asked.choices and before.tries + 1 >= asked.attempts:
        names.append(menu(asked.name, "used_up"))
    return names


def _entry(flow: Flow, asked: Collect, before: CallState, keys: str) -> list[str]:
    if before.waiting == "confirm":  # the read-back: 1 saves the entry, anything else uses a try
        if keys[:1] == CONFIRM_YES:
            return _saved(flow, asked, before.entry)
        return [entry(asked.name, "used_up")] if before.tries + 1 >= asked.attempts else []
    digits = entry_digits(keys, asked.end_key)
    if digits and entry_ok(asked, digits):
        return [entry(asked.name, "entered")] + ([] if asked.confirm else _saved(flow, asked, digits))
    names = [entry(asked.name, "invalid" if keys else "no_input")]
    if before.tries + 1 >= asked.attempts:
        names.append(entry(asked.name, "used_up"))
    return names


def _saved(flow: Flow, asked: Collect, digits: str) -> list[str]:
    values = counted_values(flow, asked)
    return [entry(asked.name, f"value:{digits}")] if values is not None and digits in values else []
