"""A transfer's `next` (the caller goes on when the far end hangs up first: a survey, the next
agent), the key-script letters that say how a transfer goes, and the live outcomes the stores
count as calls go (per menu, per collect_digits, per ending), exact on SQLite and Redis."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from conftest import FLOWS, OPEN
from inprocess import App, listening
from ivrflow.calls.events import CallEnded, CallStarted, DialDone, Event, HangUp, LegEnded, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import new_call, step
from ivrflow.calls.outcomes import outcomes, outcomes_text
from ivrflow.calls.record import CallRecord
from ivrflow.calls.tally import counted_values, step_tally
from ivrflow.calls.transcripts import transcript
from ivrflow.errors import KeyScriptError
from ivrflow.language.loader import check_bytes, load_flow
from ivrflow.stores import MemoryStore, RedisStore, SqliteStore, Store
from ivrflow.telesign.auth import basic_authorization
from ivrflow.tools.answers import answerer
from ivrflow.tools.graph import edges
from ivrflow.tools.journeys import Walked, trace, walk_all
from ivrflow.tools.simulate import over_http, parse_keys
from live_server import CUSTOMER_ID
from redis_server import RedisServer

SUPPORT = load_flow(FLOWS / "support-menu.yaml")
CALLER = "15550000000"
MENU = "Thanks for calling Acme support. For billing, press 1. For technical support, press 2. To hear our opening hours, press 3. To hear these options again, press 9."
SURVEY = "Before you go: how would you rate your call today? Press a key from 1 for poor to 5 for excellent."
RATED = "Thank you for your rating. Goodbye."

TIERS = b"""flow: tiers
language: en-US
numbers: ["15558670002"]
nodes:
  first-tier:
    type: dial
    to: "15550001000"
    next: second-tier
    on_fail: sorry
  second-tier:
    type: dial
    to: "15550002000"
    next: manager
  manager:
    type: dial
    to: "15550003000"
  sorry:
    type: hangup
    message: "Nobody can take your call now. Goodbye."
