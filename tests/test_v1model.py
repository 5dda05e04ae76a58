"""The v1 behaviour model: what a caller hears for the keys they press."""

from __future__ import annotations

from conftest import FLOWS
from ivrflow.language.loader import load_flow
from ivrflow.v1.compiler import CallOptions, compile_v1
from ivrflow.v1.playback import hear


def _params(name: str) -> dict[str, str]:
    params, problems = compile_v1(load_flow(FLOWS / name), CallOptions(to="15550100200"))
    assert params is not None, problems
    return params


APPOINTMENT = _params("appointment-reminder.yaml")
MENU = APPOINTMENT["message"]
CONFIRMED = APPOINTMENT["tts_message_1"]
AGAIN = "Here is that message again."


def test_choice_plays_its_message_and_ends() -> None:
    assert hear(APPOINTMENT, ["1"]) == [{"say": MENU}, {"press": "1"}, {"say": CONFIRMED}, {"hangup": True}]


def test_no_key_or_wrong_key_ends_the_call() -> None:
    assert hear(APPOINTMENT, []) == [{"say": MENU}, {"no_input": True}, {"hangup": True}]
    assert hear(APPOINTMENT, ["5", "1"]) == [{"say": MENU}, {"press": "5"}, {"hangup": True}]


def test_three_repeats_then_the_fourth_press_ends_the_call() -> None:
    heard = hear(APPOINTMENT, ["9", "9", "9", "9", "1"])
    assert heard == [
        {"say": MENU},
        *([{"press": "9"}, {"say": AGAIN}, {"say": MENU}] * 3),
        {"press": "9"},
        {"hangup": True},
    ]


def test_repeat_then_choice() -> None:
    assert hear(APPOINTMENT, ["9", "2"]) == [
        {"say": MENU},
        {"press": "9"},
        {"say": AGAIN},
        {"say": MENU},
        {"press": "2"},
        {"say": APPOINTMENT["tts_message_2"]},
        {"hangup": True},
    ]


OTP = _params("otp-delivery.yaml")
GATE = OTP["prompt_message"]


def test_prompt_gives_two_chances() -> None:
    assert hear(OTP, ["5"]) == [{"say": GATE}, {"press": "5"}, {"say": OTP["message"]}, {"hangup": True}]
    assert hear(OTP, [None, "5"]) == [
        {"say": GATE},
        {"no_input": True},
        {"say": GATE},
        {"press": "5"},
        {"say": OTP["message"]},
        {"hangup": True},
    ]
    assert hear(OTP, ["1", "2", "5"]) == [
        {"say": GATE},
        {"press": "1"},
        {"say": GATE},
        {"press": "2"},
        {"hangup": True},
    ]
