"""The calls API end to end: the server's app (in this process, served on loopback) places calls
through the fake Telesign /v2/voice, whose carrier then plays each call against the server's
webhook with signed events, as Telesign's network would. Every documented answer to a dial, the
management auth (Basic, TSA with date and nonce, the official SDK as client), the error shape and
the metrics. Requests that place no call the carrier plays go to the app through httpx's ASGI
transport (`api`)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from telesign.rest import RestClient

from conftest import FLOWS, OPEN, ROOT
from fake_telesign import FakeTelesign, running
from inprocess import App, listening, serving
from ivrflow.calls.interpreter import TRANSFER_FAILED
from ivrflow.calls.transcripts import transcript
from ivrflow.errors import TelesignError
from ivrflow.language.loader import load_flow
from ivrflow.language.texts import hide_values
from ivrflow.server.calls_api import TELESIGN_REFUSALS
from ivrflow.telesign.auth import Credentials, basic_authorization, hmac_headers
from ivrflow.telesign.auth_codes import AUTH_CODES
from ivrflow.telesign.client import send_dial
from ivrflow.telesign.facts import DIAL_STATUSES
from ivrflow.tools.carrier import CarriedCall, Carrier, Phone
from live_server import CUSTOMER_ID

KEY = base64.b64encode(b"calls-api-test-key-of-32-bytes!!").decode()
PATIENT = "+15552010200"
SILENT = "+15552010201"  # never answers
HANGS_UP = "+15552010202"  # hangs up at the first question
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}
APPOINTMENT = load_flow(FLOWS / "appointment-reminder.yaml")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelesign]:
    phones = {
        PATIENT.lstrip("+"): Phone(keys=["9", "1"]),
        SILENT.lstrip("+"): Phone(answers=False),
        HANGS_UP.lstrip("+"): Phone(hangs_up_after=0),
    }
    with running(FakeTelesign(CUSTOMER_ID, KEY, phones=phones)) as serving:
        yield serving


@pytest.fixture(scope="module")
def server(fake: FakeTelesign, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The server on a loopback port: the fake's carrier plays the calls it places against its webhook."""
    with listening(
        tmp_path_factory.mktemp("calls") / "calls.db",
        api_key=KEY,
        telesign=fake.url,
        duplicate_window=0,
        dial_timeout=1,
    ) as app:
        fake.webhook = f"{app.url}/webhook"
        yield app


