"""Where Telesign's documents and its demo part ways, the engine is right where they are clear and
tolerant where they disagree: v1 status codes spelled as text, requests that may have placed a
call never sent twice, and the operator's choice of how Telesign's posts are authenticated."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import openapi_check
from conftest import ROOT
from fake_telesign import FakeTelesign, running
from ivrflow.errors import TelesignError
from ivrflow.telesign.auth import Credentials, basic_authorization, callback_signature
from ivrflow.telesign.client import Sending, send_dial, send_v1, v1_status
from ivrflow.telesign.v1 import parse_v1_report
from ivrflow.tools.carrier import Phone
from live_server import CUSTOMER_ID, Server, start, stop

KEY = base64.b64encode(b"telesign-real-test-key-32-bytes!").decode()
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}
PRESSES_1 = "15552030100"
V1_FIELDS = {"phone_number": PRESSES_1, "message": "Hello.", "message_type": "ARN"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelesign]:
    with running(FakeTelesign(CUSTOMER_ID, KEY, phones={PRESSES_1: Phone(keys=["1"])})) as serving:
        yield serving


@pytest.fixture
def telesign(fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelesign]:
    """The fake, fresh for each test: nothing scripted, nothing counted, codes as numbers."""
    monkeypatch.setenv("TELESIGN_BASE_URL", fake.url)
    fake.script, fake.placed, fake.v1_code_text = [], 0, False
    yield fake
    fake.script, fake.v1_code_text = [], False


@pytest.fixture(scope="module")
def server(fake: FakeTelesign, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    serving = start(
        tmp_path_factory.mktemp("real") / "calls.db",
        api_key=KEY,
        telesign=fake.url,
        options=("--duplicate-window", "0", "--dial-timeout", "2"),
    )
    fake.webhook = f"{serving.url}/webhook"
    yield serving
    stop(serving)


def ivrflow(server: Server, fake: FakeTelesign, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELESIGN_", "IVRFLOW_"))}
    env |= {
        "TELESIGN_CUSTOMER_ID": CUSTOMER_ID,
        "TELESIGN_API_KEY": KEY,
        "TELESIGN_BASE_URL": fake.url,
        "IVRFLOW_STORE": f"sqlite:///{server.db}",
        "IVRFLOW_PUBLIC_URL": server.url,
    }
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=60,
    )


def shown(server: Server, reference_id: str) -> dict[str, object]:
    answer = httpx.get(f"{server.url}/calls/{reference_id}", headers=BASIC, timeout=10)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


# --- v1 status codes as text ------------------------------------------------------------------


@pytest.mark.parametrize("code", [100, "100"])
def test_a_v1_report_is_read_whichever_way_its_code_is_spelled(code: object) -> None:
    report = parse_v1_report(
        {
            "reference_id": "A" * 32,
            "status": {"code": code, "description": "Call answered"},
            "voice": {"user_input": "1"},
        }
    )
    assert (report.code, report.final, report.user_input) == (100, "completed", "1")


def test_a_v1_code_that_is_not_a_number_is_still_refused() -> None:
    from ivrflow.errors import BadEvent

    with pytest.raises(BadEvent, match="status/code"):
        parse_v1_report({"reference_id": "A" * 32, "status": {"code": "answered"}})


def test_send_wait_status_and_callbacks_take_codes_as_text(server: Server, telesign: FakeTelesign) -> None:
    telesign.v1_code_text = True
    result = ivrflow(
        server, telesign, "send", "flows/appointment-reminder.yaml", "--to", PRESSES_1, "--wait", "--poll", "0.05"
    )
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"reference id ([0-9A-F]{32}), status 103 \(Call in progress\)\nrecorded as call ([0-9A-F]{32}) in ",
        result.stdout,
    )
    assert found, result.stdout
    telesign_id, call_id = found.groups()
    assert result.stdout.endswith(f"{telesign_id}: answered; pressed 1 → confirmed\n")
    assert telesign.callbacks_done(telesign_id, 2) == [(103, 200), (100, 200)]  # POST /callbacks/v1 took both
    assert shown(server, call_id)["status"] == "completed"
    status = ivrflow(server, telesign, "status", telesign_id)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(
        f"{telesign_id}: answered; pressed 1 → confirmed (flow appointment-reminder, status 100 "
    )


def test_a_callback_with_a_text_code_is_recorded(server: Server, telesign: FakeTelesign) -> None:
    result = ivrflow(server, telesign, "send", "flows/appointment-reminder.yaml", "--to", PRESSES_1)
    assert result.returncode == 0, result.stderr
    telesign_id = result.stdout.split("reference id ")[1][:32]
    telesign.callbacks_done(telesign_id, 2)
    body = json.dumps(
        {
            "reference_id": telesign_id,
            "status": {"code": "107", "description": "Line busy", "updated_on": "2099-01-01T00:00:00Z"},
        }
    ).encode()
    answer = httpx.post(
        f"{server.url}/callbacks/v1",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"TSA {CUSTOMER_ID}:{callback_signature(KEY, body)}",
        },
    )
    assert answer.status_code == 200, answer.text


# --- requests that may have placed a call are not sent again ----------------------------------


def test_a_v1_call_placed_then_answered_500_is_placed_once_and_said_to_be_in_doubt(
    server: Server, telesign: FakeTelesign
) -> None:
    telesign.script = ["placed-500"] * 4
    result = ivrflow(server, telesign, "send", "flows/appointment-reminder.yaml", "--to", PRESSES_1)
    assert telesign.placed == 1 and telesign.script == ["placed-500"] * 3
    assert result.returncode == 1
    assert (
        "HTTP 500, error 10000: System unavailable, please try again later; the call may or may not have been placed, so it was not sent again"
        in result.stderr
    )
    kept = re.search(r"kept as call ([0-9A-F]{32}) \(dialing\)", result.stderr)
    assert kept, result.stderr
    assert f"Telesign's callback to {server.url}/callbacks/v1 (external_id {kept.group(1)})" in result.stderr
    # It was placed: its callback, which carries our external_id, finds the call and records it.
    telesign_id = next(
        reference for reference, call in telesign.v1_calls.items() if call.fields.get("external_id") == kept.group(1)
    )
    assert telesign.callbacks_done(telesign_id, 2) == [(103, 200), (100, 200)]
    call = shown(server, kept.group(1))
    assert (call["status"], call["telesign_reference_id"]) == ("completed", telesign_id)


def test_a_v1_failure_that_names_the_call_is_followed_up_by_the_status_query(
    server: Server, telesign: FakeTelesign
) -> None:
    telesign.script = ["placed-500+id"]
    result = ivrflow(server, telesign, "send", "flows/appointment-reminder.yaml", "--to", PRESSES_1)
    assert result.returncode == 0, result.stderr
    assert telesign.placed == 1
    assert re.search(
        r"^call placed: reference id [0-9A-F]{32}, status 103 \(Call in progress\)", result.stdout, re.M
    ), result.stdout


def test_a_dial_placed_then_answered_500_is_placed_once_and_runs(server: Server, telesign: FakeTelesign) -> None:
    telesign.script = ["placed-500"] * 4
    answer = httpx.post(
        f"{server.url}/calls", json={"flow": "appointment-reminder", "to": f"+{PRESSES_1}"}, headers=BASIC, timeout=30
    )
    assert answer.status_code == 502 and answer.json()["ResponseStatus"]["ErrorCode"] == "TELESIGN_UNAVAILABLE"
    message = answer.json()["ResponseStatus"]["Message"]
    assert (
        "the call may or may not have been placed, so it was not sent again" in message and "see GET /calls/" in message
    )
    assert telesign.placed == 1 and telesign.script == ["placed-500"] * 3
    call_id = answer.json()["reference_id"]
    played = telesign.call_for(call_id)  # its events carry our external_id: the engine runs it
    assert played.violations == [] and played.heard[-1] == {"hangup": True}
    for _ in range(100):
        call = shown(server, call_id)
        if call["status"] == "completed":
            break
        time.sleep(0.05)
    assert call["status"] == "completed" and call["telesign_reference_id"] == played.reference_id


def test_a_dial_is_retried_only_after_telesigns_rate_limit_refusal(telesign: FakeTelesign) -> None:
    action = {"method": "dial", "params": {"to": PRESSES_1, "caller_id_number": "15554441313", "external_id": "X1"}}
    waits: list[float] = []
    telesign.script = ["429", "429"]
    assert send_dial(action, Credentials(CUSTOMER_ID, KEY), Sending(sleep=waits.append)).status == "dial_accepted"
    assert waits == [0.5, 1.0] and telesign.placed == 1
    telesign.script = ["503", "503"]
    with pytest.raises(TelesignError) as failed:
        send_dial(
            {**action, "params": {**action["params"], "external_id": "X2"}},
            Credentials(CUSTOMER_ID, KEY),
            Sending(sleep=waits.append),
        )
    assert failed.value.in_doubt and failed.value.reason == "http_503" and telesign.script == ["503"]


def test_a_connection_never_made_is_retried_and_said_not_placed(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("TELESIGN_BASE_URL", f"http://127.0.0.1:{port}")
    waits: list[float] = []
    retried: list[str] = []
    with pytest.raises(TelesignError) as failed:
        send_v1(V1_FIELDS, Credentials(CUSTOMER_ID, KEY), Sending(sleep=waits.append, on_retry=retried.append))
    assert waits == [0.5, 1.0, 2.0] and retried == ["unreachable"] * 3
    assert (
        failed.value.reason == "unreachable"
        and not failed.value.in_doubt
        and "nothing was sent: the call was not placed" in str(failed.value)
    )


def test_a_status_query_is_still_retried_after_a_failure(telesign: FakeTelesign) -> None:
    reference = send_v1(V1_FIELDS, Credentials(CUSTOMER_ID, KEY)).reference_id
    telesign.script = ["503", "500"]
    waits: list[float] = []
    assert v1_status(reference, Credentials(CUSTOMER_ID, KEY), Sending(sleep=waits.append))["reference_id"] == reference
    assert waits == [0.5, 1.0]


# --- how Telesign's posts are authenticated: the operator's choice -----------------------------

SECRET = "k3Jd9_xQ-7vLm2NpR8sT4wYz6BcEfGhA1uVo0iWq5Zr"  # 43 characters, as secrets.token_urlsafe(32) makes


def _post(url: str, event: dict[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    """A post to the webhook or the callbacks, with or without the secret; its answer as the OpenAPI document says."""
    response = httpx.post(
        url,
        content=json.dumps(event).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=10,
    )
    openapi_check.check(response)
    return response


def _signed(event: dict[str, object]) -> dict[str, str]:
    signature = callback_signature(KEY, json.dumps(event).encode())
    return {"Authorization": f"TSA {CUSTOMER_ID}:{signature}", "X-TS-Authorization": signature}


def test_by_default_with_credentials_events_need_telesigns_signature_and_a_refusal_says_what_would_accept_it(
    tmp_path: Path,
) -> None:
    from live_server import incoming

    serving = start(tmp_path / "signature.db", api_key=KEY)
    try:
        unsigned = _post(f"{serving.url}/webhook", incoming("SIG-1"))
        assert unsigned.status_code == 401
        signed = _post(f"{serving.url}/webhook", incoming("SIG-2"), _signed(incoming("SIG-2")))
        assert signed.status_code == 200 and signed.json()["method"] == "speak"
        assert (
            _post(f"{serving.url}/webhook/{SECRET}", incoming("SIG-3")).status_code == 404
        )  # no secret path in this mode
    finally:
        log = stop(serving)
    assert (
        "webhook authentication: events and callbacks must carry Telesign's signature (--webhook-auth signature)" in log
    )
    refused = [line for line in log.splitlines() if "/webhook refused" in line]
    assert len(refused) == 1
    assert (
        "missing or wrong Telesign signature; it carried no authentication header; this account may not sign its voice events: --webhook-auth secret"
        in refused[0]
    )


def test_with_a_secret_events_are_taken_at_the_secret_path_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from live_server import incoming

    monkeypatch.setenv("IVRFLOW_WEBHOOK_SECRET", SECRET)
    serving = start(tmp_path / "secret.db", api_key=KEY, options=("--webhook-auth", "secret"))
    try:
        taken = _post(
            f"{serving.url}/webhook/{SECRET}", incoming("SEC-1")
        )  # unsigned, as an account that does not sign posts it
        assert taken.status_code == 200 and taken.json()["method"] == "speak"
        bare = _post(f"{serving.url}/webhook", incoming("SEC-2"), {**_signed(incoming("SEC-2")), "X-Request-Id": "r1"})
        assert bare.status_code == 401 and bare.json() == {"error": "not authenticated"}
        near = SECRET[:-1] + ("a" if SECRET[-1] != "a" else "b")
        assert _post(f"{serving.url}/webhook/{near}", incoming("SEC-3")).status_code == 401
        report = {"reference_id": "0" * 32, "status": {"code": "100", "description": "Call answered"}}
        assert (
            _post(f"{serving.url}/callbacks/v1/{SECRET}", report).status_code == 404
        )  # authenticated; a call it does not know
        assert _post(f"{serving.url}/callbacks/v1", report).status_code == 401
        assert httpx.get(f"{serving.url}/calls/SEC-1", headers=BASIC).json()["status"] == "in_progress"
        assert httpx.get(f"{serving.url}/calls/SEC-2", headers=BASIC).status_code == 404
    finally:
        log = stop(serving)
    assert SECRET not in log and SECRET[:-1] not in log  # neither the secret nor a near miss is ever logged
    assert "webhook authentication: events and callbacks are taken only at /webhook/$IVRFLOW_WEBHOOK_SECRET" in log
    assert "/webhook/$IVRFLOW_WEBHOOK_SECRET (behind HTTPS)" in log
    refused = [line for line in log.splitlines() if " refused: " in line]
    assert len(refused) == 3
    assert (
        "no secret in the path; it carried authorization, x-ts-authorization; register the URL with the secret"
        in refused[0]
    )
    assert "--webhook-auth signature would check its signature instead" in refused[0] and "r1" not in refused[0]
    assert "wrong secret in the path; it carried no authentication header" in refused[1]
    assert refused[2].count("/callbacks/v1 refused: no secret in the path") == 1


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (None, "needs IVRFLOW_WEBHOOK_SECRET"),
        ("short-secret", "at least 32 characters"),
        ("x" * 31 + "/", "at least 32 characters"),
    ],
)
def test_a_missing_short_or_unsafe_secret_is_refused_at_start(secret: str | None, why: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELESIGN_", "IVRFLOW_"))} | (
        {"IVRFLOW_WEBHOOK_SECRET": secret} if secret else {}
    )
    result = subprocess.run(
        [sys.executable, "-m", "ivrflow", "serve", "--webhook-auth", "secret", "--store", "memory://"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2 and why in result.stderr and "secrets.token_urlsafe(32)" in result.stderr


def test_a_signature_without_the_api_key_is_refused_at_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELESIGN_", "IVRFLOW_"))}
    result = subprocess.run(
        [sys.executable, "-m", "ivrflow", "serve", "--webhook-auth", "signature", "--store", "memory://"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2 and "needs TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY" in result.stderr


# --- ivrflow check-telesign, end to end against the fake Telesign ------------------------------

OPERATOR = "15552030200"  # the operator's phone: follows the instructions, then hangs up
TRANSFERRING = "15552030201"  # follows them and presses 5 for the transfer
SECOND = "15552030202"  # the operator's second phone: answers the transfer


def check_telesign(server: Server, fake: FakeTelesign, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ivrflow check-telesign`; the record it writes (GET /checks/{check_id}'s answer) is checked against the OpenAPI document."""
    result = ivrflow(
        server,
        fake,
        "check-telesign",
        *args,
        "--caller-id",
        "+15554441313",
        "--server",
        server.url,
        "--out",
        str(out),
        "--linger",
        "0.5",
        "--poll",
        "0.1",
        "--wait-max",
        "60",
    )
    if out.exists():
        found = openapi_check.problems(
            "GET", "/checks/ID", 200, httpx.Headers({"Content-Type": "application/json"}), out.read_bytes()
        )
        assert found == [], found
    return result


