"""The events and actions of a call, Telesign-neutral: what happened on the call (the input of
`step()`, ivrflow/calls/interpreter.py) and the one thing the engine asks Telesign to do next (its
output). The adapter (ivrflow/telesign/v2.py) turns them into and from Telesign's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ivrflow.calls.lookups import LookupDone, Request

# --- events (what happened on the call) ---


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The call is connected and the flow should begin (incoming call, or an answered dial)."""

    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpeakDone:
    """What was said has been said; `digits` holds the keys pressed, if keys were collected."""

    digits: str = ""


@dataclass(frozen=True, slots=True)
class DialDone:
    """A dialled leg was answered or failed: the callee of an outbound call (the flow starts when
    answered), or the far end of a transfer."""

    answered: bool


@dataclass(frozen=True, slots=True)
class LegEnded:
    """One leg of a bridged call hung up while the other stays on the line; `number`: the leg's
    number, when Telesign says (ivrflow/calls/transfer.py)."""

    number: str = ""


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over (the caller hung up, or Telesign reports it completed)."""


Event = CallStarted | SpeakDone | DialDone | LegEnded | CallEnded | LookupDone

# --- actions (what the engine asks Telesign to do next) ---


@dataclass(frozen=True, slots=True)
class Speak:
    text: str
    language: str
    collect: bool  # collect keys while and after speaking
    timeout: float | None = None  # when collecting: seconds to wait for the key (the menu's `timeout`)
    most: int = 1  # when collecting: the most keys to take (a collect_digits entry and its end key)
    end_key: str | None = None  # when collecting an entry: the key that ends it early
    shown: str | None = None  # the text as transcripts show it, when it says a sensitive value

    @property
    def seen(self) -> str:
        """The text as anything but the caller's ear may see it."""
        return self.text if self.shown is None else self.shown


@dataclass(frozen=True, slots=True)
class Transfer:
    to: str
    caller_id: str
    max_call_duration: int | None = None
    send_dtmf: str | None = None


@dataclass(frozen=True, slots=True)
class HangUp:
    pass


@dataclass(frozen=True, slots=True)
class NoAction:
    """Nothing to do: the call has ended, or the event changes nothing."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """Ask a web service (an `http` node), saying `hold` meanwhile if given; the call goes on
    with the `LookupDone` that reports the result (calls/lookups.py says how it fits Telesign)."""

    request: Request
    hold: Speak | None = None


Action = Speak | Transfer | HangUp | NoAction | Lookup
