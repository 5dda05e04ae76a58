"""Calls in several languages on the server: a call placed in a language (POST /calls, `ivrflow
call --language`), an inbound number that names one, a `select_language` over the webhook, what
Telesign is asked to say (each speak action in its language), what the calls API and the notice
show, and a call that keeps its language across a restart. The flows are the bilingual fraud alert
(tests/flows/good/fraud-alert.yaml) and a bilingual reminder written here."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES, FLOWS, ROOT
from fake_telesign import FakeTelesign, running
from inprocess import listening, serving
from ivrflow.calls.transcripts import transcript
from ivrflow.language.loader import load_flow
from ivrflow.telesign.auth import basic_authorization
from ivrflow.tools.carrier import Phone
from live_server import CALLER, CUSTOMER_ID, action, completed, dialled, free_port, incoming, spoken, start, stop

KEY = base64.b64encode(b"languages-test-key-of-32-bytes!!").decode()
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}
FRAUD = load_flow(EXAMPLES / "good" / "fraud-alert.yaml")
ENGLISH_NUMBER, SPANISH_NUMBER = "15558670010", "15558670011"  # the fraud alert's; the second starts in es-MX
ENGLISH_LINE = "This is City Bank's fraud department. For English, press 1."
SPANISH_LINE = "Le llama el departamento de fraudes de City Bank. Para español, oprima 2."
PATIENT = "+15552010300"

REMINDER = """\
flow: pickup-reminder
languages: [en-US, es-MX]
caller_id: "15554441313"
vars:
  drug: "amoxicillin"
nodes:
  menu:
    type: select_digits
    message:
      en-US: "Your refill of {{ drug }} is ready. Press 1 to confirm pickup, or press 2 to cancel."
      es-MX: "Su receta de {{ drug }} está lista. Oprima 1 para confirmar, u oprima 2 para cancelar."
    choices: { "1": confirmed, "2": cancelled }
  confirmed:
    type: hangup
    message: { en-US: "Thank you. Goodbye.", es-MX: "Gracias. Adiós." }
  cancelled:
    type: hangup
    message: { en-US: "Your refill is cancelled. Goodbye.", es-MX: "Su receta está cancelada. Adiós." }
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The bundled flows, the fraud alert and the reminder."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    shutil.copy(EXAMPLES / "good" / "fraud-alert.yaml", flows)
    (flows / "pickup-reminder.yaml").write_text(REMINDER)
    return flows


def speech(answered: dict[str, object]) -> tuple[str, str, bool]:
    """A speak action as Telesign receives it: its words, its language, and whether it collects keys."""
    assert answered["method"] == "speak", answered
    params = answered["params"]
    assert isinstance(params, dict)
    return params["tts"]["message"], params["tts"]["language"], "collect_digits" in params


def untimed(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in step.items() if k != "at"} for step in steps]


def test_a_select_language_speaks_each_line_in_its_voice_and_the_key_moves_the_call_to_its_language(
    folder: Path, tmp_path: Path
) -> None:
    with serving(tmp_path / "calls.db", flows=folder, duplicate_window=0) as server:
        first = action(server.post(incoming("LANG-1", to=ENGLISH_NUMBER)))
        assert first == {"method": "speak", "params": {"tts": {"message": ENGLISH_LINE, "language": "en-US"}}}
        second = action(server.post(spoken("LANG-1", None)))
        assert speech(second) == (SPANISH_LINE, "es-MX", True) and second["params"]["collect_digits"] == {"max": 1}
        shown = server.get("/calls/LANG-1").json()
        assert shown["language"] == "en-US" and shown["node"] == "pick-language"  # nothing chosen yet
        alert, language, collects = speech(action(server.post(spoken("LANG-1", "2"))))
        assert alert.startswith("Detectamos una compra de $120.00 en Northside Electronics") and collects
        assert language == "es-MX"
        assert speech(action(server.post(spoken("LANG-1", "1")))) == (
            "Gracias. Su tarjeta sigue activa. Adiós.",
            "es-MX",
            False,
        )
        assert action(server.post(spoken("LANG-1", None))) == {"method": "hangup", "params": {}}
        assert action(server.post(completed("LANG-1"))) == {}
        shown = server.get("/calls/LANG-1").json()
        steps = untimed(shown["transcript"])
        assert shown["language"] == "es-MX" and shown["status"] == "completed"
        assert [step.get("language") for step in steps if "say" in step] == ["en-US", "es-MX", "es-MX", "es-MX"]
        # What the server said is what the interpreter says in this process for the same keys.
        expected = transcript(FRAUD, ["2", "1"], {"caller": CALLER, "called": ENGLISH_NUMBER})
        assert steps == expected
        listed = {call["reference_id"]: call for call in server.get("/calls").json()["calls"]}
        assert listed["LANG-1"]["language"] == "es-MX"