def test_check_telesign_places_the_test_call_records_every_post_and_says_what_held(
    server: Server, telesign: FakeTelesign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(telesign.phones, OPERATOR, Phone(keys=["1", None, "123", None], hangs_up_after=4))
    out = tmp_path / "check.json"
    result = check_telesign(server, telesign, out, f"+{OPERATOR}")
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(out.read_text())
    played = telesign.call_for(record["check_id"])
    assert played.violations == [] and telesign.placed == 1
    assert [json.loads(event["body"])["event"] for event in record["events"]] == ["dial_completed"] + [
        "speak_completed"
    ] * 4 + ["call_completed"]
    first = record["events"][0]
    assert first["path"] == "/webhook" and first["signed"] == {
        "authorization": "TSA valid",
        "x-ts-authorization": "absent",
    }
    assert (
        "authorization" in first["header_names"]
        and first["answered"]["status"] == 200
        and first["same_bytes_as"] is None
    )
    assert json.loads(first["body"])["external_id"] == record["check_id"]
    verdicts = {verdict["number"]: verdict for verdict in record["verdicts"]}
    assert {n: verdicts[n]["result"] for n in verdicts} == {
        1: "not seen", 2: "held", 3: "held", 4: "held", 5: "held", 6: "held", 7: "not seen", 8: "not seen", 9: "held", 10: "held",
        11: "cannot", 12: "cannot", 13: "cannot", 14: "cannot", 15: "held", 16: "held", 17: "cannot", 18: "held", 19: "held",
        24: "not seen", 25: "not seen",
    }  # fmt: skip
    assert (
        verdicts[5]["evidence"] == "asked to press 1: collected_digits '1'; asked to press nothing: collected_digits ''"
    )
    assert (
        verdicts[18]["evidence"]
        == "asked for 1, 2, 3 in one go: collected_digits '123'; the next question then got collected_digits ''"
    )
    assert verdicts[15]["evidence"] == "Telesign's reference id: 32 hex digits"
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"test call {record['check_id']} placed to +{OPERATOR} (Telesign reference id ")
    assert (
        " 5. held          keys come as speak_completed's data.collected_digits; no key is absent, null or empty"
        in lines
    )
    assert (
        lines[-1]
        == f"11 held, 0 did not hold, 5 not seen, 5 a test call cannot tell; 6 posts recorded in {out} (attach it to a ticket with Telesign support)"
    )


