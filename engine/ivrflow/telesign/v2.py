"""Telesign's v2 voice on the engine's side: webhook events read and turned into the engine's
events, the engine's actions written as Telesign's, and the `dial` that places a call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import best_match

from ivrflow import strictjson
from ivrflow.calls.events import Action, CallEnded, DialDone, Event, HangUp, LegEnded, Speak, SpeakDone, Transfer
from ivrflow.errors import BadEvent, BadJson
from ivrflow.language.model import digits_only
from ivrflow.language.schema_files import validator
from ivrflow.telesign.facts import ANSWERED, EventField, EventName, Method, Param

# Events that only make sense for a call the engine already has.
CALL_EVENTS = (
    EventName.SPEAK_COMPLETED,
    EventName.PLAY_COMPLETED,
    EventName.DIAL_COMPLETED,
    EventName.CALL_LEG_COMPLETED,
)

# The keys a phone can send (DTMF's A-D are on no phone's keypad). `collected_digits` holding
# anything else is not Telesign's: the event is refused, so it never reaches a transcript.
KEYS = re.compile(r"[0-9*#]*")


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A Telesign v2 event that passed schemas/v2-event.schema.json."""

    name: str
    reference_id: str
    external_id: str | None
    data: dict[str, Any]

    @property
    def digits(self) -> str:
        value = self.data.get(EventField.COLLECTED_DIGITS)
        return value if isinstance(value, str) else ""

    @property
    def answered(self) -> bool:
        return self.data.get(EventField.STATUS) == ANSWERED

    @property
    def starts_call(self) -> bool:
        """Whether this event begins a call (an incoming call): the only one that may come for a
        call the engine does not have yet and create it."""
        return self.name == EventName.INCOMING_CALL

    @property
    def needs_call(self) -> bool:
        """Whether this event only makes sense for a call the engine already has."""
        return self.name in CALL_EVENTS

    @property
    def numbers(self) -> tuple[str, str]:
        """An incoming call's (called, caller) numbers, as Telesign wrote them."""
        return str(self.data[EventField.TO]), str(self.data[EventField.FROM])


def parse_event(body: bytes) -> WebhookEvent:
    try:
        data = strictjson.loads(body)
    except BadJson as problem:
        raise BadEvent(str(problem)) from None
    if not looks_like_event(data):  # the schema says why (slow, and only for what is refused)
        error = best_match(validator("v2-event").iter_errors(data))
        where = "/".join(str(part) for part in error.absolute_path) if error is not None else ""
        raise BadEvent(
            f"not a Telesign voice event: {where or 'the event'}: {error.message if error is not None else 'not an event'}"
        )
    return WebhookEvent(
        data[EventField.EVENT], data[EventField.REFERENCE_ID], data.get(EventField.EXTERNAL_ID), data[EventField.DATA]
    )


def _text(value: object, least: int = 0, most: int | None = None) -> bool:
    return isinstance(value, str) and least <= len(value) and (most is None or len(value) <= most)


def looks_like_event(data: object) -> bool:
    """Exactly schemas/v2-event.schema.json, written out: validating every event with jsonschema
    took most of the time of answering one (a test holds the two to the same verdicts)."""
    if (
        not isinstance(data, dict)
        or not _text(data.get(EventField.EVENT), 1, 64)
        or not _text(data.get(EventField.REFERENCE_ID), 1, 128)
    ):
        return False
    if (
        EventField.EXTERNAL_ID in data
        and data[EventField.EXTERNAL_ID] is not None
        and not isinstance(data[EventField.EXTERNAL_ID], str)
    ):
        return False
    event, fields = data[EventField.EVENT], data.get(EventField.DATA)
    if not isinstance(fields, dict):
        return False
    if event == EventName.INCOMING_CALL:
        return _text(fields.get(EventField.TO), 1) and _text(fields.get(EventField.FROM), 1)
    if event == EventName.DIAL_COMPLETED:
        return _text(fields.get(EventField.STATUS)) and all(
            _text(fields[key]) for key in (EventField.TO, EventField.FROM) if key in fields
        )
    if event in (EventName.SPEAK_COMPLETED, EventName.PLAY_COMPLETED):
        digits = EventField.COLLECTED_DIGITS
        return (EventField.STATUS not in fields or _text(fields[EventField.STATUS])) and (
            digits not in fields
            or fields[digits] is None
            or (_text(fields[digits]) and KEYS.fullmatch(fields[digits]) is not None)
        )
    return True


def to_engine_event(event: WebhookEvent) -> Event | None:
    """The engine's event for a Telesign event of a call it has (None: an event the engine does
    not know, which changes nothing). `incoming_call` is not one: it starts a call instead."""
    if event.name in (EventName.SPEAK_COMPLETED, EventName.PLAY_COMPLETED):
        return SpeakDone(event.digits)
    if event.name == EventName.DIAL_COMPLETED:
        return DialDone(event.answered)
    if event.name == EventName.CALL_LEG_COMPLETED:  # which leg: its `to`, if it says (item 24)
        number = event.data.get(EventField.TO)
        return LegEnded(number if isinstance(number, str) else "")
    if event.name == EventName.CALL_COMPLETED:
        return CallEnded()
    return None


# The method each of the engine's actions is sent as (NoAction: none).
_METHODS: dict[type[Action], str] = {Speak: Method.SPEAK, Transfer: Method.DIAL, HangUp: Method.HANGUP}


def method_of(action: Action) -> str:
    """The Telesign method `action` is answered with ("" for none), for logs."""
    return _METHODS.get(type(action), "")


def action_json(action: Action) -> dict[str, Any]:
    """The JSON body that answers a webhook event with `action` (`{}`: nothing to do)."""
    if isinstance(action, Speak):
        params: dict[str, Any] = {Param.TTS: {Param.TTS_MESSAGE: action.text, Param.TTS_LANGUAGE: action.language}}
        if action.collect:
            # Only `max` is known (item 3 of this package's list): a collect_digits entry asks for
            # its longest entry plus its end key, and the engine reads what comes back (item 18).
            params[Param.COLLECT_DIGITS] = {Param.COLLECT_MAX: action.most}
    elif isinstance(action, Transfer):
        params = {Param.TO: digits_only(action.to), Param.CALLER_ID_NUMBER: digits_only(action.caller_id)}
        if action.max_call_duration is not None:
            params[Param.MAX_CALL_DURATION] = str(action.max_call_duration)  # Telesign wants a string
        if action.send_dtmf:
            params[Param.SEND_DTMF] = action.send_dtmf
    elif isinstance(action, HangUp):
        params = {}
    else:
        return {}
    return {Param.METHOD: _METHODS[type(action)], Param.PARAMS: params}


def dial_params(to: str, caller_id: str, external_id: str) -> dict[str, Any]:
    """The `dial` action that places an outbound call."""
    return {
        Param.METHOD: Method.DIAL,
        Param.PARAMS: {
            Param.TO: digits_only(to),
            Param.CALLER_ID_NUMBER: digits_only(caller_id),
            Param.EXTERNAL_ID: external_id,
        },
    }