"""


def _flow(text: bytes) -> Any:
    checked = check_bytes(text, "test.yaml")
    assert checked.ok and checked.flow is not None, checked.diagnostics
    return checked.flow


# --- the interpreter -----------------------------------------------------------------------------


def _at_transfer(keys: str = "1") -> Any:
    state, _ = step(SUPPORT, new_call(SUPPORT), CallStarted({"caller": CALLER, "called": "15558675309"}), OPEN)
    state, action = step(SUPPORT, state, SpeakDone(keys), OPEN)
    assert isinstance(action, Transfer) and state.waiting == "transfer"
    state, action = step(SUPPORT, state, DialDone(True), OPEN)
    return state


def test_when_the_far_end_hangs_up_the_caller_goes_on_to_the_dials_next() -> None:
    for leg in ("", "15550001111", "+15550001111", "15559999999"):  # not named, the agent, another leg
        state, action = step(SUPPORT, _at_transfer(), LegEnded(leg), OPEN)
        assert isinstance(action, Speak) and action.text == SURVEY and action.collect
        assert (state.node, state.waiting) == ("survey", "digits")


def test_when_the_callers_own_leg_ends_the_far_end_is_hung_up_on_and_hears_no_survey() -> None:
    state, action = step(SUPPORT, _at_transfer(), LegEnded(CALLER), OPEN)
    assert isinstance(action, HangUp) and (state.outcome, state.node) == ("transferred", "billing")
    state, action = step(SUPPORT, _at_transfer(), CallEnded(), OPEN)  # or only call_completed comes
    assert state.ended and (state.outcome, state.node) == ("transferred", "billing")


def test_a_dial_without_next_ends_the_call_when_the_far_end_hangs_up_as_before() -> None:
    tiers = _flow(TIERS)
    state, _ = step(tiers, new_call(tiers), CallStarted({"caller": CALLER}))
    for node, number in (("first-tier", "15550001000"), ("second-tier", "15550002000")):
        assert state.node == node
        state, _ = step(tiers, state, DialDone(True))
        state, action = step(tiers, state, LegEnded(number))
    assert isinstance(action, Transfer) and action.to == "15550003000"  # the three-leg example
    state, _ = step(tiers, state, DialDone(True))
    state, action = step(tiers, state, LegEnded("15550003000"))
    assert isinstance(action, HangUp) and state.outcome == "transferred"


def test_key_scripts_say_how_each_transfer_goes() -> None:
    tiers = _flow(TIERS)
    dials = [{"dial": "15550001000"}, {"dial": "15550002000"}, {"dial": "15550003000"}]
    assert transcript(tiers, []) == [*dials, {"hangup": True}]  # default: each far end hangs up first
    assert transcript(tiers, list("aaa")) == transcript(tiers, [])
    assert transcript(tiers, list("ac")) == dials[:2]  # the caller hangs up at the second tier
    assert transcript(tiers, list("n")) == [
        dials[0],
        {"say": "Nobody can take your call now. Goodbye."},
        {"hangup": True},
    ]
    assert transcript(SUPPORT, parse_keys("2a5"), at=OPEN) == [
        {"say": MENU},
        {"press": "2"},
        {"dial": "15550002222"},
        {"say": SURVEY},
        {"press": "5"},
        {"say": RATED},
        {"hangup": True},
    ]
    assert transcript(SUPPORT, parse_keys("25"), at=OPEN) == transcript(SUPPORT, parse_keys("2a5"), at=OPEN)
    with pytest.raises(KeyScriptError, match="'n' where the call asks a question"):
        transcript(SUPPORT, parse_keys("n"), at=OPEN)
    with pytest.raises(ValueError, match="not 'x'"):
        parse_keys("2x")


def test_journeys_and_the_diagram_follow_the_survey_and_replay_with_their_keys() -> None:
    walked = walk_all(SUPPORT)
    assert len(walked.journeys) == 101 and not walked.truncated
    rated = [j for j in walked.journeys if j.ends_at == "thanks"]
    assert rated and all({"say": SURVEY} in j.steps for j in rated)
    prescription = load_flow(FLOWS / "prescription-line.yaml")
    answer = answerer(prescription, {}, FLOWS)
    for journey in walk_all(prescription).journeys:  # a transfer nobody answered has its n
        assert ("n" in journey.keys) == journey.transfer_failed
        if not any(
            "on_error" in str(said.get("lookup", "")) for said in journey.steps
        ):  # keys replay the usual answers
            replayed = trace(prescription, list(journey.keys), {}, Walked(), answer, journey.at or 0.0)
            assert replayed.steps == journey.steps
    assert ("billing", "survey", "after the transfer") in set(edges(SUPPORT))
    assert ("billing", "(end)", "not answered") in set(edges(SUPPORT))


def test_a_dial_with_next_and_on_fail_needs_a_way_out_beyond_it() -> None:
    ring = b"""flow: ring
language: en-US
nodes:
  a:
    type: dial
    to: "15550001000"
    next: b
    on_fail: b
  b:
    type: dial
    to: "15550002000"
    next: a
    on_fail: a