@pytest.fixture(scope="module")
def api(fake: FakeTelesign, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The same server, reached through the ASGI transport, for requests whose call (if any) Telesign refuses or never places."""
    with serving(
        tmp_path_factory.mktemp("api") / "calls.db", api_key=KEY, telesign=fake.url, duplicate_window=0, dial_timeout=1
    ) as app:
        yield app


def place(server: App, request: dict[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    return server.request("POST", "/calls", json=request, headers=BASIC if headers is None else headers, timeout=30)


def get(server: App, path: str, **params: str) -> httpx.Response:
    return server.get(path, params=params, headers=BASIC, timeout=10)


def finished(server: App, fake: FakeTelesign, reference_id: str) -> tuple[CarriedCall, dict[str, object]]:
    """The call as the carrier played it, and as GET /calls/{id} shows it once the engine has it closed."""
    played = fake.call_for(reference_id)
    assert played.violations == []
    for _ in range(100):
        shown = get(server, f"/calls/{reference_id}").json()
        if shown["status"] not in ("dialing", "in_progress"):
            return played, shown
        time.sleep(0.05)
    raise AssertionError(f"the call never closed: {shown}")


def untimed(shown: dict[str, object]) -> list[dict[str, object]]:
    steps = shown["transcript"]
    assert isinstance(steps, list)
    times = [datetime.fromisoformat(step["at"]) for step in steps]
    assert times == sorted(times)  # in the order they happened
    return [{k: v for k, v in step.items() if k != "at"} for step in steps]


def refusal(response: httpx.Response) -> tuple[int, str, list[str]]:
    status = response.json()["ResponseStatus"]
    assert set(status) == {"ErrorCode", "Message", "Errors"} and status["Message"]
    return response.status_code, status["ErrorCode"], [error["FieldName"] for error in status["Errors"]]


# --- outbound calls, end to end ---------------------------------------------------------------


def test_an_outbound_call_runs_its_flow_and_its_transcript_is_kept_with_times(server: App, fake: FakeTelesign) -> None:
    answer = place(server, {"flow": "appointment-reminder", "to": PATIENT})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] in ("dialing", "in_progress") and body["flow"] == "appointment-reminder"
    assert (
        body["telesign"]["status"] == "dial_accepted" and answer.headers["location"] == f"/calls/{body['reference_id']}"
    )
    played, shown = finished(server, fake, body["reference_id"])
    menu = (
        "Hello, this is Riverside Clinic with a reminder of your appointment tomorrow at 9 in the morning. "
        "Press 1 to confirm, press 2 to cancel, or press 9 to hear this message again."
    )
    expected = [
        {"say": menu},
        {"press": "9"},
        {"say": "Here is that message again."},
        {"say": menu},
        {"press": "1"},
        {"say": "Thank you. Your appointment is confirmed. We look forward to seeing you."},
        {"hangup": True},
    ]
    assert played.heard == expected
    assert untimed(shown) == expected
    assert shown["language"] == "en-US"
    assert played.events == [
        "dial_completed",
        "speak_completed",
        "speak_completed",
        "speak_completed",
        "speak_completed",
        "call_completed",
    ]
    # What the engine sent Telesign: the flow's caller id, our id as external_id.
    assert fake.received[-1] == {
        "to": "15552010200",
        "caller_id_number": "15554441313",
        "external_id": body["reference_id"],
    }
    assert shown["status"] == "completed" and shown["direction"] == "outbound"
    assert (shown["flow"], shown["version"]) == ("appointment-reminder", APPOINTMENT.version)
    assert (shown["to"], shown["from"], shown["telesign_reference_id"]) == (
        "15552010200",
        "15554441313",
        body["telesign"]["reference_id"],
    )
    # Telesign's reference id finds the call as well as ours.
    assert get(server, f"/calls/{body['telesign']['reference_id']}").json()["reference_id"] == body["reference_id"]


@pytest.mark.parametrize(
    ("flow", "variables", "caller_id"),
    [
        ("otp-delivery", {"code": "7 7 3"}, "+15558675309"),
        ("refill-reminder", {"drug": "insulin"}, None),
        ("support-menu", {}, "+15554441313"),
    ],
)
def test_every_bundled_flow_sounds_over_telesign_as_in_process(
    server: App, fake: FakeTelesign, flow: str, variables: dict[str, str], caller_id: str | None
) -> None:
    request: dict[str, object] = {"flow": flow, "to": PATIENT, "vars": variables}
    if caller_id:
        request["caller_id"] = caller_id
    answer = place(server, request)
    assert answer.status_code == 201, answer.text
    played, shown = finished(server, fake, answer.json()["reference_id"])
    loaded = load_flow(FLOWS / f"{flow}.yaml")
    called = {"caller": (caller_id or loaded.caller_id or "").lstrip("+"), "called": PATIENT.lstrip("+")}
    expected = transcript(loaded, ["9", "1"], {**variables, **called}, OPEN)
    if (
        "dial" in expected[-1]
    ):  # in-process, a transfer ends the transcript; here the agent hangs up later, and so does the engine
        expected.append({"hangup": True})
    assert untimed(shown) == expected
    # The phone hears sensitive values (the one-time code); the transcript shows them masked.
    secrets = [value for name, value in variables.items() if name in loaded.sensitive]
    assert [
        {k: hide_values(v, secrets) if k == "say" and isinstance(v, str) else v for k, v in step.items()}
        for step in played.heard
    ] == expected


def test_a_call_nobody_answers_hears_nothing_and_ends_no_answer(server: App, fake: FakeTelesign) -> None:
    answer = place(server, {"flow": "appointment-reminder", "to": SILENT})
    played, shown = finished(server, fake, answer.json()["reference_id"])
    assert played.heard == [{"hangup": True}] and shown["status"] == "no_answer"


def test_a_callee_who_hangs_up_mid_menu_ends_caller_hung_up(server: App, fake: FakeTelesign) -> None:
    answer = place(server, {"flow": "appointment-reminder", "to": HANGS_UP})
    played, shown = finished(server, fake, answer.json()["reference_id"])
    assert [list(step) for step in played.heard] == [["say"]] and shown["status"] == "caller_hung_up"


def test_a_transfer_that_connects_ends_transferred_and_one_nobody_answers_transfer_failed(
    server: App, fake: FakeTelesign
) -> None:
    fake.phones["15552010203"] = Phone(keys=["1", "c"])  # billing: 15550001111 answers; the caller hangs up there
    fake.phones["15552010204"] = Phone(keys=["2"])  # technical: 15550002222 does not
    fake.phones["15550002222"] = Phone(answers=False)
    connected = place(server, {"flow": "support-menu", "to": "+15552010203", "caller_id": "+15558675309"}).json()[
        "reference_id"
    ]
    unanswered = place(server, {"flow": "support-menu", "to": "+15552010204", "caller_id": "+15558675309"}).json()[
        "reference_id"
    ]
    played, shown = finished(server, fake, connected)
    assert played.heard[-2:] == [{"press": "1"}, {"dial": "15550001111"}] and played.events[-2:] == [
        "dial_completed",
        "call_completed",
    ]
    assert shown["status"] == "transferred"
    played, shown = finished(server, fake, unanswered)
    assert (
        played.heard[-3:] == [{"dial": "15550002222"}, {"say": TRANSFER_FAILED}, {"hangup": True}]
        and shown["status"] == "transfer_failed"
    )


def test_the_carrier_plays_an_inbound_call_too(server: App) -> None:
    """What a simulator does against a running server: an incoming call, signed as Telesign's."""
    keys: list[str | None] = ["3", "1", "a", "5"]  # the agent hangs up first: the caller rates the call
    carrier = Carrier(f"{server.url}/webhook", CUSTOMER_ID, KEY, {"15552010206": Phone(keys=keys)})
    played = carrier.play(CarriedCall("INBOUND-1", "15558675309", "15552010206", direction="inbound"))
    assert (
        played.violations == []
        and played.events[0] == "incoming_call"
        and played.events[-5:]
        == ["dial_completed", "call_leg_completed", "speak_completed", "speak_completed", "call_completed"]
    )
    shown = get(server, "/calls/INBOUND-1").json()
    assert untimed(shown) == played.heard
    assert shown["status"] == "completed" and shown["direction"] == "inbound" and shown["language"] == "en-US"
    expected = transcript(load_flow(FLOWS / "support-menu.yaml"), keys, {"caller": "15552010206"}, OPEN)
    assert played.heard == expected


# --- Telesign's answers to a dial ---------------------------------------------------------------

REFUSED = [
    ("invalid_phone_number", {"to": "+10005550100"}, (400, "INVALID_PHONENUMBER_FORMAT", ["to"])),
    ("caller_id_number_not_owned", {"caller_id": "+15559990000"}, (400, "PARAMETER_INVALID", ["caller_id"])),
    ("premium_to_number_rejected", {"to": "+19005550100"}, (403, "FORBIDDEN", ["to"])),
    ("to_number_blocked_by_country", {"to": "+442071838750"}, (403, "FORBIDDEN", ["to"])),
    ("to_number_blocked_by_customer", {"to": "+15552010299"}, (403, "FORBIDDEN", ["to"])),
    ("to_number_blocked_by_telesign", {"to": "+15552010298"}, (403, "FORBIDDEN", ["to"])),
]


@pytest.mark.parametrize(("status", "change", "expected"), REFUSED, ids=[case[0] for case in REFUSED])
def test_each_refusal_is_a_clear_error_and_the_call_is_kept_as_failed(
    api: App,
    fake: FakeTelesign,
    monkeypatch: pytest.MonkeyPatch,
    status: str,
    change: dict[str, str],
    expected: tuple[int, str, list[str]],
) -> None:
    monkeypatch.setattr(fake, "blocked_countries", ("44",))
    monkeypatch.setattr(fake, "blocked_by_customer", {"15552010299"})
    monkeypatch.setattr(fake, "blocked_by_telesign", {"15552010298"})
    answer = place(api, {"flow": "appointment-reminder", "to": PATIENT, **change})
    assert refusal(answer) == expected
    message = answer.json()["ResponseStatus"]["Message"]
    assert status in message and DIAL_STATUSES[status] in message
    shown = get(api, f"/calls/{answer.json()['reference_id']}").json()
    assert shown["status"] == "failed" and status in shown["error"] and shown["transcript"] == []


def test_telesign_refusing_the_servers_credentials_is_the_servers_problem_not_the_callers(
    api: App, fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "api_key", base64.b64encode(b"another key").decode())
    assert refusal(place(api, {"flow": "appointment-reminder", "to": PATIENT})) == (502, "TELESIGN_AUTH_FAILED", [])


def test_rate_limits_and_failures_are_retried_a_bounded_number_of_times(server: App, fake: FakeTelesign) -> None:
    fake.script = ["429", "429"]  # two retries, then accepted
    answer = place(server, {"flow": "appointment-reminder", "to": PATIENT})
    assert answer.status_code == 201 and fake.script == []
    finished(server, fake, answer.json()["reference_id"])
    fake.script = ["429"] * 5  # four tries in all, all limited
    limited = place(server, {"flow": "appointment-reminder", "to": PATIENT})
    assert (
        refusal(limited) == (503, "TELESIGN_RATE_LIMITED", [])
        and limited.headers["retry-after"] == "1"
        and fake.script == ["429"]
    )
    fake.script = ["503"] * 4  # not retried: Telesign may have placed the call before failing
    assert (
        refusal(place(server, {"flow": "appointment-reminder", "to": PATIENT})) == (502, "TELESIGN_UNAVAILABLE", [])
        and fake.script == ["503"] * 3
    )
    fake.script = []


def test_a_dial_telesign_never_answers_times_out_and_the_call_stays_dialing(api: App, fake: FakeTelesign) -> None:
    fake.script = ["hang"]
    answer = place(api, {"flow": "appointment-reminder", "to": PATIENT})
    assert refusal(answer) == (504, "TELESIGN_TIMEOUT", [])
    assert "may or may not have been placed" in answer.json()["ResponseStatus"]["Message"]
    shown = get(api, f"/calls/{answer.json()['reference_id']}").json()
    assert shown["status"] == "dialing" and "did not answer" in shown["error"]


def test_a_call_placed_whose_answer_was_lost_still_runs_when_its_events_come(server: App, fake: FakeTelesign) -> None:
    fake.script = ["lost"]
    answer = place(server, {"flow": "appointment-reminder", "to": PATIENT})
    assert refusal(answer) == (504, "TELESIGN_TIMEOUT", [])
    played, shown = finished(server, fake, answer.json()["reference_id"])  # found by the external_id its events carry
    assert (
        played.heard[-1] == {"hangup": True}
        and shown["status"] == "completed"
        and shown["telesign_reference_id"] == played.reference_id
    )


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ({"method": "dial", "params": {"caller_id_number": "15554441313"}}, "to_number_not_provided"),
        ({"method": "dial", "params": {"to": "15552010200"}}, "caller_id_number_not_provided"),
        ({"method": "speak", "params": {"tts": {"message": "hi", "language": "en-US"}}}, "unsupported_call_state"),
    ],
)
def test_refusals_the_api_never_provokes_are_still_explained(
    fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch, action: dict[str, object], status: str
) -> None:
    """POST /calls checks `to` and `caller_id` itself and only ever dials, so these come from the
    adapter's own call, as a request built by hand would get them."""
    monkeypatch.setenv("TELESIGN_BASE_URL", fake.url)
    with pytest.raises(TelesignError) as refused:
        send_dial(action, Credentials(CUSTOMER_ID, KEY))
    assert refused.value.reason == status and DIAL_STATUSES[status] in str(refused.value)
    assert status in TELESIGN_REFUSALS


