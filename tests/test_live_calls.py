"""Whole calls through every bundled flow, on the server's app (in this process, as `ivrflow serve`
builds it) over HTTP with a real SQLite file: every menu choice, no input, wrong keys up to the limit, repeats up to the limit, transfers
and last words, heard exactly as written here."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FLOWS, OPEN
from inprocess import App, serving
from ivrflow.calls.interpreter import TRANSFER_FAILED
from ivrflow.calls.transcripts import transcript
from ivrflow.language.loader import load_flow
from ivrflow.language.model import Flow
from ivrflow.language.texts import hide_values
from live_server import CALLER, action, call, completed, dialled, incoming, said, spoken

APPOINTMENT = load_flow(FLOWS / "appointment-reminder.yaml")
OTP = load_flow(FLOWS / "otp-delivery.yaml")
REFILL = load_flow(FLOWS / "refill-reminder.yaml")
SUPPORT = load_flow(FLOWS / "support-menu.yaml")
PRESCRIPTION = load_flow(FLOWS / "prescription-line.yaml")
PATIENT = "15550100200"

HANGUP = {"hangup": True}
NO_KEY = {"no_input": True}


def say(text: str) -> dict[str, object]:
    return {"say": text}


def press(key: str) -> dict[str, object]:
    return {"press": key}


# The conversations, word for word.
APPOINTMENT_MENU = say(
    "Hello, this is Riverside Clinic with a reminder of your appointment tomorrow at 9 in the morning. "
    "Press 1 to confirm, press 2 to cancel, or press 9 to hear this message again."
)
APPOINTMENT_AGAIN = say("Here is that message again.")
APPOINTMENT_CALLS = {
    "confirm": (
        ["1"],
        [
            APPOINTMENT_MENU,
            press("1"),
            say("Thank you. Your appointment is confirmed. We look forward to seeing you."),
            HANGUP,
        ],
    ),
    "cancel, with last words": (
        ["2"],
        [
            APPOINTMENT_MENU,
            press("2"),
            say("Your appointment has been cancelled. To book a new time, call us during opening hours. Goodbye."),
            HANGUP,
        ],
    ),
    "no key": ([None], [APPOINTMENT_MENU, NO_KEY, HANGUP]),
    "wrong key": (["5"], [APPOINTMENT_MENU, press("5"), HANGUP]),
    "repeat then confirm": (
        ["9", "1"],
        [
            APPOINTMENT_MENU,
            press("9"),
            APPOINTMENT_AGAIN,
            APPOINTMENT_MENU,
            press("1"),
            say("Thank you. Your appointment is confirmed. We look forward to seeing you."),
            HANGUP,
        ],
    ),
    "repeats up to the limit": (
        ["9"] * 4,
        [APPOINTMENT_MENU, *[press("9"), APPOINTMENT_AGAIN, APPOINTMENT_MENU] * 3, press("9"), HANGUP],
    ),
}

OTP_GATE = say("This is Acme Bank with your sign-in code. Press 5 to hear it.")
OTP_CODE = say("Your code is 4 8 1 5. Again, your code is 4 8 1 5. Never share this code with anyone. Goodbye.")
OTP_CALLS = {
    "code": (["5"], [OTP_GATE, press("5"), OTP_CODE, HANGUP]),
    "second chance": (["3", "5"], [OTP_GATE, press("3"), OTP_GATE, press("5"), OTP_CODE, HANGUP]),
    "same wrong key twice": (["3", "3"], [OTP_GATE, press("3"), OTP_GATE, press("3"), HANGUP]),
    "silent twice": ([None, None], [OTP_GATE, NO_KEY, OTP_GATE, NO_KEY, HANGUP]),
}

REFILL_GATE = say("Press 7 to hear a message from City Pharmacy.")
REFILL_MENU = say(
    "Your refill of amoxicillin is ready. Press 1 to confirm pickup, 2 to cancel, or 9 to hear this again."
)
NOT_HEARD = say("Sorry, I did not hear a choice.")
NOT_A_CHOICE = say("Sorry, that is not one of the choices.")
REFILL_AGAIN = say("Here is that message again.")
REFILL_CALLS = {
    "confirm": (
        ["7", "1"],
        [REFILL_GATE, press("7"), REFILL_MENU, press("1"), say("Thank you. Your pickup is confirmed."), HANGUP],
    ),
    "cancel, with last words": (
        ["7", "2"],
        [REFILL_GATE, press("7"), REFILL_MENU, press("2"), say("Your refill has been cancelled. Goodbye."), HANGUP],
    ),
    "no key, wrong key, wrong key: on_fail": (
        ["7", None, "4", "5"],
        [
            REFILL_GATE,
            press("7"),
            REFILL_MENU,
            NO_KEY,
            NOT_HEARD,
            REFILL_MENU,
            press("4"),
            NOT_A_CHOICE,
            REFILL_MENU,
            press("5"),
            say("Goodbye."),
            HANGUP,
        ],
    ),
    "no key three times: on_fail": (
        ["7", None, None, None],
        [
            REFILL_GATE,
            press("7"),
            REFILL_MENU,
            NO_KEY,
            NOT_HEARD,
            REFILL_MENU,
            NO_KEY,
            NOT_HEARD,
            REFILL_MENU,
            NO_KEY,
            say("Goodbye."),
            HANGUP,
        ],
    ),
    "wrong key then confirm": (
        ["7", "0", "1"],
        [
            REFILL_GATE,
            press("7"),
            REFILL_MENU,
            press("0"),
            NOT_A_CHOICE,
            REFILL_MENU,
            press("1"),
            say("Thank you. Your pickup is confirmed."),
            HANGUP,
        ],
    ),
    "repeats up to the limit": (
        ["7", *["9"] * 4],
        [REFILL_GATE, press("7"), REFILL_MENU, *[press("9"), REFILL_AGAIN, REFILL_MENU] * 3, press("9"), HANGUP],
    ),
    "gate missed twice": (["1", None], [REFILL_GATE, press("1"), REFILL_GATE, NO_KEY, HANGUP]),
}

SUPPORT_MENU = say(
    "Thanks for calling Acme support. For billing, press 1. For technical support, press 2. To hear our opening hours, press 3. To hear these options again, press 9."
)
HOURS = say("We are open Monday to Friday, 8 in the morning to 6 in the evening.")
SURVEY = say("Before you go: how would you rate your call today? Press a key from 1 for poor to 5 for excellent.")
RATED = say("Thank you for your rating. Goodbye.")
SUPPORT_CALLS = {  # each transfer's agent hangs up first: the caller is asked for a rating
    "billing": (["1", "4"], [SUPPORT_MENU, press("1"), {"dial": "15550001111"}, SURVEY, press("4"), RATED, HANGUP]),
    "technical": (["2", "5"], [SUPPORT_MENU, press("2"), {"dial": "15550002222"}, SURVEY, press("5"), RATED, HANGUP]),
    "hours, then technical": (
        ["3", "2", "3"],
        [
            SUPPORT_MENU,
            press("3"),
            HOURS,
            SUPPORT_MENU,
            press("2"),
            {"dial": "15550002222"},
            SURVEY,
            press("3"),
            RATED,
            HANGUP,
        ],
    ),
    "no key, wrong key, no key: the operator": (
        [None, "7", None, "1"],
        [
            SUPPORT_MENU,
            NO_KEY,
            NOT_HEARD,
            SUPPORT_MENU,
            press("7"),
            say("Sorry, that is not one of the options."),
            SUPPORT_MENU,
            NO_KEY,
            say("Let me put you through to someone who can help."),
            {"dial": "15550003333"},
            SURVEY,
            press("1"),
            RATED,
            HANGUP,
        ],
    ),
    "repeats up to the limit": (["9"] * 4, [SUPPORT_MENU, *[press("9"), SUPPORT_MENU] * 3, press("9"), HANGUP]),
    "repeat, then billing, then no rating": (
        ["9", "1", "6", None],
        [
            SUPPORT_MENU,
            press("9"),
            SUPPORT_MENU,
            press("1"),
            {"dial": "15550001111"},
            SURVEY,
            press("6"),
            say("Please press a key from 1 to 5."),
            SURVEY,
            NO_KEY,
            say("Thank you for calling Acme support. Goodbye."),
            HANGUP,
        ],
    ),
}

OUTBOUND = {
    "appointment-reminder": (APPOINTMENT, APPOINTMENT_CALLS, {}),
    "otp-delivery": (OTP, OTP_CALLS, {"code": "4 8 1 5"}),
    "refill-reminder": (REFILL, REFILL_CALLS, {"drug": "amoxicillin"}),
}
_numbers = itertools.count()


def _reference() -> str:
    return f"call-{next(_numbers)}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # A window of 0: a caller who does the same thing twice in a row sends the same body twice,
    # and these calls go faster than any caller could (the window itself is tested in test_server).
    with serving(tmp_path_factory.mktemp("live") / "calls.db", duplicate_window=0) as running:
        yield running


@pytest.mark.parametrize(
    ("flow_id", "case"), [(flow_id, case) for flow_id, (_, calls, _) in OUTBOUND.items() for case in calls]
)
def test_outbound_calls_through_every_v1_style_flow(server: App, flow_id: str, case: str) -> None:
    flow, calls, variables = OUTBOUND[flow_id]
    keys, expected = calls[case]
    reference = _reference()
    server.place_outbound(flow, reference, PATIENT, variables)
    assert call(server, reference, dialled(reference), keys) == expected
    assert action(server.post(completed(reference))) == {}
    assert masked(expected, flow, variables) == transcript(
        flow, keys, variables, at=OPEN
    )  # the interpreter in-process agrees


@pytest.mark.parametrize("case", list(SUPPORT_CALLS))
def test_inbound_calls_through_the_support_line(server: App, case: str) -> None:
    keys, expected = SUPPORT_CALLS[case]
    reference = _reference()
    assert call(server, reference, incoming(reference), keys) == expected
    assert expected == transcript(SUPPORT, keys, {"caller": CALLER}, OPEN)


def test_transfer_carries_caller_id_and_dial_options(server: App) -> None:
    reference = _reference()
    assert said(server.post(incoming(reference))) == SUPPORT_MENU["say"]
    assert action(server.post(spoken(reference, "1"))) == {
        "method": "dial",
        "params": {"to": "15550001111", "caller_id_number": CALLER, "max_call_duration": "1800"},
    }


def test_after_a_transfer_connects_the_flow_waits_then_asks_for_a_rating_when_the_agent_leaves(server: App) -> None:
    reference = _reference()
    action(server.post(incoming(reference)))
    assert action(server.post(spoken(reference, "2")))["method"] == "dial"
    assert action(server.post(dialled(reference, "answered", to="15550002222"))) == {}
    # The demo's survey example: call_leg_completed (here naming no leg) is answered with the survey.
    assert said(server.post({"event": "call_leg_completed", "reference_id": reference, "data": {}})) == SURVEY["say"]
    assert said(server.post(spoken(reference, "5"))) == RATED["say"]
    assert action(server.post(spoken(reference, None))) == {"method": "hangup", "params": {}}
    assert action(server.post(completed(reference))) == {}


def test_a_caller_who_hangs_up_while_put_through_is_never_asked_for_a_rating(server: App) -> None:
    left = _reference()  # Telesign says the caller's own leg ended: the agent is hung up on, no survey
    action(server.post(incoming(left)))
    assert action(server.post(spoken(left, "1")))["method"] == "dial"
    assert action(server.post(dialled(left, "answered", to="15550001111"))) == {}
    leg = {"event": "call_leg_completed", "reference_id": left, "data": {"to": CALLER}}
    assert action(server.post(leg)) == {"method": "hangup", "params": {}}
    assert action(server.post(completed(left))) == {}
    gone = _reference()  # or only call_completed comes
    action(server.post(incoming(gone)))
    assert action(server.post(spoken(gone, "1")))["method"] == "dial"
    assert action(server.post(dialled(gone, "answered", to="15550001111"))) == {}
    assert action(server.post(completed(gone))) == {}
    for reference in (left, gone):
        record = server.store.get(reference)
        assert record is not None and (record.status, record.state.node) == ("transferred", "billing")


def test_a_transfer_nobody_answers_ends_the_call(server: App) -> None:
    reference = _reference()
    action(server.post(incoming(reference)))
    assert action(server.post(spoken(reference, "1")))["method"] == "dial"
    # The support line's dials have no on_fail: the caller is told, then the call ends.
    assert said(server.post(dialled(reference, "no-answer", to="15550001111"))) == TRANSFER_FAILED
    assert action(server.post(spoken(reference, None))) == {"method": "hangup", "params": {}}


def test_an_outbound_call_nobody_answers_is_closed_and_hears_nothing(server: App) -> None:
    reference = _reference()
    server.place_outbound(APPOINTMENT, reference, PATIENT)
    assert action(server.post(dialled(reference, "no-answer"))) == {"method": "hangup", "params": {}}
    assert action(server.post(spoken(reference, "1"))) == {}  # a late event changes nothing


def test_events_out_of_order_change_nothing(server: App) -> None:
    reference = _reference()
    server.place_outbound(REFILL, reference, PATIENT)
    # Before the callee answered: nothing was said, so nothing can have been completed.
    assert action(server.post(spoken(reference, "7"))) == {}
    assert action(server.post({"event": "call_leg_completed", "reference_id": reference, "data": {}})) == {}
    assert said(server.post(dialled(reference))) == REFILL_GATE["say"]
    # A second dial_completed, while the gate waits for a key: nothing changes.
    assert action(server.post(dialled(reference, "no-answer"))) == {}
    assert said(server.post(spoken(reference, "7"))) == REFILL_MENU["say"].replace("amoxicillin", "your prescription")


# Telesign's own example bodies: dial_completed as on its Voice - Events page (the `from` number
# is cut off in every copy we could read; 15555551212 is the number of its other examples), and
# call_completed as its voice demo records it.
DOCUMENTED_DIAL_COMPLETED = b"""{
  "event": "dial_completed",
  "reference_id": "BC96D7B0D1800164898350B4E71B005C",
  "external_id": "4142b474-d65d-4265-a5fa-a581b1fe6101",
  "data": {"to": "15558675309", "from": "15555551212", "status": "answered"}
}"""
DOCUMENTED_CALL_COMPLETED = b"""{
  "reference_id": "BC96D7B0D1800164898350B4E71B005C",
  "event": "call_completed",
  "data": {"duration": 6, "created_on_utc": "2019-03-15T06:48:16.151", "answered_on_utc": "2019-03-15T06:48:17.151",
           "ended_on_utc": "2019-03-15T06:48:22.151", "status": "hangup", "audio_recording_file_name": null,
           "to": "15558675309", "from": "15555551212", "direction": "outbound"}
}"""


def test_telesigns_documented_events_drive_a_call_to_hangup(tmp_path: Path) -> None:
    """Telesign's getting-started test: dial out, answer `dial_completed` with `hangup`, get
    `call_completed`. Here the outbound call runs a flow that only hangs up. The call is stored
    under the id the engine sent as `external_id`; the documented call_completed carries none,
    and finds the call by Telesign's reference id, learnt from the dial_completed."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "hang-up.yaml").write_text("flow: hang-up\ncaller_id: '15555551212'\nnodes:\n  bye:\n    type: hangup\n")
    ours = "4142b474-d65d-4265-a5fa-a581b1fe6101"
    with serving(tmp_path / "calls.db", flows=flows) as running:
        running.place_outbound(load_flow(flows / "hang-up.yaml"), ours, "15558675309")
        answer = running.post({}, raw=DOCUMENTED_DIAL_COMPLETED)
        assert (answer.status_code, answer.json()) == (200, {"method": "hangup", "params": {}})
        closing = running.post({}, raw=DOCUMENTED_CALL_COMPLETED)
        assert (closing.status_code, closing.json()) == (200, {})
        late = running.post(spoken("BC96D7B0D1800164898350B4E71B005C", "1"))
        assert (late.status_code, late.json()) == (200, {})  # the record is closed
        seen = running.get("/calls/BC96D7B0D1800164898350B4E71B005C").json()
        assert (seen["reference_id"], seen["telesign_reference_id"], seen["status"]) == (
            ours,
            "BC96D7B0D1800164898350B4E71B005C",
            "completed",
        )
        assert [{k: v for k, v in step.items() if k != "at"} for step in seen["transcript"]] == [{"hangup": True}]


