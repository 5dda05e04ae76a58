"""What the caller chose on a v1 call, end to end: `ivrflow send` records the call in the store the
server uses (its app in this process; served on loopback where the fake posts callbacks to it), the fake Telesign plays it (the v1 behaviour model with the phone's
keys, or the number's status code) and posts signed callbacks to POST /callbacks/v1, and
`ivrflow status`, `send --wait`, GET /calls/{id} and the outcomes summary all say how it went.
The official SDK's VoiceClient.status reads the fake's status answers as a cross-check of shape."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from telesign.voice import VoiceClient

from conftest import FLOWS, ROOT
from fake_telesign import FakeTelesign, running
from inprocess import App, listening, serving
from ivrflow.calls.interpreter import new_call
from ivrflow.calls.outcomes import outcomes, outcomes_text
from ivrflow.calls.record import CallRecord, V1Call
from ivrflow.language.loader import load_flow
from ivrflow.stores import MemoryStore, SqliteStore, Store
from ivrflow.telesign.auth import Credentials, basic_authorization, callback_signature
from ivrflow.telesign.client import Sending, v1_status
from ivrflow.telesign.facts import V1_STATUS_CODES
from ivrflow.telesign.v1 import V1Report, parse_v1_report
from ivrflow.v1.compiler import CallOptions, compile_v1
from ivrflow.v1.outcomes import apply_report, choice, in_words, v1_call
from live_server import CUSTOMER_ID

KEY = base64.b64encode(b"v1-outcomes-test-key-of-32-bytes").decode()
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}
APPOINTMENT = load_flow(FLOWS / "appointment-reminder.yaml")

# number → (what its phone does or how its call ends, the status, the words, the chosen node)
CASES = {
    "15552020100": ("presses 1", "completed", "answered; pressed 1 → confirmed", "confirmed"),
    "15552020101": ("presses 2", "completed", "answered; pressed 2 → cancelled", "cancelled"),
    "15552020102": ("presses nothing", "completed", "answered; no key pressed after the message (no choice)", None),
    "15552020103": (
        "presses 9, then nothing",
        "completed",
        "answered; pressed 9 to repeat the message, then chose nothing",
        None,
    ),
    "15552020104": ("presses 7", "completed", "answered; pressed 7, which is not a choice (no choice)", None),
    "15552020105": ("does not answer (101)", "no_answer", "not answered", None),
    "15552020106": ("104", "failed", "wrong or invalid phone number", None),
    "15552020107": ("106", "failed", "call failed", None),
    "15552020108": ("107", "busy", "line busy", None),
    "15552020109": ("130", "failed", "blocked by Telesign", None),
}


def _fake() -> FakeTelesign:
    from ivrflow.tools.carrier import Phone

    fake = FakeTelesign(CUSTOMER_ID, KEY)
    fake.phones = {
        "15552020100": Phone(keys=["1"]),
        "15552020101": Phone(keys=["2"]),
        "15552020102": Phone(keys=[]),
        "15552020103": Phone(keys=["9", None]),
        "15552020104": Phone(keys=["7"]),
        "15552020105": Phone(answers=False),
    }
    fake.v1_codes = {"15552020106": 104, "15552020107": 106, "15552020108": 107, "15552020109": 130}
    return fake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelesign]:
    with running(_fake()) as serving:
        yield serving


@pytest.fixture
def server(fake: FakeTelesign, tmp_path: Path) -> Iterator[App]:
    """The server, reached by the test alone."""
    with serving(tmp_path / "calls.db", api_key=KEY) as app:
        yield app


@pytest.fixture
def reachable_server(fake: FakeTelesign, tmp_path: Path) -> Iterator[App]:
    """The server on a loopback port, for the fake Telesign to post its callbacks to."""
    with listening(tmp_path / "calls.db", api_key=KEY) as app:
        yield app


def ivrflow(
    server: App, fake: FakeTelesign, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `ivrflow` command line with the server's store and the fake as Telesign."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELESIGN_", "IVRFLOW_"))}
    base |= {
        "TELESIGN_CUSTOMER_ID": CUSTOMER_ID,
        "TELESIGN_API_KEY": KEY,
        "TELESIGN_BASE_URL": fake.url,
        "IVRFLOW_STORE": f"sqlite:///{server.db}",
    }
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=base | (env or {}),
        check=False,
        timeout=60,
    )


def send(server: App, fake: FakeTelesign, number: str, *options: str) -> tuple[str, str]:
    """Send the appointment reminder to `number`, its callbacks to the server; (Telesign's reference id, ours)."""
    result = ivrflow(
        server,
        fake,
        "send",
        "flows/appointment-reminder.yaml",
        "--to",
        number,
        *options,
        env={"IVRFLOW_PUBLIC_URL": server.url},
    )
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"reference id ([0-9A-F]{32}), status 103 \(Call in progress\)\nrecorded as call ([0-9A-F]{32}) in ",
        result.stdout,
    )
    assert found, result.stdout
    return found.group(1), found.group(2)


