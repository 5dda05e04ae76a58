"""collect_digits in the interpreter (pure): lengths, checks, the read-back, either reading of what
Telesign sends back, attempts and on_fail; `{{ x | digits }}`; a dial's on_fail; the must-be-set
analysis of variables set during a call."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conftest import EXAMPLES, FLOWS
from ivrflow.calls.entries import entry_digits, luhn_ok
from ivrflow.calls.events import CallStarted, DialDone, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import new_call, step
from ivrflow.calls.transcripts import transcript
from ivrflow.language.dataflow import missing_path, must_be_set
from ivrflow.language.loader import load_flow
from ivrflow.language.texts import fill, spoken_digits
from ivrflow.telesign.v2 import action_json
from ivrflow.tools.journeys import render, walk_all

RX = load_flow(FLOWS / "prescription-line.yaml")
COLLECT = load_flow(EXAMPLES / "good" / "collect-digits.yaml")
ASK = "Please enter your 7 digit prescription number. It is printed at the top of your label."


def _said(steps: list[dict[str, object]]) -> list[object]:
    return [step["say"] for step in steps if "say" in step]


def test_the_entry_is_asked_for_with_its_most_keys_and_sent_as_collect_digits_max() -> None:
    state, _ = step(RX, new_call(RX), CallStarted({"caller": "15551230000"}))
    state, action = step(RX, state, SpeakDone("1"))
    assert isinstance(action, Speak) and action.text == ASK and action.most == 7 and action.end_key is None
    assert action_json(action)["params"]["collect_digits"] == {"max": 7}
    _, action = step(COLLECT, *step(COLLECT, new_call(COLLECT), CallStarted())[:1], SpeakDone("1"))
    assert isinstance(action, Speak) and action.most == 11 and action.end_key == "#"  # 10 digits and the end key


def test_either_reading_of_the_end_key_and_a_short_entry() -> None:
    assert entry_digits("123456#", "#") == entry_digits("123456", "#") == "123456"
    assert entry_digits("12#99", "#") == "12"  # anything after the end key is dropped
    assert entry_digits("12*3", "#") is None and entry_digits("12#", None) is None  # other keys: not an entry
    assert entry_digits("", "#") == ""


def test_a_good_entry_is_read_back_and_confirmed_then_said_digit_by_digit() -> None:
    steps = transcript(RX, [*"11234567", "1"])
    assert _said(steps)[2:] == [
        "You entered 1 2 3 4 5 6 7. Press 1 if that is right, or 2 to enter it again.",
        "One moment while I look that up.",  # the pharmacy's service, unreachable here: its on_error way
        "Thank you. Your refill of prescription 1 2 3 4 5 6 7 will be ready tomorrow after 2 PM. Goodbye.",
    ]


def test_2_asks_again_and_other_keys_read_back_again_each_using_an_attempt() -> None:
    said = _said(transcript(RX, [*"11234567", "2", *"7654321", "9"]))
    # 3 attempts: the 2, the 9 (read back again), then the silence when the keys run out: on_fail.
    assert (
        said[3] == ASK
        and said[4].startswith("You entered 7 6 5 4 3 2 1.")
        and said[5] == said[4]
        and said[6].startswith("Please hold")
    )
    said = _said(transcript(RX, [*"11234567", None, "1"]))
    assert said[2] == said[3] and said[5].startswith("Thank you. Your refill of prescription 1 2 3 4 5 6 7")


def test_a_wrong_entry_or_none_says_so_and_asks_again_then_on_fail() -> None:
    said = _said(transcript(RX, ["1", "0", "1", None, None, None]))
    assert said[1:] == [
        ASK,
        "That is not a prescription number. It has 7 digits and does not start with 0.",
        ASK,
        "Sorry, I did not hear a number.",
        ASK,
        "Please hold while I put you through to a pharmacist.",
    ]


def test_the_variable_is_saved_only_once_confirmed() -> None:
    state, _ = step(RX, new_call(RX), CallStarted())
    state, _ = step(RX, state, SpeakDone("1"))
    state, _ = step(RX, state, SpeakDone("1234567"))
    assert state.entry == "1234567" and "rx" not in state.variables and state.waiting == "confirm"
    state, _ = step(RX, state, SpeakDone("1"))
    assert state.variables["rx"] == "1234567" and state.entry == ""


def test_a_dial_with_on_fail_goes_there_when_nobody_answers() -> None:
    state, _ = step(RX, new_call(RX), CallStarted())
    state, action = step(RX, state, SpeakDone("0"))
    state, action = step(RX, state, SpeakDone(""))
    assert isinstance(action, Transfer)
    state, action = step(RX, state, DialDone(answered=False))
    assert (
        isinstance(action, Speak) and action.text.startswith("Sorry, no pharmacist is free") and state.node == "closed"
    )


@given(st.text(alphabet="0123456789", min_size=2, max_size=19))
def test_luhn_agrees_with_the_check_digit_it_makes(body: str) -> None:
    check = next(d for d in "0123456789" if luhn_ok(body + d))
    assert [d for d in "0123456789" if luhn_ok(body + d)] == [check]


def test_digits_filter() -> None:
    assert spoken_digits("1234") == "1 2 3 4" and spoken_digits("12 34") == "1 2 3 4"
    assert fill("code {{ c | digits }}, {{ c }}", {"c": "42"}) == "code 4 2, 42"
    assert fill("code {{ c | digits }}", {"c": "42"}, {"c"}) == "code \u2022\u2022\u2022"


def test_must_be_set_and_a_path_that_misses() -> None:
    flow = load_flow(EXAMPLES / "good" / "collect-digits.yaml")
    arriving = must_be_set(flow)
    assert arriving["paid"] == {"account", "card", "amount"} and arriving["desk"] == frozenset()
    assert missing_path(flow, "account", "desk") == [("menu", "#"), ("desk", "")]
    assert missing_path(flow, "amount", "paid") == []


def test_journeys_list_a_good_entry_a_wrong_one_a_silence_and_a_2() -> None:
    text = render(RX, walk_all(RX))
    for keys in ("112345671", "1123456_", "1_", "11234567212345671"):
        assert f'- keys: "{keys}' in text
    assert 'transfer: "not answered"' in text