"""
    checked = check_bytes(ring, "ring.yaml")
    assert [d.rule for d in checked.diagnostics if d.level == "error"] == ["no-way-out"]
    assert check_bytes(ring.replace(b"    on_fail: a\n", b""), "ring.yaml").ok  # b's failure ends the call


# --- counting ------------------------------------------------------------------------------------

Steps = list[Event]


def _run(store: Store, flow: Any, reference: str, events: Steps, clock: list[float]) -> None:
    """One call through `store` as the webhook runs it: each event a transaction that stores the
    new state with what its step adds to the counts."""
    for event in events:

        def change(record: CallRecord | None, event: Event = event) -> tuple[CallRecord, list[Any], None]:
            clock[0] += 1
            if record is None:
                record = CallRecord(reference, new_call(flow), updated=clock[0], created=clock[0])
            after, _ = step(flow, record.state, event, OPEN)
            tally = step_tally(flow, record.state, event, after)
            return CallRecord(reference, after, updated=clock[0], created=record.created, tally=tally), [], None

        store.update(reference, change)


START = CallStarted({"caller": CALLER, "called": "15558675309"})
AGENT = [DialDone(True), LegEnded("")]
CALLS: dict[str, Steps] = {
    "billing, rated 4": [START, SpeakDone("1"), *AGENT, SpeakDone("4"), SpeakDone(""), CallEnded()],
    "technical, rated 5": [START, SpeakDone("2"), *AGENT, SpeakDone("5"), SpeakDone(""), CallEnded()],
    "repeat, billing, 6, silence": [
        START,
        SpeakDone("9"),
        SpeakDone("1"),
        *AGENT,
        SpeakDone("6"),
        SpeakDone(""),  # "Please press a key from 1 to 5."
        SpeakDone(""),  # the survey again: silence uses up its two attempts
        SpeakDone(""),
        CallEnded(),
    ],
    "the operator, rated 5": [
        START,
        SpeakDone(""),
        SpeakDone(""),
        SpeakDone("7"),
        SpeakDone(""),
        SpeakDone(""),
        SpeakDone(""),  # "Let me put you through"
        *AGENT,
        SpeakDone("5"),
        SpeakDone(""),
        CallEnded(),
    ],
    "hangs up at billing": [START, SpeakDone("1"), DialDone(True), CallEnded()],
}
EXPECTED: dict[str, Any] = {
    "flow": "support-menu",
    "calls": 5,
    "v1_calls": 0,
    "live_calls": 5,
    "answered": 5,
    "choices": [],
    "no_choice": 0,
    "statuses": {"completed": 4, "transferred": 1},
    "menus": [
        {
            "node": "welcome",
            "type": "select_digits",
            "keys": [
                {"key": "1", "node": "billing", "times": 3},
                {"key": "2", "node": "technical", "times": 1},
                {"key": "3", "node": "hours", "times": 0},
                {"key": "9", "node": "again", "times": 1},
                {"key": "7", "node": None, "times": 1},
            ],
            "no_input": 2,
            "used_up": 1,
        }
    ],
    "answers": [
        {
            "node": "survey",
            "save_as": "rating",
            "sensitive": False,
            "entered": 3,
            "no_input": 1,
            "invalid": 1,
            "used_up": 1,
            "values": [{"value": str(n), "times": {4: 1, 5: 2}.get(n, 0)} for n in range(1, 6)],
        }
    ],
    "endings": [
        {"node": "thanks", "outcome": "completed", "calls": 3},
        {"node": "billing", "outcome": "transferred", "calls": 1},
        {"node": "goodbye", "outcome": "completed", "calls": 1},
    ],
}


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "calls.db")
        yield opened
        opened.close()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        redis.Redis.from_url(server.url).flushdb()
        opened = RedisStore(server.url)
        yield opened
        opened.close()


def test_outcomes_are_exact_after_a_known_set_of_calls(store: Store) -> None:
    clock = [1000.0]
    for number, events in enumerate(CALLS.values()):
        _run(store, SUPPORT, f"call-{number}", events, clock)
    assert outcomes("support-menu", store.counts("support-menu"), SUPPORT) == EXPECTED
    # The same event again (a redelivery the webhook stores nothing for) adds nothing; a call of
    # another flow counts for that flow only.
    store.update("call-0", lambda record: (None, [], None))
    _run(store, _flow(TIERS), "tiers-1", [CallStarted({"caller": CALLER}), *AGENT, CallEnded()], clock)
    assert outcomes("support-menu", store.counts("support-menu"), SUPPORT) == EXPECTED
    assert store.counts("tiers")["status:in_progress"] == 0 and store.counts("tiers")["calls"] == 1
    text = outcomes_text(EXPECTED)
    assert "  select_digits welcome:\n    3 pressed 1 → billing\n" in text
    assert "    1 pressed 7 (not a choice)\n    2 no key; 1 used up their attempts\n" in text
    assert "    2 answered 5\n    3 entered; 1 no key; 1 not valid; 1 used up their attempts\n" in text
    assert "  endings: 3 at thanks (completed), 1 at billing (transferred), 1 at goodbye (completed)\n" in text


PIN = b"""flow: pin
language: en-US
vars:
  pin: { default: "", sensitive: true }