def shown(server: App, reference_id: str) -> dict[str, object]:
    response = server.get(f"/calls/{reference_id}", headers=BASIC, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def post_report(
    server: App,
    report: dict[str, object],
    *,
    sign: bool = True,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(report).encode()
    headers = {"Content-Type": content_type}
    if sign:
        headers["Authorization"] = f"TSA {CUSTOMER_ID}:{callback_signature(KEY, body)}"
    return server.request("POST", "/callbacks/v1", content=body, headers=headers, timeout=10)


def report(
    reference_id: str,
    code: int,
    *,
    user_input: str | None = None,
    updated_on: str = "2026-11-23T10:00:00.000000Z",
    external_id: str | None = None,
) -> dict[str, object]:
    return {
        "reference_id": reference_id,
        "external_id": external_id,
        "submit_timestamp": "2026-11-23T09:59:00.000000Z",
        "status": {"code": code, "description": "", "updated_on": updated_on},
        "errors": [],
        "voice": {"caller_id": "15554441313", "user_input": user_input},
    }


def events(server: App) -> dict[str, float]:
    text = server.get("/metrics", timeout=10).text
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ivrflow_events_total" and sample.labels["event"] == "v1_callback"
    }


# --- every status code, end to end -------------------------------------------------------------


@pytest.mark.parametrize("number", CASES, ids=[f"{n}-{what}" for n, (what, *_) in CASES.items()])
def test_each_outcome_reaches_the_call_by_callback_and_by_status(
    reachable_server: App, fake: FakeTelesign, number: str
) -> None:
    server = reachable_server
    _, status, words, node = CASES[number]
    telesign_id, call_id = send(server, fake, number)
    sent = fake.v1_calls[telesign_id].fields
    assert sent["callback_url"] == f"{server.url}/callbacks/v1" and sent["external_id"] == call_id
    final = fake.v1_calls[telesign_id].final
    assert fake.callbacks_done(telesign_id, 2) == [(103, 200), (final, 200)]

    for asked in (telesign_id, call_id):  # either id finds the call
        call = shown(server, asked)
        assert (call["reference_id"], call["telesign_reference_id"], call["status"], call["node"]) == (
            call_id,
            telesign_id,
            status,
            node,
        )
    v1 = call["v1"]
    assert isinstance(v1, dict)
    assert v1["in_words"] == words
    assert v1["status"]["code"] == final  # type: ignore[index]
    assert v1["choice"] == ({"key": v1["user_input"], "node": node} if node else None)
    assert v1["params"] == sent and call["transcript"] == []

    result = ivrflow(server, fake, "status", telesign_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{telesign_id}: {words} (flow appointment-reminder, status {final} ")
    assert shown(server, call_id)["status"] == status  # the status query agrees, and changes nothing


def test_the_documented_codes_are_all_covered() -> None:
    exercised = {100, 101} | set(_fake().v1_codes.values())
    assert exercised == {100, 101, 104, 106, 107, 130}
    assert {code for code, (_, final) in V1_STATUS_CODES.items() if final} >= exercised
    assert V1_STATUS_CODES[103][1] == ""  # in progress is never final


def test_outcomes_sum_up_the_flow(reachable_server: App, fake: FakeTelesign) -> None:
    server = reachable_server
    none_yet = server.get("/flows/appointment-reminder/outcomes", headers=BASIC, timeout=10).json()
    assert (none_yet["calls"], none_yet["choices"]) == (
        0,
        [{"key": "1", "node": "confirmed", "calls": 0}, {"key": "2", "node": "cancelled", "calls": 0}],
    )
    for number in (
        "15552020100",
        "15552020100",
        "15552020101",
        "15552020102",
        "15552020103",
        "15552020105",
        "15552020108",
    ):
        telesign_id, _ = send(server, fake, number)
        fake.callbacks_done(telesign_id, 2)
    expected = {
        "flow": "appointment-reminder",
        "calls": 7,
        "v1_calls": 7,
        "live_calls": 0,
        "answered": 5,
        "choices": [{"key": "1", "node": "confirmed", "calls": 2}, {"key": "2", "node": "cancelled", "calls": 1}],
        "no_choice": 2,
        "statuses": {"completed": 5, "busy": 1, "no_answer": 1},
        "menus": [
            {
                "node": "menu",
                "type": "select_digits",
                "keys": [
                    {"key": "1", "node": "confirmed", "times": 2},
                    {"key": "2", "node": "cancelled", "times": 1},
                    {"key": "9", "node": "again", "times": 1},
                ],
                "no_input": 1,
                "used_up": 2,  # v1 gives one chance: the repeat key's caller and the silent one
            }
        ],
        "answers": [],
        "endings": [
            {"node": "confirmed", "outcome": "completed", "calls": 2},
            {"node": "menu", "outcome": "completed", "calls": 2},
            {"node": "cancelled", "outcome": "completed", "calls": 1},
        ],
    }
    answer = server.get("/flows/appointment-reminder/outcomes", headers=BASIC, timeout=10)
    assert answer.status_code == 200 and answer.json() == expected
    as_json = ivrflow(server, fake, "outcomes", "appointment-reminder", "--format", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == expected
    as_text = ivrflow(server, fake, "outcomes", "flows/appointment-reminder.yaml")  # the file names the flow too
    assert as_text.stdout == (
        "appointment-reminder: 7 calls (7 v1, 0 live)\n"
        "  5 answered\n"
        "    2 pressed 1 → confirmed\n"
        "    1 pressed 2 → cancelled\n"
        "    2 answered a v1 call and chose nothing\n"
        "  select_digits menu:\n"
        "    2 pressed 1 → confirmed\n"
        "    1 pressed 2 → cancelled\n"
        "    1 pressed 9 → again\n"
        "    1 no key; 2 used up their attempts\n"
        "  endings: 2 at confirmed (completed), 2 at menu (completed), 1 at cancelled (completed)\n"
        "  by status: 5 completed, 1 busy, 1 no_answer\n"
    )
    unknown = server.get("/flows/appointment-remindr/outcomes", headers=BASIC, timeout=10)
    assert (
        unknown.status_code == 404
        and "Did you mean `appointment-reminder`" in unknown.json()["ResponseStatus"]["Message"]
    )
    assert server.get("/flows/appointment-reminder/outcomes", timeout=10).status_code == 401


# --- callbacks: repeated, out of order, unknown, forged ------------------------------------------


def test_callbacks_out_of_order_and_repeated_keep_the_final_status(
    reachable_server: App, fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = reachable_server
    monkeypatch.setattr(fake, "v1_callbacks", "reversed")  # the final status first, then the 103 it followed
    telesign_id, call_id = send(server, fake, "15552020100")
    assert fake.callbacks_done(telesign_id, 2) == [(100, 200), (103, 200)]
    assert (shown(server, call_id)["status"], shown(server, call_id)["node"]) == ("completed", "confirmed")

    monkeypatch.setattr(fake, "v1_callbacks", "twice")
    telesign_id, call_id = send(server, fake, "15552020101")
    assert fake.callbacks_done(telesign_id, 3) == [(103, 200), (100, 200), (100, 200)]
    assert (shown(server, call_id)["status"], shown(server, call_id)["node"]) == ("completed", "cancelled")
    counted = events(server)
    assert (counted["recorded"], counted["stale"], counted["duplicate"]) == (3, 1, 1)


def test_direct_reports_move_a_call_forward_only(server: App, fake: FakeTelesign) -> None:
    """Reports posted by hand: an intermediate one, the final, the final again, a late intermediate,
    and an older final: the call ends once, with the newest final, and never goes back."""
    telesign_id, call_id = send(server, fake, "15552020100", "--callback-url", "https://nowhere.invalid/callbacks/v1")
    assert shown(server, call_id)["status"] == "in_progress"
    assert post_report(server, report(telesign_id, 103, updated_on="2026-11-23T10:00:01.000000Z")).status_code == 200
    assert (
        post_report(
            server, report(telesign_id, 100, user_input="2", updated_on="2026-11-23T10:00:30.000000Z")
        ).status_code
        == 200
    )
    after_final = shown(server, call_id)
    assert (after_final["status"], after_final["node"]) == ("completed", "cancelled")
    for late in (
        report(telesign_id, 100, user_input="2", updated_on="2026-11-23T10:00:30.000000Z"),  # the same again
        report(telesign_id, 103, updated_on="2026-11-23T10:00:40.000000Z"),  # not final, after a final
        report(telesign_id, 101, updated_on="2026-11-23T10:00:20.000000Z"),  # an older final
    ):
        assert post_report(server, late).status_code == 200
    assert shown(server, call_id) == after_final
    counted = events(server)
    assert (counted["recorded"], counted["duplicate"], counted["stale"]) == (2, 1, 2)


def test_unknown_forged_and_malformed_callbacks_change_nothing(server: App, fake: FakeTelesign) -> None:
    telesign_id, call_id = send(server, fake, "15552020100", "--callback-url", "https://nowhere.invalid/callbacks/v1")
    before = shown(server, call_id)
    unknown = post_report(server, report("0" * 32, 100, user_input="1"))
    assert unknown.status_code == 404 and "no v1 call with reference_id" in unknown.json()["error"]
    assert server.get(f"/calls/{'0' * 32}", headers=BASIC, timeout=10).status_code == 404  # nothing recorded for it
    # Our call's id as external_id, with another call's reference id: not this call's report.
    assert post_report(server, report("1" * 32, 101, external_id=call_id)).status_code == 404
    assert post_report(server, report(telesign_id, 101), sign=False).status_code == 401
    forged = json.dumps(report(telesign_id, 101)).encode()
    assert (
        server.request(
            "POST",
            "/callbacks/v1",
            content=forged,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"TSA {CUSTOMER_ID}:{callback_signature(KEY, b'other')}",
            },
            timeout=10,
        ).status_code
        == 401
    )
    assert post_report(server, {}, raw=b"{not json").status_code == 400
    bad = post_report(server, {"reference_id": telesign_id, "status": {"code": "answered"}})
    assert (
        bad.status_code == 400
        and bad.json()["error"]
        == "not a Telesign v1 status report: status/code: 'answered' does not match '^[0-9]{1,6}$'"
    )
    assert post_report(server, report(telesign_id, 101), content_type="text/plain").status_code == 415
    assert shown(server, call_id) == before
    counted = events(server)
    assert (counted["unknown_call"], counted["bad_signature"], counted["invalid"]) == (2, 2, 3)


# --- ivrflow status and send --wait ---------------------------------------------------------------


def test_send_wait_polls_until_final(server: App, fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "v1_polls", 2)
    result = ivrflow(
        server,
        fake,
        "send",
        "flows/appointment-reminder.yaml",
        "--to",
        "15552020101",
        "--wait",
        "--poll",
        "0.05",
        "--auth",
        "hmac",
    )
    assert result.returncode == 0, result.stderr
    telesign_id = re.findall(r"reference id ([0-9A-F]{32})", result.stdout)[0]
    assert result.stdout.splitlines()[-1] == f"{telesign_id}: answered; pressed 2 → cancelled"
    assert fake.v1_calls[telesign_id].polls_left == 0
    call = shown(server, telesign_id)  # no callback_url: the polls alone recorded it
    assert (call["status"], call["node"]) == ("completed", "cancelled")
    assert "callback_url" not in fake.v1_calls[telesign_id].fields


def test_send_wait_gives_up_after_wait_max(server: App, fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "v1_polls", 10_000)
    result = ivrflow(
        server,
        fake,
        "send",
        "flows/appointment-reminder.yaml",
        "--to",
        "15552020100",
        "--wait",
        "--poll",
        "0.05",
        "--wait-max",
        "0.5",
    )
    assert result.returncode == 1
    assert re.search(r"still in progress after 0.5 s; ask again with: ivrflow status [0-9A-F]{32}\n$", result.stderr), (
        result.stderr
    )


def test_status_of_an_unknown_reference_is_telesigns_404(server: App, fake: FakeTelesign) -> None:
    result = ivrflow(server, fake, "status", "ABCDEF0123456789ABCDEF0123456789")
    assert result.returncode == 1
    assert (
        result.stderr == "ivrflow status: Telesign refused the request: HTTP 404, error 10017: Reference ID not found\n"
    )
    assert ivrflow(server, fake, "status", "../v2/voice").returncode == 1  # never a path into another resource


def test_status_of_a_call_placed_elsewhere_says_the_key_without_a_flow(server: App, fake: FakeTelesign) -> None:
    params, _ = compile_v1(APPOINTMENT, CallOptions(to="15552020100"))
    assert params is not None
    client = VoiceClient(CUSTOMER_ID, KEY, rest_endpoint=fake.url)
    placed = client.call(params.pop("phone_number"), params.pop("message"), params.pop("message_type"), **params)
    telesign_id = placed.json["reference_id"]
    fake.v1_calls[telesign_id].polls_left = 0
    result = ivrflow(server, fake, "status", telesign_id)
    assert (result.returncode, result.stdout) == (0, f"{telesign_id}: answered; pressed 1\n")
    assert "not placed by `ivrflow send`" in result.stderr


@pytest.mark.parametrize("auth", ["basic", "hmac"])
def test_the_official_sdk_reads_the_same_status(fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch, auth: str) -> None:
    """VoiceClient.status (the SDK's own GET and signature) and our v1_status read the same answer."""
    monkeypatch.setenv("TELESIGN_BASE_URL", fake.url)
    params, _ = compile_v1(APPOINTMENT, CallOptions(to="15552020101"))
    assert params is not None
    client = VoiceClient(CUSTOMER_ID, KEY, rest_endpoint=fake.url)
    telesign_id = client.call(
        params.pop("phone_number"), params.pop("message"), params.pop("message_type"), **params
    ).json["reference_id"]
    fake.v1_calls[telesign_id].polls_left = 0
    by_sdk = client.status(telesign_id)
    assert by_sdk.status_code == 200, by_sdk.body
    ours = v1_status(telesign_id, Credentials(CUSTOMER_ID, KEY), Sending(auth=auth))
    assert ours == by_sdk.json
    assert parse_v1_report(by_sdk.json) == V1Report(
        telesign_id, 100, "Call answered", fake.v1_calls[telesign_id].ended_on, "2", None
    )


def test_public_url_sets_the_callback_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVRFLOW_")} | {
        "IVRFLOW_PUBLIC_URL": "https://ivr.example.com/"
    }

    def compiled(*options: str) -> dict[str, str]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ivrflow",
                "compile",
                "flows/appointment-reminder.yaml",
                "--to",
                "15552020100",
                *options,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
        )
        fields: dict[str, str] = json.loads(result.stdout)
        return fields

    assert compiled()["callback_url"] == "https://ivr.example.com/callbacks/v1"
    assert compiled("--callback-url", "https://other.example.com/cb")["callback_url"] == "https://other.example.com/cb"


# --- apply_report, alone ---------------------------------------------------------------------------


def _record() -> CallRecord:
    params, _ = compile_v1(APPOINTMENT, CallOptions(to="15552020100"))
    assert params is not None
    return CallRecord(
        "OURS",
        new_call(APPOINTMENT, {"called": "15552020100"}),
        updated=0.0,
        created=0.0,
        direction="outbound",
        v1=v1_call(APPOINTMENT, params),
    )


FINALS = [code for code, (_, final) in V1_STATUS_CODES.items() if final]


@given(
    st.lists(st.integers(0, 58), min_size=0, max_size=6),
    st.sampled_from(FINALS),
    st.sampled_from(["", "1", "2", "9", "7"]),
    st.randoms(use_true_random=False),
    st.integers(0, 2),
)
def test_any_order_of_reports_ends_in_the_same_record(
    seconds: list[int], final: int, key: str, shuffle: object, repeats: int
) -> None:
    """Intermediate reports at any times before the final one, each delivered up to 3 times, in any
    order: once the final is applied the call stays ended, and it ends exactly as in order."""
    import random

    assert isinstance(shuffle, random.Random)
    stamp = "2026-11-23T10:00:{:02d}.000000Z".format
    reports = [V1Report("T", 103, "Call in progress", stamp(s), None) for s in seconds]
    reports.append(V1Report("T", final, "", stamp(59), key if final == 100 else None))
    delivered = [r for r in reports for _ in range(1 + repeats)]

    placed = _record()

    def apply_all(order: list[V1Report]) -> CallRecord:
        record, ended = placed, False
        for each in order:
            changed, _, _ = apply_report(record, each, 0.0)
            record = changed or record
            assert record.state.ended or not ended  # never back
            ended = record.state.ended
        return record

    in_order = apply_all(sorted(reports, key=lambda r: r.updated_on))
    shuffle.shuffle(delivered)
    assert apply_all(delivered) == in_order
    assert in_order.status == V1_STATUS_CODES[final][1] and in_order.v1 is not None and in_order.v1.code == final


def test_a_report_for_a_live_call_or_another_reference_is_unknown() -> None:
    live = CallRecord("L", new_call(APPOINTMENT), updated=0.0, created=0.0)
    assert apply_report(live, V1Report("L", 100, "", "", "1"), 0.0)[2].outcome == "unknown"
    placed = apply_report(_record(), V1Report("T", 103, "", "", None), 0.0)[0]
    assert placed is not None and placed.status == "in_progress"
    assert apply_report(placed, V1Report("OTHER", 100, "", "", "1"), 0.0)[2].outcome == "unknown"
    assert apply_report(None, V1Report("T", 100, "", "", "1"), 0.0)[2].outcome == "unknown"


def test_words_for_every_kind_of_answer() -> None:
    call = _record().v1
    assert call is not None
    assert in_words(call) == "no status reported yet"
    assert in_words(V1Call(code=100, user_input="3")) == "answered; pressed 3"  # not placed by ivrflow send
    assert in_words(V1Call(code=100, user_input="")) == "answered; no key pressed after the message"
    from dataclasses import replace

    assert in_words(replace(call, code=100, user_input=None)) == "answered; Telesign did not say which key was pressed"
    assert in_words(replace(call, code=599, description="Status not available")) == "status not available"
    assert in_words(replace(call, code=42, description="Something new")) == "Something new"
    message_only = V1Call({"message": "Hi"}, code=100, user_input="")
    assert in_words(message_only) == "answered; the message was played (the flow asks for no key)"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_v1_record_survives_the_store(kind: str, tmp_path: Path) -> None:
    store: Store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "calls.db")
    record = _record()
    store.update("OURS", lambda old: (record, [], None))
    reported = V1Report("T", 100, "Call answered", "2026-11-23T10:00:59.000000Z", "1")
    store.update("OURS", lambda current: apply_report(current, reported, 5.0))
    kept = store.get("OURS")
    assert kept is not None and kept.v1 is not None
    assert (kept.status, kept.state.node, choice(kept.v1), kept.telesign_id) == (
        "completed",
        "confirmed",
        "confirmed",
        "T",
    )
    assert kept == apply_report(record, reported, 5.0)[0]
    assert store.find("T") == "OURS"
    flow = load_flow(FLOWS / "appointment-reminder.yaml")
    assert outcomes("appointment-reminder", store.counts("appointment-reminder"), flow)["choices"] == [
        {"key": "1", "node": "confirmed", "calls": 1},
        {"key": "2", "node": "cancelled", "calls": 0},
    ]
    assert "1 pressed 1 → confirmed" in outcomes_text(
        outcomes("appointment-reminder", store.counts("appointment-reminder"))
    )


def test_a_refused_call_is_kept_as_failed_and_a_store_that_cannot_be_written_sends_nothing(
    server: App, fake: FakeTelesign
) -> None:
    refused = ivrflow(
        server,
        fake,
        "send",
        "flows/appointment-reminder.yaml",
        "--to",
        "15552020100",
        env={"TELESIGN_API_KEY": base64.b64encode(b"wrong").decode()},
    )
    assert refused.returncode == 1 and "error 10022: Invalid API key" in refused.stderr
    calls = server.get("/calls", params={"flow": "appointment-reminder"}, headers=BASIC, timeout=10).json()["calls"]
    assert [(c["status"], c["error"]) for c in calls] == [
        ("failed", "Telesign did not accept the credentials: HTTP 401, error 10022: Invalid API key")
    ]

    before = len(fake.received)
    unwritable = ivrflow(
        server,
        fake,
        "send",
        "flows/appointment-reminder.yaml",
        "--to",
        "15552020100",
        "--store",
        "sqlite:////proc/ivrflow/calls.db",
    )
    assert unwritable.returncode == 2 and unwritable.stderr.startswith(
        "ivrflow send: cannot open the store sqlite:////proc/ivrflow/calls.db: "
    )
    assert len(fake.received) == before  # nothing placed that could not be recorded


# --- a flow in several languages: one v1 call per language ----------------------------------------


def test_send_in_a_language_speaks_it_and_its_outcome_maps_back(
    server: App, fake: FakeTelesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`send --language es-MX` places the Spanish call in the Spanish voice, records the call in that
    language, and the key the caller pressed maps back to the flow's choice as in any language."""
    from ivrflow.tools.carrier import Phone

    monkeypatch.setitem(fake.phones, "15552020110", Phone(keys=["5", "2"]))  # through the gate, then 2
    result = ivrflow(
        server,
        fake,
        "send",
        "tests/flows/good/appointment-bilingual.yaml",
        "--to",
        "15552020110",
        "--language",
        "es-MX",
        "--wait",
        "--poll",
        "0.05",
    )
    assert result.returncode == 0, result.stderr
    telesign_id = re.findall(r"reference id ([0-9A-F]{32})", result.stdout)[0]
    assert result.stdout.splitlines()[-1] == f"{telesign_id}: answered; pressed 2 → cancelled"
    fields = fake.v1_calls[telesign_id].fields
    assert fields["voice"] == "f-es-MX"
    assert fields["tts_message_2"] == "Su cita ha sido cancelada. Adiós."
    assert fields["prompt_message"].startswith("Le llama Riverside Clinic.")
    store = SqliteStore(server.db)
    call_id = store.find(telesign_id)
    record = store.get(call_id or telesign_id)
    assert record is not None and record.state.language == "es-MX"
    call = shown(server, telesign_id)
    assert (call["status"], call["node"]) == ("completed", "cancelled")


def test_send_in_a_language_the_flow_does_not_have_is_a_usage_error(server: App, fake: FakeTelesign) -> None:
    placed = fake.placed
    result = ivrflow(
        server, fake, "send", "flows/appointment-reminder.yaml", "--to", "15552020101", "--language", "es-MX"
    )
    assert result.returncode == 2
    assert (
        "--language es-MX: the flow 'appointment-reminder' has no language 'es-MX'. Its languages: en-US."
        in result.stderr
    )
    assert fake.placed == placed