def test_every_documented_dial_status_has_a_clear_answer_for_the_api() -> None:
    assert set(DIAL_STATUSES) <= set(TELESIGN_REFUSALS)


def test_without_credentials_telesign_says_so(fake: FakeTelesign) -> None:
    answer = httpx.post(
        f"{fake.url}/v2/voice",
        json={"method": "dial", "params": {"to": "15552010200", "caller_id_number": "15554441313"}},
    )
    assert (answer.status_code, answer.json()["status"]) == (401, "credentials_not_provided")


# --- the request checks of POST /calls: nothing reaches Telesign ----------------------------------

BAD_REQUESTS = [
    ({}, (400, "PARAMETER_REQUIRED", ["flow", "to"])),
    ({"flow": "appointment-remindr", "to": PATIENT}, (404, "FLOW_NOT_FOUND", ["flow"])),
    ({"flow": "appointment-reminder", "to": "555-0100"}, (400, "INVALID_PHONENUMBER_FORMAT", ["to"])),
    (
        {"flow": "appointment-reminder", "to": PATIENT, "caller_id": "nope"},
        (400, "INVALID_PHONENUMBER_FORMAT", ["caller_id"]),
    ),
    (  # found by Schemathesis: an empty mapping is a wrong caller_id, not an absent one
        {"flow": "appointment-reminder", "to": PATIENT, "caller_id": {}},
        (400, "INVALID_PHONENUMBER_FORMAT", ["caller_id"]),
    ),
    ({"flow": "otp-delivery", "to": PATIENT}, (400, "PARAMETER_REQUIRED", ["caller_id"])),
    ({"flow": "refill-reminder", "to": PATIENT, "vars": {"durg": "x"}}, (400, "PARAMETER_INVALID", ["vars.durg"])),
    (
        {"flow": "refill-reminder", "to": PATIENT, "vars": {"drug": "x" * 501}},
        (400, "PARAMETER_TOO_LONG", ["vars.drug"]),
    ),
    (
        {"flow": "refill-reminder", "to": PATIENT, "vars": {"called": "15550000000"}},
        (400, "CONFLICTING_PARAMETERS", ["vars.called"]),
    ),
    ({"flow": "refill-reminder", "to": PATIENT, "vars": ["drug"]}, (400, "PARAMETER_INVALID", ["vars"])),
    ({"flow": "refill-reminder", "to": PATIENT, "when": "now"}, (400, "PARAMETER_INVALID", ["when"])),
]


