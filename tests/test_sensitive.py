"""Sensitive values (a one-time code given to a call, a PIN or card number the caller types) are
spoken where the flow says, and shown nowhere else: a planted value is looked for in every channel
the engine writes to, over a real server with a real SQLite file."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, FLOWS, ROOT
from fake_telesign import FakeTelesign, running
from ivrflow.calls.events import CallEnded, CallStarted, SpeakDone
from ivrflow.calls.interpreter import new_call, step
from ivrflow.calls.transcripts import heard
from ivrflow.language.loader import load_flow
from ivrflow.language.texts import MASK
from ivrflow.telesign.auth import basic_authorization
from ivrflow.tools.carrier import Phone
from ivrflow.tools.journeys import render, walk_all
from live_server import CUSTOMER_ID, Server, action, incoming, spoken, start, stop

KEY = base64.b64encode(b"sensitive-test-key-of-32-bytes!!").decode()
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}
CODE = "90817263"  # planted as the one-time code of otp-delivery
CARD = "4539148803436467"  # planted as the card number typed at the collect-digits example (passes Luhn)
PIN = "55501234"  # planted as that example's sensitive var
PATIENT = "+15552010300"
COLLECT = load_flow(EXAMPLES / "good" / "collect-digits.yaml")


def _forms(value: str) -> list[str]:
    """The value as it may be written: as given, and said digit by digit."""
    return [value, " ".join(value)]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelesign]:
    with running(FakeTelesign(CUSTOMER_ID, KEY, phones={PATIENT.lstrip("+"): Phone(keys=["5"])})) as serving:
        yield serving


@pytest.fixture(scope="module")
def server(fake: FakeTelesign, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    flows = tmp_path_factory.mktemp("flows")
    shutil.copy(FLOWS / "otp-delivery.yaml", flows)
    shutil.copy(EXAMPLES / "good" / "collect-digits.yaml", flows)
    serving = start(
        tmp_path_factory.mktemp("db") / "calls.db",
        api_key=KEY,
        telesign=fake.url,
        flows=flows,
        options=("--duplicate-window", "0"),
    )
    fake.webhook = f"{serving.url}/webhook"
    yield serving
    stop(serving)


def _post(server: Server, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, headers=BASIC, timeout=30)


def _get(server: Server, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers=BASIC, timeout=10)


def _closed(server: Server, reference_id: str) -> dict[str, object]:
    for _ in range(200):
        shown: dict[str, object] = _get(server, f"/calls/{reference_id}").json()
        if shown["status"] not in ("dialing", "in_progress"):
            return shown
        time.sleep(0.05)
    raise AssertionError(f"the call never closed: {shown}")


def test_a_planted_code_card_and_pin_appear_in_no_output(server: Server, fake: FakeTelesign) -> None:
    # An outbound one-time code: the phone presses 5 and hears the code.
    placed = _post(
        server, "/calls", {"flow": "otp-delivery", "to": PATIENT, "caller_id": "+15554441313", "vars": {"code": CODE}}
    )
    assert placed.status_code == 201, placed.text
    otp_id = placed.json()["reference_id"]
    played = fake.call_for(otp_id)
    assert any(CODE in str(step.get("say", "")) for step in played.heard)  # the caller does hear it
    otp = _closed(server, otp_id)
    assert otp["variables"] == {"called": PATIENT.lstrip("+"), "caller": "15554441313"}  # erased when the call ended
    said = [step.get("say") for step in otp["transcript"]]  # type: ignore[attr-defined,union-attr]
    assert f"Your code is {MASK}. Again, your code is {MASK}. Never share this code with anyone. Goodbye." in said

    # An incoming call that types a card number and reads back; it hangs up in the middle, before the read-back is answered.
    reference = "SENSITIVE1"
    answers = [action(server.post(incoming(reference, to=COLLECT.numbers[0])))]
    for keys in ("1", "123456#", CARD):
        answers.append(action(server.post(spoken(reference, keys))))
    shown_mid = _get(server, f"/calls/{reference}").text
    assert CARD not in shown_mid and f'"press":"{MASK}"' in shown_mid.replace(" ", "")
    answers.append(
        action(server.post({"event": "call_completed", "reference_id": reference, "data": {"status": "hangup"}}))
    )
    card_call = _closed(server, reference)
    assert "card" not in card_call["variables"]  # type: ignore[operator]

    # Error answers: a refused request that carries the planted values.
    refused = _post(server, "/calls", {"flow": "otp-delivery", "to": "555", "vars": {"code": CODE, "pin": PIN}})
    assert refused.status_code == 400

    # The channels: the calls API, the metrics, the stored database, the server's log, the
    # journeys file and the simulator's JSON (both in-process).
    simulated = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivrflow",
            "simulate",
            str(EXAMPLES / "good" / "collect-digits.yaml"),
            "--keys",
            f"1123456#{CARD}1",
            "--var",
            f"pin={PIN}",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert MASK in simulated
    channels = {
        "GET /calls/{id} (otp)": _get(server, f"/calls/{otp_id}").text,
        "GET /calls/{id} (card)": _get(server, f"/calls/{reference}").text,
        "GET /calls": _get(server, "/calls").text,
        "GET /flows": _get(server, "/flows").text,
        "GET /metrics": _get(server, "/metrics").text,
        "error answer": refused.text,
        "database": "\n".join(sqlite3.connect(server.db).iterdump()),
        "journeys": render(COLLECT, walk_all(COLLECT)),
        "simulate --json": simulated,
        "server log": server.log.read_text(),
    }
    for name, text in channels.items():
        for secret in (CODE, CARD, PIN):
            for form in _forms(secret):
                assert form not in text, f"{secret} shows in {name}"


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=16, max_size=16), st.lists(st.sampled_from(["1", "2", "5", ""]), max_size=4)
)
def test_the_interpreter_never_puts_a_sensitive_entry_in_a_transcript(card: str, answers: list[str]) -> None:
    """Whatever the caller types and answers at the read-back, no transcript step holds the card
    number, and the state forgets it when the call ends."""
    state = new_call(COLLECT)
    steps = []
    events = [
        CallStarted({"pin": PIN}),
        SpeakDone("1"),
        SpeakDone("123456#"),
        SpeakDone(card),
        *(SpeakDone(a) for a in answers),
    ]
    for event in events:
        before = state
        state, action = step(COLLECT, state, event)
        steps += heard(before, event, action, COLLECT)
    text = json.dumps(steps, ensure_ascii=False)
    assert card not in text and PIN not in text and " ".join(PIN) not in text
    ended, _ = step(COLLECT, state, CallEnded())
    assert "card" not in ended.variables and "pin" not in ended.variables and ended.entry == ""
