"""Telesign's side of a call, played against an engine's webhook over HTTP.

The carrier posts v2 events shaped and signed as Telesign's, carries out each action the webhook
answers as the phone at the other end would (a `Phone`: answers or not, which keys it presses,
when its owner hangs up), and posts the next event, until the call ends. It records what the
caller heard, in the interpreter's transcript shape, and every answer that breaks Telesign's
documented rules (not an action, or an action Telesign refuses for that event). The tests' fake
Telesign plays each call it accepts with it; a simulator can drive a running server with it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ivrflow.calls.transcripts import Step
from ivrflow.calls.transfer import CALLER_HANGS_UP, NOT_ANSWERED, Script
from ivrflow.language.model import END_KEYS
from ivrflow.language.schema_files import validator
from ivrflow.telesign.auth import callback_signature
from ivrflow.telesign.facts import (
    ALLOWED_ANSWERS,
    ANSWERED,
    HUNG_UP,
    JSON,
    NO_ANSWER,
    SPEAK_SUCCESSFUL,
    TSA,
    EventField,
    EventName,
    Header,
    Method,
    Param,
)

MAX_ACTIONS = 500  # a call that goes on longer is a loop; the carrier hangs up


@dataclass
class Phone:
    """The phone at the other end: does it answer, what keys it presses at successive questions
    (None: none), and after how many questions its owner hangs up (None: never)."""

    answers: bool = True
    keys: list[str | None] = field(default_factory=list)
    hangs_up_after: int | None = None

    def entry(self, keys: Iterator[str | None], most: int) -> str:
        """The keys pressed at one question that collects up to `most`: one for a menu; for an
        entry, up to `most`, a pause (None) or an end key (`#` or `*`, sent with the entry, one of
        the two readings the engine takes)."""
        taken = ""
        while len(taken) < most:
            key = next(keys, None)
            if key is None:
                break
            taken += key
            if most > 1 and key in END_KEYS:
                break
        return taken


@dataclass
class CarriedCall:
    """One call as the carrier saw it."""

    reference_id: str  # Telesign's
    to: str
    caller_id: str  # the `from` number
    direction: str = "outbound"
    external_id: str | None = None
    heard: list[Step] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    last_body: bytes = b""  # the last event posted


class Carrier:
    def __init__(
        self,
        webhook: str,
        customer_id: str,
        api_key: str | None,
        phones: Mapping[str, Phone] | None = None,
        *,
        gap: float = 0.0,
    ) -> None:
        """`api_key` signs the events (None: unsigned, for a server that checks nothing);
        `phones` by number, the rest answer and press nothing. `gap`: the least time between two
        identical events of a call (a caller silent twice). On a real call speaking takes longer
        than a server's duplicate window, so a server takes identical events closer together than
        that for one event delivered twice; a carrier that plays calls faster than speech has to
        leave the gap itself."""
        self.webhook = webhook
        self.customer_id = customer_id
        self.api_key = api_key
        self.phones = phones or {}
        self.gap = gap

    def play(self, call: CarriedCall) -> CarriedCall:
        """Play the whole call: an outbound call from the callee's `dial_completed`, an inbound
        one from `incoming_call`. A failure of the carrier itself is recorded as a violation."""
        try:
            with httpx.Client(timeout=10) as client:
                self._play(call, client)
        except Exception as error:  # the caller reads violations: a crash here must not pass silently
            call.violations.append(f"the carrier failed: {error!r}")
        finally:
            call.done.set()
        return call

    def _post(self, client: httpx.Client, call: CarriedCall, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
        payload: dict[str, Any] = {
            EventField.EVENT: event,
            EventField.REFERENCE_ID: call.reference_id,
            EventField.DATA: data,
        }
        if call.external_id is not None:
            payload[EventField.EXTERNAL_ID] = call.external_id
        body = json.dumps(payload).encode()
        if self.gap and call.last_body == body:
            time.sleep(self.gap)
        call.last_body = body
        headers = {Header.CONTENT_TYPE: JSON}
        if self.api_key is not None:
            headers[Header.AUTHORIZATION] = f"{TSA} {self.customer_id}:{callback_signature(self.api_key, body)}"
        call.events.append(event)
        answer = client.post(self.webhook, content=body, headers=headers)
        if answer.status_code != 200:
            call.violations.append(f"{event}: the webhook answered HTTP {answer.status_code} {answer.text}")
            return None
        action: dict[str, Any] = answer.json()
        if action:
            problems = [error.message for error in validator("v2-action").iter_errors(action)]
            if problems:
                call.violations.append(f"{event}: {action} is not a Telesign action: {problems}")
            allowed = ALLOWED_ANSWERS.get(event)
            if allowed is not None and action.get(Param.METHOD) not in allowed:
                call.violations.append(
                    f"{event}: Telesign answers unsupported_call_state to {action.get(Param.METHOD)}"
                )
        return action

    def _play(self, call: CarriedCall, client: httpx.Client) -> None:
        began = time.time()
        phone = self.phones.get(call.to if call.direction == "outbound" else call.caller_id, Phone())
        if call.direction == "outbound":
            status = ANSWERED if phone.answers else NO_ANSWER
            action = self._post(
                client,
                call,
                EventName.DIAL_COMPLETED,
                {EventField.TO: call.to, EventField.FROM: call.caller_id, EventField.STATUS: status},
            )
        else:
            action = self._post(
                client, call, EventName.INCOMING_CALL, {EventField.TO: call.to, EventField.FROM: call.caller_id}
            )
        keys = Script(phone.keys)  # with a transfer's letter (a, n, c) where the caller is put through
        questions = 0
        for _ in range(MAX_ACTIONS):
            method = action.get(Param.METHOD) if action else None
            params = action.get(Param.PARAMS, {}) if action else {}
            if method == Method.SPEAK:
                call.heard.append({"say": params[Param.TTS][Param.TTS_MESSAGE]})
                data: dict[str, Any] = {EventField.STATUS: SPEAK_SUCCESSFUL}
                if Param.COLLECT_DIGITS in params:
                    if phone.hangs_up_after is not None and questions >= phone.hangs_up_after:
                        break  # the caller hangs up instead of answering
                    questions += 1
                    key = phone.entry(keys, int(params[Param.COLLECT_DIGITS][Param.COLLECT_MAX]))
                    call.heard.append({"press": key} if key else {"no_input": True})
                    data[EventField.COLLECTED_DIGITS] = key
                action = self._post(client, call, EventName.SPEAK_COMPLETED, data)
            elif method == Method.DIAL:  # a transfer: the far end answers or not; when it hangs up, the leg ends
                call.heard.append({"dial": params[Param.TO]})
                agent = self.phones.get(params[Param.TO], Phone())
                mark = keys.transfer()
                connects = agent.answers and mark != NOT_ANSWERED
                answered = ANSWERED if connects else NO_ANSWER
                action = self._post(
                    client,
                    call,
                    EventName.DIAL_COMPLETED,
                    {
                        EventField.TO: params[Param.TO],
                        EventField.FROM: params[Param.CALLER_ID_NUMBER],
                        EventField.STATUS: answered,
                    },
                )
                if connects:
                    if action:
                        call.violations.append(
                            f"dial_completed of a connected transfer answered {action}, expected {{}}"
                        )
                    if mark == CALLER_HANGS_UP:
                        break  # the caller hangs up while put through: the call is over (call_completed)
                    action = self._post(client, call, EventName.CALL_LEG_COMPLETED, {EventField.TO: params[Param.TO]})
            elif method == Method.HANGUP:
                call.heard.append({"hangup": True})
                break
            else:
                call.violations.append(
                    f"after {call.events[-1]} the webhook answered {action}: the call would sit in silence"
                )
                break
        ended = time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime())
        data = {
            "duration": int(time.time() - began),
            "created_on_utc": ended,
            "answered_on_utc": ended if phone.answers else None,
            "ended_on_utc": ended,
            EventField.STATUS: HUNG_UP,
            "audio_recording_file_name": None,
            EventField.TO: call.to,
            EventField.FROM: call.caller_id,
            "direction": call.direction,
        }
        closing = self._post(client, call, EventName.CALL_COMPLETED, data)
        if closing:
            call.violations.append(
                f"call_completed answered {closing}; Telesign ignores it, the webhook should answer {{}}"
            )
