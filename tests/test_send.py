"""`ivrflow send` against the fake Telesign v1 endpoint, and the official SDK as a cross-check."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from telesign.voice import VoiceClient

from conftest import FLOWS, ROOT
from fake_telesign import FakeTelesign, running
from ivrflow.errors import TelesignError
from ivrflow.language.loader import load_flow
from ivrflow.telesign.auth import Credentials
from ivrflow.telesign.client import Sending, send_v1
from ivrflow.v1.compiler import CallOptions, compile_v1

CUSTOMER = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeTelesign]:
    with running(FakeTelesign(CUSTOMER, KEY)) as server:
        monkeypatch.setenv("TELESIGN_BASE_URL", server.url)
        monkeypatch.setenv("IVRFLOW_STORE", f"sqlite:///{tmp_path / 'calls.db'}")
        yield server


def _sent(fake: FakeTelesign) -> list[dict[str, str]]:
    """The fields Telesign received, without the external_id `ivrflow send` adds (its record's id)."""
    for fields in fake.received:
        assert re.fullmatch(r"[0-9A-F]{32}", fields.get("external_id", "")), fields
    return [{k: v for k, v in fields.items() if k != "external_id"} for fields in fake.received]


def _params() -> dict[str, str]:
    params, _ = compile_v1(load_flow(FLOWS / "appointment-reminder.yaml"), CallOptions(to="15550100200"))
    assert params is not None
    return params


def send(*args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TELESIGN_CUSTOMER_ID": CUSTOMER, "TELESIGN_API_KEY": key}
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", "send", *args], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


@pytest.mark.parametrize("auth", ["basic", "hmac"])
def test_send_places_the_compiled_request(fake: FakeTelesign, auth: str) -> None:
    result = send("flows/appointment-reminder.yaml", "--to", "+15550100200", "--auth", auth)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("call placed: reference id ")
    assert "status 103 (Call in progress)" in result.stdout
    assert _sent(fake) == [_params()]


def test_wrong_key_is_a_clear_401(fake: FakeTelesign) -> None:
    result = send("flows/appointment-reminder.yaml", "--to", "15550100200", "--auth", "hmac", key="d3Jvbmcta2V5")
    assert result.returncode == 1
    first, advice = result.stderr.strip().splitlines()
    assert first == "ivrflow send: Telesign did not accept the credentials: HTTP 401, error 10008: Invalid signature"
    assert advice.startswith(
        "  error 10008 means the signature does not match: the API key is not the account's, or the request changed on the way: check TELESIGN_API_KEY"
    )
    assert fake.received == []


def test_telesign_400_is_one_line_with_its_code(fake: FakeTelesign) -> None:
    with pytest.raises(TelesignError) as refused:
        send_v1({**_params(), "voice": "f-xx-XX"}, Credentials(CUSTOMER, KEY))
    assert (
        str(refused.value) == "Telesign refused the request: HTTP 400, error 11018: Invalid value for parameter voice"
    )
    assert refused.value.codes == (11018,)


def test_429_then_success_is_retried(fake: FakeTelesign) -> None:
    fake.script = ["429", "429"]
    waits: list[float] = []
    answer = send_v1(_params(), Credentials(CUSTOMER, KEY), Sending(auth="hmac", sleep=waits.append))
    assert answer.status_code == 103 and len(fake.received) == 1
    assert waits == [0.5, 1.0]


def test_retries_are_bounded(fake: FakeTelesign) -> None:
    fake.script = ["429"] * 5
    with pytest.raises(
        TelesignError, match=r"^Telesign's rate limit was hit \(retries used up\): HTTP 429, error 10019"
    ):
        send_v1(_params(), Credentials(CUSTOMER, KEY), Sending(retries=2, sleep=lambda _: None))
    assert fake.script == ["429", "429"]


def test_a_server_that_never_answers_is_a_clear_timeout(fake: FakeTelesign) -> None:
    fake.script = ["hang"]
    result = send("flows/appointment-reminder.yaml", "--to", "15550100200", "--timeout", "0.5")
    assert result.returncode == 1
    assert result.stderr.startswith("ivrflow send: Telesign did not answer within 0.5 s")


def test_missing_credentials_exit_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    result = subprocess.run(
        [sys.executable, "-m", "ivrflow", "send", "flows/appointment-reminder.yaml", "--to", "15550100200"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == 2 and "TELESIGN_API_KEY" in result.stderr


@pytest.mark.parametrize("auth_method", [None, "Basic"])
def test_official_sdk_sends_exactly_our_fields(fake: FakeTelesign, auth_method: str | None) -> None:
    """The SDK's VoiceClient.call with our compiled fields sends exactly those fields, and the
    fake accepts the SDK's own signature (a cross-check of the fake's auth, too)."""
    params = _params()
    phone, message, message_type = params.pop("phone_number"), params.pop("message"), params.pop("message_type")
    client = VoiceClient(CUSTOMER, KEY, rest_endpoint=fake.url, **({"auth_method": auth_method} if auth_method else {}))
    response = client.call(phone, message, message_type, **params)
    assert response.status_code == 200, response.body
    assert fake.received == [_params()]
