"""Telesign v2 events in and actions out: shapes checked against schemas/v2-*.schema.json."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FLOWS, OPEN
from ivrflow.calls.events import CallStarted, HangUp, NoAction, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import new_call, step
from ivrflow.errors import BadEvent
from ivrflow.language.lint import flow_files
from ivrflow.language.loader import load_flow
from ivrflow.language.schema_files import validator
from ivrflow.telesign.v2 import action_json, looks_like_event, parse_event

# Telesign's documented example bodies (Voice - Events; the speak_completed shape from its demo).
INCOMING = b'{"event": "incoming_call", "reference_id": "2E5D1D2B-84A1-4E0C-9C1E-5D4A3E2B1C0F", "data": {"to": "15558675309", "from": "15555551212"}}'
SPOKEN = b'{"event": "speak_completed", "reference_id": "abc", "data": {"status": "speak_successful", "collected_digits": "1"}}'


def test_documented_events_parse() -> None:
    incoming = parse_event(INCOMING)
    assert (incoming.name, incoming.data["to"]) == ("incoming_call", "15558675309")
    spoken = parse_event(SPOKEN)
    assert spoken.digits == "1"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a Telesign voice event"),
        (b'{"event": "incoming_call", "reference_id": "x", "data": {"to": "1"}}', "'from' is a required property"),
        (b'{"event": "speak_completed", "reference_id": 5, "data": {}}', "reference_id"),
        (b'{"event": "speak_completed", "reference_id": "x"}', "'data' is a required property"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bad_events_are_refused_with_a_reason(body: bytes, words: str) -> None:
    with pytest.raises(BadEvent, match=words):
        parse_event(body)


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_body_parses_or_is_a_bad_event(body: bytes) -> None:
    with contextlib.suppress(BadEvent):
        parse_event(body)


def test_every_action_of_every_bundled_flow_matches_the_action_schema() -> None:
    for path in sorted(flow_files([FLOWS])):
        flow = load_flow(path)
        for keys in (["7", "1"], ["7", "2"], ["9", "9", "9", "9"], ["1"], ["2"], ["3"], [], ["5"] * 4):
            state, action = step(
                flow, new_call(flow), CallStarted({"caller": "15551230000", "called": "15558675309"}), OPEN
            )
            presses = iter(keys)
            while not isinstance(action, (HangUp, NoAction, Transfer)):
                assert not list(validator("v2-action").iter_errors(action_json(action)))
                assert isinstance(action, Speak)
                state, action = step(flow, state, SpeakDone(next(presses, "") if action.collect else ""), OPEN)
            assert not list(validator("v2-action").iter_errors(action_json(action))) or action == NoAction()


def test_action_json_shapes() -> None:
    assert action_json(Speak("Hi", "en-US", True)) == {
        "method": "speak",
        "params": {"tts": {"message": "Hi", "language": "en-US"}, "collect_digits": {"max": 1}},
    }
    assert action_json(Transfer("+15550001111", "15551230000", 600, "ww1")) == {
        "method": "dial",
        "params": {
            "to": "15550001111",
            "caller_id_number": "15551230000",
            "max_call_duration": "600",
            "send_dtmf": "ww1",
        },
    }
    assert action_json(HangUp()) == {"method": "hangup", "params": {}}
    assert action_json(NoAction()) == {}
    assert json.dumps(action_json(Speak("Grüße", "de-DE", False)), ensure_ascii=False)


_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.just(""),
    st.text(min_size=65, max_size=130),
    st.lists(st.integers(), max_size=1),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
_TEXT = st.text(min_size=1, max_size=4)
_DATA = st.fixed_dictionaries({}, optional=dict.fromkeys(("to", "from", "status", "collected_digits", "other"), _TEXT))
_NAMES = st.sampled_from(
    ["incoming_call", "dial_completed", "speak_completed", "play_completed", "call_completed", "call_leg_completed"]
)
_SHAPED = st.fixed_dictionaries(
    {"event": _NAMES, "reference_id": _TEXT, "data": _DATA}, optional={"external_id": st.one_of(st.none(), _TEXT)}
)


@st.composite
def _events(draw: st.DrawFn) -> object:
    """An event of the right shape (each field a string where one is wanted), then, mostly, one
    field anywhere in it replaced by something odd or taken away."""
    event: dict[str, object] = draw(_SHAPED)
    change = draw(st.sampled_from(["none", "top", "data", "drop"]))
    if change == "top":
        event[draw(st.sampled_from(["event", "reference_id", "external_id", "data"]))] = draw(_ODD)
    elif change == "data":
        data = dict(event["data"])  # type: ignore[call-overload]
        data[draw(st.sampled_from(["to", "from", "status", "collected_digits"]))] = draw(_ODD)
        event["data"] = data
    elif change == "drop":
        event.pop(draw(st.sampled_from(["event", "reference_id", "data"])))
    return event


_EVENTS = st.one_of(_ODD, _events())


@given(_EVENTS)
def test_the_fast_event_check_agrees_with_the_schema(data: object) -> None:
    """`looks_like_event` is schemas/v2-event.schema.json written out for speed: same verdict on anything."""
    assert looks_like_event(data) == validator("v2-event").is_valid(data)
