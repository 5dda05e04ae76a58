"""Telesign's authentication error codes, spoken plainly: the fake Telesign answers each one where
its check fails (in either code family), `ivrflow send`, `status` and `call` say what each means
and what to do (for a date out of range, how far this computer's clock is off), and the table of
codes agrees with Telesign's two families."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

import ivrflow.telesign.auth
from fake_telesign import NEGATIVE, FakeTelesign, running
from inprocess import listening
from ivrflow.cli import main
from ivrflow.cli.common import auth_advice
from ivrflow.telesign.auth import basic_authorization, hmac_headers
from ivrflow.telesign.auth_codes import AUTH_CODES, BY_CODE, auth_code
from live_server import CUSTOMER_ID

KEY = base64.b64encode(b"auth-errors-test-key-of-32-bytes").decode()
WRONG_KEY = base64.b64encode(b"not-the-key").decode()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeTelesign]:
    with running(FakeTelesign(CUSTOMER_ID, KEY)) as serving:
        monkeypatch.setenv("TELESIGN_BASE_URL", serving.url)
        monkeypatch.setenv("IVRFLOW_STORE", f"sqlite:///{tmp_path / 'calls.db'}")
        monkeypatch.setenv("TELESIGN_CUSTOMER_ID", CUSTOMER_ID)
        monkeypatch.setenv("TELESIGN_API_KEY", KEY)
        yield serving


def _signed(**changes: str | None) -> dict[str, str]:
    headers = hmac_headers(CUSTOMER_ID, KEY, "GET", "/v1/voice/ABC")
    headers.update({name: value for name, value in changes.items() if value is not None})
    return {name: value for name, value in headers.items() if value and changes.get(name, "") is not None}


# Each check of the fake, failed: the request's headers and the positive code Telesign answers.
FAILED_CHECKS = {
    "no Authorization": (dict, 10009),
    "Basic, not base64 of a pair": (lambda: {"Authorization": "Basic bm8tY29sb24="}, 10028),
    "Basic, other customer": (lambda: {"Authorization": basic_authorization("someone-else", KEY)}, 10015),
    "Basic, wrong key": (lambda: {"Authorization": basic_authorization(CUSTOMER_ID, WRONG_KEY)}, 10022),
    "other scheme": (lambda: {"Authorization": "Bearer x"}, 10028),
    "other auth method": (lambda: _signed(**{"x-ts-auth-method": "HMAC-SHA1"}), 10006),
    "no Date": (lambda: _signed(Date=None), 10007),
    "Date not RFC 822": (lambda: _signed(Date="yesterday"), 10005),
    "Date out of range": (lambda: _signed(Date=formatdate(0, usegmt=True)), 10004),
    "nonce too long": (lambda: _signed(**{"x-ts-nonce": "n" * 129}), 10003),
    "no nonce": (lambda: _signed(**{"x-ts-nonce": None}), 10003),
    "TSA, other customer": (lambda: {**_signed(), "Authorization": "TSA someone-else:AAAA"}, 10015),
    "TSA, wrong signature": (lambda: {**_signed(), "Authorization": f"TSA {CUSTOMER_ID}:AAAA"}, 10008),
}


@pytest.mark.parametrize("family", ["positive", "negative"])
@pytest.mark.parametrize("case", FAILED_CHECKS, ids=list(FAILED_CHECKS))
def test_the_fake_answers_each_of_telesigns_auth_codes_where_its_check_fails(
    fake: FakeTelesign, case: str, family: str
) -> None:
    headers, positive = FAILED_CHECKS[case]
    fake.error_family = family
    answer = httpx.get(f"{fake.url}/v1/voice/ABC", headers=headers())
    expected = positive if family == "positive" else NEGATIVE[positive]
    assert answer.status_code == 401 and [error["code"] for error in answer.json()["errors"]] == [expected], answer.text


def test_a_nonce_used_recently_is_refused_with_its_code(fake: FakeTelesign) -> None:
    headers = _signed()
    assert httpx.get(f"{fake.url}/v1/voice/ABC", headers=headers).status_code == 404  # accepted: no such call
    assert httpx.get(f"{fake.url}/v1/voice/ABC", headers=headers).json()["errors"][0]["code"] == 10002


def test_the_table_has_telesigns_two_families_as_twins() -> None:
    """Each negative code and its positive twin (the reference's sections 7.2 and 7.3), the twins the fake answers with."""
    assert {entry.twin: code for code, entry in AUTH_CODES.items() if entry.twin is not None} == NEGATIVE
    assert set(AUTH_CODES) == {-30000, -30004, -30005, -30006, -30007, -30008, -30009, -30010, -30011, -30012, -30015}
    assert all(BY_CODE[entry.twin] is entry for entry in AUTH_CODES.values() if entry.twin is not None)
    assert auth_code("-30010") is auth_code(10004) is AUTH_CODES[-30010]
    assert auth_code("PARAMETER_INVALID") is None and auth_code(11000) is None


def _stderr(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("family", ["positive", "negative"])
def test_send_says_how_far_the_clock_is_off_when_telesign_refuses_the_date(
    fake: FakeTelesign, capsys: pytest.CaptureFixture[str], family: str
) -> None:
    fake.clock_offset, fake.error_family = (
        20 * 60,
        family,
    )  # Telesign's clock 20 minutes ahead: this computer's is 20 behind
    code, lines = _stderr(capsys, "send", "flows/appointment-reminder.yaml", "--to", "15550100200", "--auth", "hmac")
    number = 10004 if family == "positive" else -30010
    assert (
        code == 1
        and lines[0]
        == f"ivrflow send: Telesign did not accept the credentials: HTTP 401, error {number}: Date header is not within tolerable range"
    )
    assert lines[1:] == [
        f"  error {number} means the request's date is more than 15 minutes away from Telesign's clock: this computer's clock is 20 minutes off (behind Telesign's); Telesign allows 15. Set it right: turn on automatic time sync (NTP)"
    ]
    fake.clock_offset = -17 * 60
    _, lines = _stderr(capsys, "send", "flows/appointment-reminder.yaml", "--to", "15550100200", "--auth", "hmac")
    assert "this computer's clock is 17 minutes off (ahead of Telesign's); Telesign allows 15" in lines[1]


@pytest.mark.parametrize(
    ("argv", "key", "customer", "said"),
    [
        (
            ["send", "flows/appointment-reminder.yaml", "--to", "15550100200", "--auth", "hmac"],
            WRONG_KEY,
            CUSTOMER_ID,
            "  error 10008 means the signature does not match: the API key is not the account's, or the request changed on the way: check TELESIGN_API_KEY",
        ),
        (
            ["send", "flows/appointment-reminder.yaml", "--to", "15550100200"],
            WRONG_KEY,
            CUSTOMER_ID,
            "  error 10022 means Telesign does not accept this API key for the customer id: check TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY",
        ),
        (
            ["send", "flows/appointment-reminder.yaml", "--to", "15550100200"],
            KEY,
            "someone-else",
            "  error 10015 means Telesign does not know this customer id: check TELESIGN_CUSTOMER_ID",
        ),
        (
            ["status", "0123456789ABCDEF0123456789ABCDEF", "--auth", "hmac"],
            WRONG_KEY,
            CUSTOMER_ID,
            "  error 10008 means the signature does not match",
        ),
        (
            ["status", "0123456789ABCDEF0123456789ABCDEF"],
            KEY,
            "someone-else",
            "  error 10015 means Telesign does not know this customer id",
        ),
    ],
    ids=[
        "send hmac wrong key",
        "send basic wrong key",
        "send other customer",
        "status hmac wrong key",
        "status other customer",
    ],
)
def test_send_and_status_say_what_telesigns_refusal_means_and_what_to_do(
    fake: FakeTelesign,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    key: str,
    customer: str,
    said: str,
) -> None:
    monkeypatch.setenv("TELESIGN_API_KEY", key)
    monkeypatch.setenv("TELESIGN_CUSTOMER_ID", customer)
    code, lines = _stderr(capsys, *argv)
    assert code == 1 and lines[0].startswith(
        f"ivrflow {argv[0]}: Telesign did not accept the credentials: HTTP 401, error "
    )
    assert len(lines) == 2 and lines[1].startswith(said), lines


def test_send_says_a_nonce_was_used_recently(
    fake: FakeTelesign, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    used = uuid.UUID("5f0c1d5e-1111-4c2b-9a55-000000000001")
    fake.nonces.add(str(used))
    monkeypatch.setattr(ivrflow.telesign.auth.uuid, "uuid4", lambda: used)
    code, lines = _stderr(capsys, "send", "flows/appointment-reminder.yaml", "--to", "15550100200", "--auth", "hmac")
    assert code == 1 and lines[1].startswith(
        "  error 10002 means this x-ts-nonce was used recently: send a new random value with each request"
    )


def test_call_says_what_the_servers_refusal_means(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with listening(tmp_path / "calls.db", api_key=KEY) as server:
        monkeypatch.setenv("TELESIGN_CUSTOMER_ID", CUSTOMER_ID)
        monkeypatch.setenv("TELESIGN_API_KEY", WRONG_KEY)
        code, lines = _stderr(capsys, "call", "+15552010200", "--flow", "appointment-reminder", "--server", server.url)
    assert (
        code == 1
        and lines[0]
        == "ivrflow call: UNAUTHORIZED (HTTP 401): wrong customer id or signature: the signature is not this request's, made with the account's API key"
    )
    assert lines[1:] == [
        "  error -30006 means the signature does not match: the API key is not the account's, or the request changed on the way: check TELESIGN_API_KEY: copy it again from the Telesign portal (it is base64, ending in = as a rule); or try --auth basic"
    ]


def test_every_code_has_words_and_the_clock_is_said_when_it_can_be() -> None:
    for code, entry in AUTH_CODES.items():
        for either in (code, entry.twin):
            [line] = auth_advice([str(either)], None, "Telesign")
            assert line.startswith(f"  error {either} means ") and "{who}" not in line
    [unknown] = auth_advice([-30010], None, "the server")
    assert (
        "how far this computer's clock is off cannot be told (the server's answer had no readable Date header); the server allows 15"
        in unknown
    )
    [ahead] = auth_advice(["-30010"], 31 * 60, "the server")
    assert "this computer's clock is 31 minutes off (ahead of the server's); the server allows 15" in ahead
    assert auth_advice(["PARAMETER_INVALID", 11000], 0, "Telesign") == []
