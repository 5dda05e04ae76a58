"""The live interpreter: whole calls through the bundled flows, and live = v1 for v1 flows."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from conftest import EXAMPLES, FLOWS, OPEN
from ivrflow.calls.events import (
    CallEnded,
    CallStarted,
    DialDone,
    HangUp,
    LegEnded,
    NoAction,
    Speak,
    SpeakDone,
    Transfer,
)
from ivrflow.calls.interpreter import TRANSFER_FAILED, new_call, step
from ivrflow.calls.transcripts import transcript
from ivrflow.language.loader import load_flow
from ivrflow.v1.compiler import CallOptions, compile_v1
from ivrflow.v1.playback import hear

REFILL = load_flow(FLOWS / "refill-reminder.yaml")
SUPPORT = load_flow(FLOWS / "support-menu.yaml")
GATE = "Press 7 to hear a message from City Pharmacy."
MENU = "Your refill of your prescription is ready. Press 1 to confirm pickup, 2 to cancel, or 9 to hear this again."


def test_refill_confirm() -> None:
    assert transcript(REFILL, ["7", "1"]) == [
        {"say": GATE},
        {"press": "7"},
        {"say": MENU},
        {"press": "1"},
        {"say": "Thank you. Your pickup is confirmed."},
        {"hangup": True},
    ]


def test_refill_variables_from_the_call() -> None:
    heard = transcript(REFILL, ["7"], {"drug": "amoxicillin", "pharmacy": "Main Street Pharmacy"})
    assert heard[0] == {"say": "Press 7 to hear a message from Main Street Pharmacy."}
    assert heard[2] == {
        "say": "Your refill of amoxicillin is ready. Press 1 to confirm pickup, 2 to cancel, or 9 to hear this again."
    }


def test_refill_no_input_and_wrong_keys_up_to_attempts_then_on_fail() -> None:
    heard = transcript(REFILL, ["7", None, "4", "5"])
    assert heard == [
        {"say": GATE},
        {"press": "7"},
        {"say": MENU},
        {"no_input": True},
        {"say": "Sorry, I did not hear a choice."},
        {"say": MENU},
        {"press": "4"},
        {"say": "Sorry, that is not one of the choices."},
        {"say": MENU},
        {"press": "5"},
        {"say": "Goodbye."},
        {"hangup": True},
    ]


def test_refill_cancel_and_last_words_are_one_text() -> None:
    assert transcript(REFILL, ["7", "2"])[-2:] == [
        {"say": "Your refill has been cancelled. Goodbye."},
        {"hangup": True},
    ]


def test_refill_repeats_up_to_the_limit() -> None:
    heard = transcript(REFILL, ["7", "9", "9", "9", "9"])
    again = [{"press": "9"}, {"say": "Here is that message again."}, {"say": MENU}]
    assert heard == [{"say": GATE}, {"press": "7"}, {"say": MENU}, *again * 3, {"press": "9"}, {"hangup": True}]


def test_prompt_two_chances_then_hang_up() -> None:
    assert transcript(REFILL, ["1", None]) == [
        {"say": GATE},
        {"press": "1"},
        {"say": GATE},
        {"no_input": True},
        {"hangup": True},
    ]


def test_support_transfer_and_loop_back() -> None:
    rated = [{"say": "Thank you for your rating. Goodbye."}, {"hangup": True}]
    assert transcript(SUPPORT, ["1", "4"], at=OPEN)[-5:] == [
        {"dial": "15550001111"},
        {"say": "Before you go: how would you rate your call today? Press a key from 1 for poor to 5 for excellent."},
        {"press": "4"},
        *rated,
    ]  # the agent hangs up in the end, and the caller rates the call
    heard = transcript(SUPPORT, ["3", "2", "5"], at=OPEN)
    assert heard[2] == {"say": "We are open Monday to Friday, 8 in the morning to 6 in the evening."}
    assert heard[5] == {"dial": "15550002222"} and heard[-2:] == rated
    assert transcript(SUPPORT, [None, None, None, "c"], at=OPEN)[-2:] == [
        {"say": "Let me put you through to someone who can help."},
        {"dial": "15550003333"},
    ]  # the caller hangs up while put through


def test_transfer_action_carries_dial_options() -> None:
    state, _ = step(SUPPORT, new_call(SUPPORT), CallStarted({"caller": "15551230000"}), OPEN)
    state, action = step(SUPPORT, state, SpeakDone("2"), OPEN)
    assert action == Transfer(to="15550002222", caller_id="15551230000", max_call_duration=None, send_dtmf="ww204")


def test_events_after_the_end_or_out_of_turn_change_nothing() -> None:
    state, action = step(REFILL, new_call(REFILL), CallStarted())
    assert isinstance(action, Speak) and action.collect
    assert step(REFILL, state, CallStarted()) == (state, NoAction())
    ended, action = step(REFILL, state, CallEnded())
    assert ended.ended and action == NoAction()
    assert step(REFILL, ended, SpeakDone("7")) == (ended, NoAction())
    hung, action = step(REFILL, replace(state, tries=1), SpeakDone("3"))
    assert action == HangUp() and hung.ended


V1_FLOWS = [load_flow(FLOWS / name) for name in ("appointment-reminder.yaml", "otp-delivery.yaml")]
KEYS = st.lists(st.one_of(st.none(), st.sampled_from(list("0123456789"))), max_size=8)


@given(st.sampled_from(V1_FLOWS), KEYS)
def test_live_and_v1_sound_the_same(flow: object, keys: list[str | None]) -> None:
    """For a v1-compilable flow, pressing the same keys gives the same transcript both ways."""
    params, _ = compile_v1(flow, CallOptions(to="15550100200", masked=True))  # type: ignore[arg-type]  # as transcripts show them
    assert params is not None
    assert transcript(flow, keys) == hear(params, keys)  # type: ignore[arg-type]


BILINGUAL = load_flow(EXAMPLES / "good" / "appointment-bilingual.yaml")


@given(st.sampled_from(BILINGUAL.languages), KEYS)
def test_live_and_v1_sound_the_same_in_each_language(language: str, keys: list[str | None]) -> None:
    """A flow in several languages is one v1 call per language, in that language's voice: a call
    that starts in it sounds the same live, each thing said in that language."""
    params, _ = compile_v1(BILINGUAL.speaking(language), CallOptions(to="15550100200", masked=True))
    assert params is not None and params["voice"] == f"f-{language}"
    heard = transcript(BILINGUAL, keys, language=language)
    assert heard == hear(params, keys, language)
    assert {step["language"] for step in heard if "say" in step} == {language}


APPOINTMENT = load_flow(FLOWS / "appointment-reminder.yaml")


def test_outbound_call_starts_when_answered_with_its_variables() -> None:
    placed = new_call(REFILL, {"drug": "amoxicillin", "called": "15550100200"})
    state, action = step(REFILL, placed, DialDone(answered=True))
    assert action == Speak(GATE, "en-US", True, 5.0)
    state, action = step(REFILL, state, SpeakDone("7"))
    assert isinstance(action, Speak) and action.text.startswith("Your refill of amoxicillin is ready.")
    assert state.variables["pharmacy"] == "City Pharmacy"  # the flow's default fills what was not given


def test_outbound_call_not_answered_ends_without_a_word() -> None:
    ended, action = step(APPOINTMENT, new_call(APPOINTMENT), DialDone(answered=False))
    assert ended.ended and action == HangUp()


def test_events_before_an_outbound_call_is_answered_change_nothing() -> None:
    placed = new_call(APPOINTMENT)
    for event in (SpeakDone("1"), SpeakDone(""), LegEnded()):
        assert step(APPOINTMENT, placed, event) == (placed, NoAction())


def test_menu_timeout_rides_on_the_speak_action() -> None:
    _, action = step(SUPPORT, new_call(SUPPORT), CallStarted({"caller": "15551230000"}), OPEN)
    assert isinstance(action, Speak) and action.collect and action.timeout == 6.0


def test_after_a_transfer() -> None:
    state, _ = step(SUPPORT, new_call(SUPPORT), CallStarted({"caller": "15551230000"}), OPEN)
    transferred, action = step(SUPPORT, state, SpeakDone("1"), OPEN)
    assert isinstance(action, Transfer) and transferred.waiting == "transfer"
    assert step(SUPPORT, transferred, DialDone(answered=True), OPEN) == (
        transferred,
        NoAction(),
    )  # connected: nothing to say
    assert step(SUPPORT, transferred, SpeakDone("5"), OPEN) == (transferred, NoAction())
    left, action = step(SUPPORT, transferred, LegEnded(), OPEN)  # the agent hung up: the caller is asked for a rating
    assert (left.node, left.waiting) == ("survey", "digits") and isinstance(action, Speak) and action.collect
    # Nobody answered and the dial has no on_fail: the caller is told so, never left in silence.
    failed, action = step(SUPPORT, transferred, DialDone(answered=False), OPEN)
    assert action == Speak(TRANSFER_FAILED, "en-US", False) and failed.waiting == "last-words"
    ended, action = step(SUPPORT, failed, SpeakDone(), OPEN)
    assert ended.ended and ended.outcome == "transfer_failed" and action == HangUp()


def test_a_leg_ending_outside_a_transfer_changes_nothing() -> None:
    state, _ = step(SUPPORT, new_call(SUPPORT), CallStarted({"caller": "15551230000"}), OPEN)
    assert step(SUPPORT, state, LegEnded(), OPEN) == (state, NoAction())
    assert step(SUPPORT, state, DialDone(answered=True), OPEN) == (state, NoAction())