nodes:
  ask:
    type: collect_digits
    message: "Enter the one digit of your PIN."
    save_as: code
    length: 1
    sensitive: true
    next: done
  rate:
    type: collect_digits
    message: "Rate us from 1 to 3."
    save_as: stars
    length: 1
    valid:
      between: [1, 3]
    next: done
  done:
    type: hangup
    message: "Goodbye."
"""


def test_sensitive_entries_are_never_counted_by_value(store: Store) -> None:
    pin = _flow(PIN)
    ask, rate = pin.nodes["ask"], pin.nodes["rate"]
    assert counted_values(pin, ask) is None and counted_values(pin, rate) == ("1", "2", "3")
    clock = [0.0]
    for number, digit in enumerate("7307"):
        _run(store, pin, f"pin-{number}", [CallStarted({}), SpeakDone(digit), SpeakDone(""), CallEnded()], clock)
    counts = store.counts("pin")
    assert counts["entry:ask:entered"] == 4
    assert not any(name.startswith("entry:ask:value") for name in counts)
    assert not any(digit in name for name in counts for digit in "0379")
    summary = outcomes("pin", counts, pin)
    assert summary["answers"][0] == {
        "node": "ask",
        "save_as": "code",
        "sensitive": True,
        "entered": 4,
        "no_input": 0,
        "invalid": 0,
        "used_up": 0,
        "values": None,
    }
    assert summary["answers"][1]["values"] == [{"value": v, "times": 0} for v in "123"]


# --- the server, driven by the test carrier ------------------------------------------------------


KEY = base64.b64encode(b"after-transfer-test-key-32-bytes").decode()
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}


@pytest.fixture
def served(tmp_path: Path) -> Any:
    with listening(tmp_path / "calls.db", api_key=KEY, duplicate_window=0) as app:
        yield app


def test_over_http_the_agent_hangs_up_the_caller_rates_and_outcomes_count_it(served: App) -> None:
    """The test carrier plays Telesign: call_leg_completed (data.to the agent) when the agent hangs
    up first, call_completed alone when the caller does (`c`)."""

    def play(keys: str) -> list[dict[str, object]]:
        return over_http(SUPPORT, served.url, parse_keys(keys), customer_id=CUSTOMER_ID, api_key=KEY, gap=0)

    assert play("2a5") == transcript(SUPPORT, parse_keys("2a5"), at=OPEN)
    assert play("25")[-4:] == [{"say": SURVEY}, {"press": "5"}, {"say": RATED}, {"hangup": True}]
    assert play("1c") == [{"say": MENU}, {"press": "1"}, {"dial": "15550001111"}]
    assert play("14") == transcript(SUPPORT, parse_keys("14"), at=OPEN)
    summary = httpx.get(f"{served.url}/flows/support-menu/outcomes", headers=BASIC, timeout=10).json()
    assert (summary["calls"], summary["statuses"]) == (4, {"completed": 3, "transferred": 1})
    assert summary["answers"][0]["values"] == [{"value": v, "times": {"4": 1, "5": 2}.get(v, 0)} for v in "12345"]
    assert summary["endings"] == [
        {"node": "thanks", "outcome": "completed", "calls": 3},
        {"node": "billing", "outcome": "transferred", "calls": 1},
    ]
    assert summary["menus"][0]["keys"][:2] == [
        {"key": "1", "node": "billing", "times": 2},
        {"key": "2", "node": "technical", "times": 2},
    ]
