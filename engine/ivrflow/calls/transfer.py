"""What happens after a transfer's other leg ends, pure: which side hung up, and where the caller
goes when it was the far end.

Telesign posts `call_leg_completed` when one leg of a bridged call hangs up while the other stays
(its voice_server_demo answers it with a survey `speak`, or a `dial` to the next agent). Which leg
it was is not documented: the demo's three-leg example tells by the event's `to`, the number of
the leg that ended. So: a leg named by a number of the call's own first leg (the caller, or the
number they called), and not the dialled one, is the caller leaving, and the call ends; any other
leg, or one not named, is the far end hanging up, and the caller goes on to the dial's `next`
(item 24 of the Telesign adapter's list)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from ivrflow.errors import KeyScriptError
from ivrflow.language.model import Dial, digits_only
from ivrflow.language.texts import fill


def caller_left(dial: Dial, variables: Mapping[str, str], number: str) -> bool:
    """Whether the leg that ended, named `number` ("" if not named), is the caller's own."""
    if not number:
        return False
    number = digits_only(number)
    first_leg = {digits_only(variables.get(name, "")) for name in ("caller", "called")} - {""}
    return number in first_leg and number != digits_only(fill(dial.to, variables))


def after_leg(dial: Dial, variables: Mapping[str, str], number: str) -> str | None:
    """The node the caller goes to when the transfer's leg named `number` ends; None: the call ends."""
    if dial.next is None or caller_left(dial, variables, number):
        return None
    return dial.next


# A key script says how each transfer goes with one letter where the call is put through; without
# one, the far end answers and hangs up first (so a script written before these letters reads as
# it did). They are letters so that they never read as keys.
AGENT_HANGS_UP, NOT_ANSWERED, CALLER_HANGS_UP = "a", "n", "c"
TRANSFER_MARKS = (AGENT_HANGS_UP, NOT_ANSWERED, CALLER_HANGS_UP)


class Script:
    """The items of a key script in turn (keys, None for a silence), with a look at the next one
    at a transfer. Keys typed at a terminal (not a sequence) are never looked at ahead, so that a
    person is not asked before a question: their transfers go the default way."""

    def __init__(self, keys: Iterable[str | None]) -> None:
        self._items: Iterator[str | None] = iter(keys)
        self._ahead = isinstance(keys, Sequence)
        self._held: list[str | None] = []

    def __iter__(self) -> Iterator[str | None]:
        return self

    def __next__(self) -> str | None:
        item = self._held.pop() if self._held else next(self._items)
        if item in TRANSFER_MARKS:
            raise KeyScriptError(
                f"the key script has {item!r} where the call asks a question: a, n and c say how a transfer goes, and go where the call is put through"
            )
        return item

    def transfer(self) -> str:
        """How the transfer the call is at goes: the script's letter there, or AGENT_HANGS_UP."""
        if not self._ahead:
            return AGENT_HANGS_UP
        item = self._held.pop() if self._held else next(self._items, None)
        if item in TRANSFER_MARKS:
            return str(item)
        self._held.append(item)
        return AGENT_HANGS_UP