def masked(heard: list[dict[str, object]], flow: Flow, variables: dict[str, str]) -> list[dict[str, object]]:
    """What the phone heard as a transcript shows it: sensitive values (the code) masked."""
    secrets = [value for name, value in variables.items() if name in flow.sensitive]
    return [
        {k: hide_values(v, secrets) if k == "say" and isinstance(v, str) else v for k, v in step.items()}
        for step in heard
    ]


KEYS = st.lists(st.one_of(st.none(), st.sampled_from(list("0123579"))), max_size=7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["appointment-reminder", "otp-delivery", "refill-reminder", "support-menu", "prescription-line"]),
    KEYS,
)
def test_any_keys_sound_the_same_over_http_as_in_process(server: App, flow_id: str, keys: list[str | None]) -> None:
    reference = _reference()
    if flow_id == "support-menu":
        assert call(server, reference, incoming(reference), keys) == transcript(SUPPORT, keys, {"caller": CALLER}, OPEN)
    elif flow_id == "prescription-line":  # several keys at once, checked and read back
        assert call(server, reference, incoming(reference, to=PRESCRIPTION.numbers[0]), keys) == transcript(
            PRESCRIPTION, keys, {"caller": CALLER}
        )
    else:
        flow, _, variables = OUTBOUND[flow_id]
        server.place_outbound(flow, reference, PATIENT, variables)
        assert masked(call(server, reference, dialled(reference), keys), flow, variables) == transcript(
            flow, keys, variables
        )


def test_an_incoming_call_delivered_again_however_late_gets_its_first_answer(server: App) -> None:
    """This server's duplicate window is 0: only the rule that a call starts once makes it a redelivery."""
    reference = _reference()
    first = action(server.post(incoming(reference)))
    assert first["method"] == "speak"
    assert action(server.post(incoming(reference))) == first  # not `{}`: its first answer may never have arrived
    assert said(server.post(spoken(reference, "3"))).startswith("We are open")  # and the call did not move