def test_the_other_key_keeps_english_and_a_caller_who_chooses_nothing_stays_in_the_calls_language(
    folder: Path, tmp_path: Path
) -> None:
    with serving(tmp_path / "calls.db", flows=folder, duplicate_window=0) as server:
        action(server.post(incoming("EN-1", to=ENGLISH_NUMBER)))
        action(server.post(spoken("EN-1", None)))
        alert, language, _ = speech(action(server.post(spoken("EN-1", "1"))))
        assert alert.startswith("We noticed a purchase of $120.00") and language == "en-US"
        # Silence at the choice: on in the language the call is in (here the flow's first).
        action(server.post(incoming("EN-2", to=ENGLISH_NUMBER)))
        action(server.post(spoken("EN-2", None)))
        alert, language, _ = speech(action(server.post(spoken("EN-2", ""))))
        assert alert.startswith("We noticed a purchase") and language == "en-US"
        assert server.get("/calls/EN-2").json()["language"] == "en-US"


def test_an_inbound_number_that_names_a_language_starts_its_calls_in_it(folder: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "calls.db", flows=folder, duplicate_window=0) as server:
        # The lines are each said in their own voice whatever the call's language...
        assert speech(action(server.post(incoming("ES-1", to=SPANISH_NUMBER)))) == (ENGLISH_LINE, "en-US", False)
        assert speech(action(server.post(spoken("ES-1", None)))) == (SPANISH_LINE, "es-MX", True)
        assert server.get("/calls/ES-1").json()["language"] == "es-MX"
        # ...and a caller who chooses nothing goes on in the number's language.
        alert, language, _ = speech(action(server.post(spoken("ES-1", ""))))
        assert alert.startswith("Detectamos una compra") and language == "es-MX"
        # Pressing 1 moves it to English all the same.
        action(server.post(incoming("ES-2", to=SPANISH_NUMBER)))
        action(server.post(spoken("ES-2", None)))
        alert, language, _ = speech(action(server.post(spoken("ES-2", "1"))))
        assert alert.startswith("We noticed a purchase") and language == "en-US"
        flows = {flow["id"]: flow for flow in server.get("/flows").json()["flows"]}
        assert flows["fraud-alert"]["languages"] == ["en-US", "es-MX"]
        assert flows["fraud-alert"]["numbers"] == [ENGLISH_NUMBER, SPANISH_NUMBER]
        assert flows["fraud-alert"]["number_languages"] == {SPANISH_NUMBER: "es-MX"}
        assert (flows["support-menu"]["languages"], flows["support-menu"]["number_languages"]) == (["en-US"], {})


@pytest.fixture
def fake() -> Iterator[FakeTelesign]:
    """A Telesign whose events go nowhere (the test plays Telesign's side of the call itself, and
    sees every action answered), or to the server a test sets as `webhook`."""
    with running(FakeTelesign(CUSTOMER_ID, KEY, webhook=f"http://127.0.0.1:{free_port()}/webhook")) as serving_fake:
        yield serving_fake


def test_a_call_placed_in_spanish_speaks_spanish_in_every_action_telesign_receives(
    folder: Path, tmp_path: Path, fake: FakeTelesign
) -> None:
    with serving(tmp_path / "calls.db", KEY, folder, telesign=fake.url, duplicate_window=0) as server:
        placed = server.request(
            "POST", "/calls", json={"flow": "pickup-reminder", "to": PATIENT, "language": "es-MX"}, headers=BASIC
        )
        assert placed.status_code == 201, placed.text
        ours, theirs = placed.json()["reference_id"], placed.json()["telesign"]["reference_id"]
        assert fake.received[-1] == {"to": PATIENT.lstrip("+"), "caller_id_number": "15554441313", "external_id": ours}
        assert server.get(f"/calls/{ours}", headers=BASIC).json()["language"] == "es-MX"  # before it is answered

        def post(event: dict[str, object]) -> dict[str, object]:
            return action(server.post({**event, "reference_id": theirs, "external_id": ours}))

        menu = speech(post(dialled(theirs, to=PATIENT.lstrip("+"))))
        assert menu == (
            "Su receta de amoxicillin está lista. Oprima 1 para confirmar, u oprima 2 para cancelar.",
            "es-MX",
            True,
        )
        assert speech(post(spoken(theirs, "2"))) == ("Su receta está cancelada. Adiós.", "es-MX", False)
        assert post(spoken(theirs, None)) == {"method": "hangup", "params": {}}
        assert post(completed(theirs)) == {}
        shown = server.get(f"/calls/{ours}", headers=BASIC).json()
        assert shown["language"] == "es-MX" and shown["status"] == "completed"
        assert untimed(shown["transcript"]) == [
            {"say": menu[0], "language": "es-MX"},
            {"press": "2"},
            {"say": "Su receta está cancelada. Adiós.", "language": "es-MX"},
            {"hangup": True},
        ]
        # Without a language the call is in the flow's first.
        english = server.request("POST", "/calls", json={"flow": "pickup-reminder", "to": PATIENT}, headers=BASIC)
        assert server.get(f"/calls/{english.json()['reference_id']}", headers=BASIC).json()["language"] == "en-US"


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (
            {"flow": "pickup-reminder", "language": "fr-FR"},
            "'fr-FR' is not a language of the flow 'pickup-reminder': give one of its languages, en-US, es-MX",
        ),
        (
            {"flow": "support-menu", "language": "es-MX"},
            "'es-MX' is not a language of the flow 'support-menu': give one of its languages, en-US",
        ),
        ({"flow": "pickup-reminder", "language": 2}, "2 is not a language of the flow"),
    ],
)
def test_a_language_the_flow_does_not_speak_is_refused_naming_the_field_and_the_flows_languages(
    folder: Path, tmp_path: Path, fake: FakeTelesign, request_body: dict[str, object], message: str
) -> None:
    with serving(tmp_path / "calls.db", KEY, folder, telesign=fake.url) as server:
        asked = {**request_body, "to": PATIENT, "caller_id": "+15554441313"}
        refused = server.request("POST", "/calls", json=asked, headers=BASIC)
        assert refused.status_code == 400
        errors = refused.json()["ResponseStatus"]["Errors"]
        assert [(e["FieldName"], e["ErrorCode"]) for e in errors] == [("language", "PARAMETER_INVALID")]
        assert message in errors[0]["Message"]
        assert fake.placed == 0  # nothing was dialled