@pytest.mark.parametrize(("request_body", "expected"), BAD_REQUESTS)
def test_a_bad_request_names_every_wrong_field_and_places_no_call(
    api: App, fake: FakeTelesign, request_body: dict[str, object], expected: tuple[int, str, list[str]]
) -> None:
    dialled = len(fake.received)
    before = len(get(api, "/calls", limit="500").json()["calls"])
    assert refusal(place(api, request_body)) == expected
    assert len(fake.received) == dialled and len(get(api, "/calls", limit="500").json()["calls"]) == before


def test_the_hints_say_what_to_write(api: App) -> None:
    unknown_flow = place(api, {"flow": "appointment-remindr", "to": PATIENT}).json()["ResponseStatus"]["Message"]
    assert "Did you mean `appointment-reminder`?" in unknown_flow and "otp-delivery" in unknown_flow
    unknown_var = place(api, {"flow": "refill-reminder", "to": PATIENT, "vars": {"durg": "x"}}).json()[
        "ResponseStatus"
    ]["Message"]
    assert "Did you mean `drug`?" in unknown_var and "drug, pharmacy" in unknown_var


def test_a_body_that_is_not_json_is_refused_in_the_same_shape(api: App) -> None:
    answer = api.request(
        "POST", "/calls", content=b"flow=x", headers={**BASIC, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert refusal(answer) == (400, "PARAMETER_INVALID", [])
    answer = api.request("POST", "/calls", content=b"{not json", headers={**BASIC, "Content-Type": "application/json"})
    assert refusal(answer) == (400, "PARAMETER_INVALID", [])


# --- reading calls and flows ------------------------------------------------------------------


def test_calls_are_listed_newest_first_by_flow_and_status(server: App, fake: FakeTelesign) -> None:
    first = place(server, {"flow": "refill-reminder", "to": PATIENT}).json()["reference_id"]
    second = place(server, {"flow": "refill-reminder", "to": SILENT}).json()["reference_id"]
    finished(server, fake, first)
    finished(server, fake, second)
    listed = [call["reference_id"] for call in get(server, "/calls", flow="refill-reminder").json()["calls"]]
    assert listed[:2] == [second, first]
    unanswered = get(server, "/calls", flow="refill-reminder", status="no_answer").json()["calls"]
    assert second in [call["reference_id"] for call in unanswered] and first not in [
        call["reference_id"] for call in unanswered
    ]
    assert all(call["status"] == "no_answer" and call["flow"] == "refill-reminder" for call in unanswered)
    assert len(get(server, "/calls", limit="1").json()["calls"]) == 1
    assert refusal(get(server, "/calls", status="finished")) == (400, "PARAMETER_INVALID", ["status"])
    assert refusal(get(server, "/calls", limit="0", sort="x")) == (400, "PARAMETER_INVALID", ["sort", "limit"])
    assert refusal(get(server, "/calls/NO-SUCH-CALL")) == (404, "CALL_NOT_FOUND", ["reference_id"])


def test_flows_are_listed_with_version_v1_fit_and_numbers(api: App) -> None:
    flows = {flow["id"]: flow for flow in get(api, "/flows").json()["flows"]}
    assert sorted(flows) == [
        "appointment-reminder",
        "fraud-alert",
        "otp-delivery",
        "prescription-line",
        "refill-reminder",
        "support-menu",
    ]
    for flow_id, flow in flows.items():
        assert flow["version"] == load_flow(FLOWS / f"{flow_id}.yaml").version
    assert flows["appointment-reminder"]["v1"] == {"compiles": True, "reasons": []}
    assert flows["support-menu"]["v1"]["compiles"] is False and any(
        "dial" in reason for reason in flows["support-menu"]["v1"]["reasons"]
    )
    assert flows["support-menu"]["numbers"] == ["+15558675309"] and flows["refill-reminder"]["vars"] == {
        "drug": "your prescription",
        "pharmacy": "City Pharmacy",
    }
    assert flows["otp-delivery"]["vars"] == {"code": "•••"}  # a sensitive default is not shown either
    assert flows["prescription-line"]["v1"]["compiles"] is False and any(
        "collect_digits node `rx`" in reason for reason in flows["prescription-line"]["v1"]["reasons"]
    )


# --- authentication -----------------------------------------------------------------------------


def test_the_official_sdk_is_a_client_as_it_is_of_telesign(server: App, fake: FakeTelesign) -> None:
    for auth_method in (None, "Basic"):  # the SDK's default TSA signature, and Basic
        client = RestClient(CUSTOMER_ID, KEY, rest_endpoint=server.url, auth_method=auth_method)
        placed = client.post(
            "/calls",
            json_fields={"flow": "otp-delivery", "to": PATIENT, "caller_id": "+15558675309", "vars": {"code": "1 2"}},
        )
        assert placed.status_code == 201, placed.body
        reference_id = placed.json["reference_id"]
        fake.call_for(reference_id)
        assert client.get(f"/calls/{reference_id}").json["flow"] == "otp-delivery"
        listed = client.get("/calls", flow="otp-delivery", limit="5")
        assert listed.status_code == 200 and reference_id in [call["reference_id"] for call in listed.json["calls"]]
        assert client.get("/flows").status_code == 200


def _signed(method: str, path: str, body: str = "", **changes: str) -> dict[str, str]:
    headers = hmac_headers(
        CUSTOMER_ID,
        KEY,
        method,
        path,
        body,
        content_type="application/json" if body else None,
        date=changes.get("date"),
    )
    return {k: v for k, v in headers.items() if v}


@pytest.mark.parametrize(
    ("headers", "why", "code"),
    [
        (dict, "Authorization header is missing", "-30004"),
        (
            lambda: {"Authorization": basic_authorization(CUSTOMER_ID, base64.b64encode(b"wrong").decode())},
            "wrong customer id or API key",
            "-30015",
        ),
        (lambda: {"Authorization": basic_authorization("someone-else", KEY)}, "wrong customer id or API key", "-30000"),
        (lambda: {"Authorization": "Basic bm8tY29sb24="}, "not the base64 of `customer id:API key`", "-30005"),
        (
            lambda: _signed("GET", "/flows", date=formatdate(time.time() - 20 * 60, usegmt=True)),
            "20 minutes from now; it must be within 15",
            "-30010",
        ),
        (
            lambda: _signed("GET", "/flows", date=formatdate(time.time() + 20 * 60, usegmt=True)),
            "20 minutes from now; it must be within 15",
            "-30010",
        ),
        (
            lambda: {k: v for k, v in _signed("GET", "/flows").items() if k != "Date"},
            "Date (or x-ts-date) header is missing",
            "-30007",
        ),
        (lambda: {**_signed("GET", "/flows"), "Date": "yesterday"}, "not a date like", "-30009"),
        (
            lambda: {k: v for k, v in _signed("GET", "/flows").items() if k != "x-ts-nonce"},
            "x-ts-nonce header is missing",
            "-30011",
        ),
        (
            lambda: {**_signed("GET", "/flows"), "x-ts-nonce": "n" * 129},
            "x-ts-nonce header is longer than 128",
            "-30011",
        ),
        (lambda: {**_signed("GET", "/flows"), "x-ts-auth-method": "HMAC-SHA1"}, "must be HMAC-SHA256", "-30008"),
        (
            lambda: {**_signed("GET", "/flows"), "Authorization": "TSA " + CUSTOMER_ID + ":AAAA"},
            "wrong customer id or signature",
            "-30006",
        ),
        (
            lambda: {**_signed("GET", "/flows"), "Authorization": "TSA someone-else:AAAA"},
            "wrong customer id or signature",
            "-30000",
        ),
        (lambda: _signed("GET", "/calls"), "wrong customer id or signature", "-30006"),  # signed for another resource
        (lambda: {"Authorization": "Bearer x"}, "neither", "-30005"),
    ],
    ids=[
        "no header",
        "wrong key",
        "other customer",
        "basic not base64 pair",
        "stale date",
        "future date",
        "no date",
        "date not rfc 822",
        "no nonce",
        "nonce too long",
        "other auth method",
        "bad signature",
        "other customer signed",
        "other resource",
        "other scheme",
    ],
)
def test_requests_without_the_accounts_credentials_are_refused_with_telesigns_code(
    api: App, fake: FakeTelesign, headers: Callable[[], dict[str, str]], why: str, code: str
) -> None:
    answer = api.get("/flows", headers=headers())
    assert refusal(answer)[:2] == (401, "UNAUTHORIZED") and why in answer.json()["ResponseStatus"]["Message"]
    [error] = answer.json()["ResponseStatus"]["Errors"]
    assert error["ErrorCode"] == code and why in error["Message"], error
    assert error["FieldName"] == AUTH_CODES[int(code)].header
    dialled = len(fake.received)
    assert place(api, {"flow": "appointment-reminder", "to": PATIENT}, headers=headers()).status_code == 401
    assert len(fake.received) == dialled


def test_a_signed_request_is_accepted_once_and_its_nonce_refused_after(api: App) -> None:
    headers = _signed("GET", "/flows")
    assert api.get("/flows", headers=headers).status_code == 200
    replayed = api.get("/flows", headers=headers)
    assert (
        refusal(replayed) == (401, "UNAUTHORIZED", ["x-ts-nonce"])
        and "x-ts-nonce was used before" in replayed.json()["ResponseStatus"]["Message"]
    )
    assert replayed.json()["ResponseStatus"]["Errors"][0]["ErrorCode"] == "-30012"


def test_x_ts_date_may_stand_in_for_date(api: App) -> None:
    """Telesign's sample signer: with x-ts-date, its line is signed and the Date line is empty."""
    from ivrflow.telesign.auth import string_to_sign, tsa_signature

    when, nonce = formatdate(usegmt=True), "5f0c1d5e-1111-4c2b-9a55-000000000001"
    signature = tsa_signature(KEY, string_to_sign("GET", "", "", nonce, "", "/flows", ts_date=when))
    headers = {
        "Authorization": f"TSA {CUSTOMER_ID}:{signature}",
        "x-ts-date": when,
        "x-ts-nonce": nonce,
        "x-ts-auth-method": "HMAC-SHA256",
    }
    assert api.get("/flows", headers=headers).status_code == 200


# --- metrics ----------------------------------------------------------------------------------


def _samples(server: App) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = server.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_events_calls_signatures_and_telesign_errors(fake: FakeTelesign, tmp_path: Path) -> None:
    with listening(tmp_path / "metrics.db", api_key=KEY, telesign=fake.url, dial_timeout=1) as app:
        shared_webhook, fake.webhook = fake.webhook, f"{app.url}/webhook"
        try:
            for to in (PATIENT, SILENT):
                reference_id = place(app, {"flow": "appointment-reminder", "to": to}).json()["reference_id"]
                finished(app, fake, reference_id)
            fake.script = ["429"]
            place(app, {"flow": "appointment-reminder", "to": "+19005550100"})  # a retry, then premium: refused
            fake.script = ["hang"]
            place(app, {"flow": "appointment-reminder", "to": PATIENT})  # times out: still dialing
            forged = app.request(
                "POST",
                "/webhook",
                json={"event": "incoming_call", "reference_id": "x", "data": {"to": "1", "from": "2"}},
            )
            assert forged.status_code == 401
            seen = _samples(app)
            assert seen[("ivrflow_calls_started_total", (("direction", "outbound"),))] == 4
            assert seen[("ivrflow_calls_ended_total", (("outcome", "completed"),))] == 1
            assert seen[("ivrflow_calls_ended_total", (("outcome", "no_answer"),))] == 1
            assert seen[("ivrflow_calls_ended_total", (("outcome", "failed"),))] == 1
            assert seen[("ivrflow_active_calls", ())] == 1  # the one Telesign never answered for
            assert seen[("ivrflow_events_total", (("event", "dial_completed"), ("outcome", "answered")))] == 2
            assert seen[("ivrflow_events_total", (("event", "speak_completed"), ("outcome", "answered")))] == 4
            assert seen[("ivrflow_events_total", (("event", "call_completed"), ("outcome", "answered")))] == 2
            assert seen[("ivrflow_events_total", (("event", "unknown"), ("outcome", "bad_signature")))] == 1
            assert seen[("ivrflow_signature_failures_total", ())] == 1
            assert seen[("ivrflow_telesign_errors_total", (("code", "rate_limit_exceeded"),))] == 1
            assert seen[("ivrflow_telesign_errors_total", (("code", "premium_to_number_rejected"),))] == 1
            assert seen[("ivrflow_telesign_errors_total", (("code", "timeout"),))] == 1
            assert seen[("ivrflow_answer_seconds_count", ())] == 9  # every webhook request, the refused one too
        finally:
            fake.script, fake.webhook = [], shared_webhook


# --- the command line -------------------------------------------------------------------------


def _ivrflow(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")} | {
        "TELESIGN_CUSTOMER_ID": CUSTOMER_ID,
        "TELESIGN_API_KEY": KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_ivrflow_call_places_a_call_and_says_why_not(server: App, fake: FakeTelesign) -> None:
    fake.phones["15552010205"] = Phone(keys=["7", "1"])  # past the gate, to the menu that names the drug
    placed = _ivrflow(
        "call", "+15552010205", "--flow", "refill-reminder", "--var", "drug=aspirin", "--server", server.url
    )
    assert placed.returncode == 0, placed.stderr
    reference_id = placed.stdout.split("reference id ")[1].split()[0]
    played, _ = finished(server, fake, reference_id)
    assert "aspirin" in json.dumps(played.heard)
    refused = _ivrflow(
        "call", PATIENT, "--flow", "refill-reminder", "--var", "durg=x", "--var", "called=1", "--server", server.url
    )
    assert refused.returncode == 1 and "PARAMETER_INVALID" in refused.stderr and "vars.called" in refused.stderr
    unreachable = _ivrflow("call", PATIENT, "--flow", "refill-reminder", "--server", "http://127.0.0.1:9")
    assert unreachable.returncode == 2 and "could not reach the server" in unreachable.stderr


def test_a_store_that_cannot_take_the_call_means_no_dial(api: App, fake: FakeTelesign) -> None:
    """The call is stored before Telesign is asked: with the store locked, nothing is dialled."""
    dialled = len(fake.received)
    with contextlib.closing(sqlite3.connect(api.db, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another writer that does not let go
        answer = place(api, {"flow": "appointment-reminder", "to": PATIENT})
        other.execute("ROLLBACK")
    assert refusal(answer) == (503, "STORE_UNAVAILABLE", []) and answer.headers["retry-after"] == "1"
    assert len(fake.received) == dialled


TEXT = st.text(max_size=20)
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), TEXT, st.lists(TEXT, max_size=2), st.dictionaries(TEXT, TEXT, max_size=2)
)
NUMBERS = st.sampled_from([PATIENT, SILENT, "+19005550100", "+10005550100", "+1555", "15552010200 "])
# Mostly well-formed calls (some accepted, some refused by Telesign), and anything at all.
LIKELY = st.fixed_dictionaries(
    {
        "flow": st.sampled_from(["appointment-reminder", "otp-delivery", "refill-reminder", "support-menu", "nope"]),
        "to": NUMBERS,
    },
    optional={
        "caller_id": st.one_of(st.sampled_from(["+15554441313", "+15558675309", "+15559990000"]), VALUES),
        "vars": st.dictionaries(
            st.sampled_from(["drug", "code", "called", "caller", "x"]), st.one_of(TEXT, VALUES), max_size=3
        ),
    },
)
ANYTHING = st.fixed_dictionaries(
    {}, optional={"flow": VALUES, "to": VALUES, "caller_id": VALUES, "vars": VALUES, "extra": VALUES}
)
BODIES = st.one_of(LIKELY, ANYTHING)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BODIES)
def test_any_body_gets_a_call_or_a_clear_error_never_a_failure(
    server: App, fake: FakeTelesign, body: dict[str, object]
) -> None:
    answer = place(server, body)
    event(f"HTTP {answer.status_code}")
    if answer.status_code == 201:
        fake.call_for(answer.json()["reference_id"])  # let the carrier finish before the next example
        return
    assert answer.status_code in (400, 403, 404), answer.text
    _, code, _ = refusal(answer)
    assert code in (
        "PARAMETER_REQUIRED",
        "PARAMETER_INVALID",
        "PARAMETER_TOO_LONG",
        "INVALID_PHONENUMBER_FORMAT",
        "FLOW_NOT_FOUND",
        "CONFLICTING_PARAMETERS",
        "FORBIDDEN",
    )