def test_check_telesign_with_a_second_number_tries_a_transfer_after_a_menu(
    server: Server, telesign: FakeTelesign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(telesign.phones, TRANSFERRING, Phone(keys=["1", None, "123", None, "5"]))
    monkeypatch.setitem(telesign.phones, SECOND, Phone())
    out = tmp_path / "transfer.json"
    result = check_telesign(server, telesign, out, f"+{TRANSFERRING}", "--transfer-to", f"+{SECOND}")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(out.read_text())
    assert telesign.call_for(record["check_id"]).heard[-3:] == [
        {"dial": SECOND},
        {"say": "You are back on this phone: the second one hung up first. The check is done. Goodbye."},
        {"hangup": True},
    ]
    verdicts = {verdict["number"]: verdict for verdict in record["verdicts"]}
    assert verdicts[1]["result"] == "held" and verdicts[1]["evidence"].startswith(
        "dial answered speak_completed (post 6); Telesign then posted dial_completed, status 'answered'"
    )
    assert verdicts[7]["result"] == "held" and verdicts[7]["evidence"].endswith(
        "Telesign then posted call_leg_completed"
    )
    assert verdicts[24] == {
        "number": 24,
        "assumption": "call_leg_completed says the second number hung up; a speak answering it reaches the caller",
        "result": "held",
        "evidence": f"call_leg_completed (post 8, data.to '{SECOND}') names the second number; the engine answered speak, and Telesign then posted speak_completed: the caller heard the dial's next",
    }
    assert verdicts[25]["result"] == "not seen" and verdicts[25]["evidence"].startswith(
        "the second phone hung up first"
    )


def test_check_telesign_on_an_account_that_does_not_sign_says_so_and_which_option_fits(
    telesign: FakeTelesign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVRFLOW_WEBHOOK_SECRET", SECRET)
    serving = start(
        tmp_path / "unsigned.db",
        api_key=KEY,
        telesign=telesign.url,
        options=("--webhook-auth", "secret", "--duplicate-window", "0"),
    )
    shared = telesign.webhook
    monkeypatch.setattr(telesign, "webhook", f"{serving.url}/webhook/{SECRET}")
    monkeypatch.setattr(telesign, "unsigned", True)
    monkeypatch.setitem(telesign.phones, OPERATOR, Phone(keys=["1", None, "123", None], hangs_up_after=4))
    try:
        result = check_telesign(serving, telesign, tmp_path / "unsigned.json", f"+{OPERATOR}")
    finally:
        stop(serving)
        telesign.webhook = shared
    record = json.loads((tmp_path / "unsigned.json").read_text())
    assert result.returncode == 1  # an assumption did not hold
    assert record["events"][0]["path"] == "/webhook/<secret>" and SECRET not in (tmp_path / "unsigned.json").read_text()
    ten = next(verdict for verdict in record["verdicts"] if verdict["number"] == 10)
    assert ten["result"] == "did not hold"
    assert (
        ten["evidence"]
        == "Authorization absent, X-TS-Authorization absent (server's --webhook-auth: secret); this account does not sign its voice events: run `ivrflow serve --webhook-auth secret`"
    )


def test_the_check_api_refuses_what_it_cannot_place_and_needs_credentials(
    server: Server, telesign: FakeTelesign
) -> None:
    assert (
        httpx.post(f"{server.url}/checks", json={"to": f"+{OPERATOR}", "caller_id": "+15554441313"}).status_code == 401
    )
    bad = httpx.post(
        f"{server.url}/checks",
        json={"to": f"+{OPERATOR}", "caller_id": "+15554441313", "transfer_to": "nope"},
        headers=BASIC,
    )
    assert bad.status_code == 400 and bad.json()["ResponseStatus"]["Errors"][0]["FieldName"] == "transfer_to"
    unknown = httpx.post(f"{server.url}/checks", json={"to": f"+{OPERATOR}", "flow": "x"}, headers=BASIC)
    assert unknown.status_code == 400 and unknown.json()["ResponseStatus"]["Errors"][0]["FieldName"] == "flow"
    assert httpx.get(f"{server.url}/checks/NOPE", headers=BASIC).status_code == 404
    assert (
        "telesign-check" not in httpx.get(f"{server.url}/flows", headers=BASIC).text
    )  # the check flow is not served to callers


def test_the_check_flows_lint_clean() -> None:
    from ivrflow.server.checks import check_flow

    for transfer in (False, True):
        assert check_flow(transfer).id == ("telesign-check-transfer" if transfer else "telesign-check")


# --- the list of assumptions: the adapter's, README's, and what check-telesign says of each ------


def _adapter_items() -> dict[int, str]:
    import ivrflow.telesign

    text = ivrflow.telesign.__doc__ or ""
    items = re.split(r"\n(\d+)\. ", text[text.index("\n1. ") :])
    return {int(number): body for number, body in zip(items[1::2], items[2::2], strict=True)}


def test_each_assumption_says_how_check_telesign_confirms_it() -> None:
    from ivrflow.server.check_report import TITLES

    items = _adapter_items()
    assert list(items) == list(range(1, len(items) + 1))  # numbered in order, none missing
    for number, body in items.items():
        assert "check-telesign" in body, f"item {number} does not say how check-telesign confirms it"
    assert set(TITLES) <= set(items)  # each verdict is about an item of the list


def test_a_transfer_after_a_menu_is_stated_with_both_sources() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### What the engine assumes") : readme.index("### Checking your Telesign account")]
    for source in (
        "Voice Actions page",
        "Events page",
        "voice_server_demo",
        "`speak_completed` with `dial`",
        "The engine does what the demo does",
    ):
        assert source in section and source.replace("`", "") in _adapter_items()[1].replace("`", "").replace(
            "\n   ", " "
        )
    rows = re.findall(r"^\| (\d+(?:, \d+)?) \|", section, re.M)
    assert sorted(int(n) for row in rows for n in row.split(", ")) == list(_adapter_items())  # a row for each item