def ivrflow_call(*options: str) -> subprocess.CompletedProcess[str]:
    """`ivrflow call PATIENT --flow fraud-alert OPTIONS`, as the account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    env |= {"TELESIGN_CUSTOMER_ID": CUSTOMER_ID, "TELESIGN_API_KEY": KEY}
    command = [sys.executable, "-m", "ivrflow", "call", PATIENT, "--flow", "fraud-alert", *options]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_ivrflow_call_language_places_the_call_in_it_and_the_carrier_hears_spanish(
    folder: Path, tmp_path: Path, fake: FakeTelesign
) -> None:
    fake.phones[PATIENT.lstrip("+")] = Phone(keys=[None, "1"])  # chooses nothing, then "yes, it was me"
    with listening(tmp_path / "calls.db", KEY, folder, telesign=fake.url, duplicate_window=0) as server:
        fake.webhook = f"{server.url}/webhook"
        placed = ivrflow_call("--language", "es-MX", "--server", server.url)
        assert placed.returncode == 0, placed.stderr
        ours = placed.stdout.split("reference id ")[1].split()[0]
        played = fake.call_for(ours)
        assert played.violations == []
        said = [step["say"] for step in played.heard if "say" in step]
        assert said[:2] == [ENGLISH_LINE, SPANISH_LINE]
        assert said[2].startswith("Detectamos una compra") and said[3] == "Gracias. Su tarjeta sigue activa. Adiós."
        shown = server.get(f"/calls/{ours}", headers=BASIC).json()
        assert untimed(shown["transcript"]) == [
            {**step, "language": language} if "say" in step else step
            for step, language in zip(played.heard, ["en-US", "es-MX", "", "es-MX", "", "es-MX", ""], strict=True)
        ]
        assert shown["language"] == "es-MX"
        refused = ivrflow_call("--language", "fr-FR", "--server", server.url)
        assert refused.returncode == 1 and "language: 'fr-FR' is not a language of the flow" in refused.stderr


def test_a_call_keeps_its_language_across_a_restart_and_a_call_stored_before_languages_goes_on(
    folder: Path, tmp_path: Path
) -> None:
    db = tmp_path / "calls.db"
    first = start(db, flows=folder)
    try:
        action(first.post(incoming("KEEP-1", to=ENGLISH_NUMBER)))
        action(first.post(spoken("KEEP-1", None)))
        assert speech(action(first.post(spoken("KEEP-1", "2"))))[1] == "es-MX"
        assert action(first.post(incoming("OLD-1")))["method"] == "speak"  # the support line, in English
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
    # OLD-1 as a server before calls had languages stored it: its state has no language and no line.
    with sqlite3.connect(db) as kept:
        (text,) = kept.execute("SELECT record FROM calls WHERE reference_id = 'OLD-1'").fetchone()
        record = json.loads(text)
        assert record["state"].pop("language") == "" and record["state"].pop("line") == 0
        kept.execute("UPDATE calls SET record = ? WHERE reference_id = 'OLD-1'", (json.dumps(record),))
    second = start(db, flows=folder)
    try:
        # The fraud alert's caller hears this again (9), in Spanish: the language is in the stored state.
        again = speech(action(second.post(spoken("KEEP-1", "9"))))
        assert again[1] == "es-MX" and again[0].startswith("Detectamos una compra")
        assert second.request("GET", "/calls/KEEP-1").json()["language"] == "es-MX"
        hours, language, _ = speech(action(second.post(spoken("OLD-1", "3"))))
        assert hours.startswith("We are open") and language == "en-US"
        shown = second.request("GET", "/calls/OLD-1").json()
        assert shown["language"] == "en-US" and untimed(shown["transcript"])[-1] == {"say": hours}
    finally:
        stop(second)
