"""End-of-call notices on a real server, posted to a real HTTPS receiver on loopback: signed, retried
until 2xx, and kept in the store so that a server killed with notices pending delivers them when it
starts again."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ivrflow.server.notices import backoff, signature
from live_server import Server, completed, incoming, said, spoken, start
from pharmacy_service import Running, running

SECRET = "notice-secret-for-the-tests-0123456789"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Running]:
    with running(tmp_path / "receiver") as up:
        yield up


def _start(db: Path, receiver: Running) -> Server:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVRFLOW_NOTIFY_SECRET", SECRET)
        return start(
            db,
            options=("--notify", f"{receiver.url}/notices", "--http-ca-file", str(receiver.ca), "--log-format", "text"),
        )


def _kill(server: Server) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


def _end_a_call(server: Server, reference: str) -> None:
    assert said(server.post(incoming(reference))).startswith("Thanks for calling")
    server.post(completed(reference))


def _wait_for(received: Running, count: int, seconds: float) -> list[tuple[dict[str, str], bytes]]:
    deadline = time.monotonic() + seconds
    while len(received.received.notices) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return received.received.notices


def _verified(headers: dict[str, str], body: bytes) -> bool:
    """What docs/api.md tells a receiver to do."""
    parts = dict(part.split("=", 1) for part in headers["ivrflow-signature"].split(","))
    expected = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_an_ended_call_is_notified_signed_with_the_path_it_took(tmp_path: Path, receiver: Running) -> None:
    server = _start(tmp_path / "calls.db", receiver)
    try:
        reference = "NOTICE1"
        assert said(server.post(incoming(reference))).startswith("Thanks for calling")
        server.post(spoken(reference, "1"))
        server.post(spoken(reference, None))
        server.post(completed(reference))
        ((headers, body),) = _wait_for(receiver, 1, 5)
    finally:
        _kill(server)
    assert _verified(headers, body)
    notice = json.loads(body)
    assert notice["id"] == headers["ivrflow-notice-id"] == f"call-ended-{reference}" and notice["type"] == "call.ended"
    call = notice["call"]
    assert call["flow"] == "support-menu" and call["status"] == "transferred" and len(call["version"]) == 16
    assert call["called"] == "15558675309" and call["path"][0]["say"].startswith("Thanks for calling")
    assert call["path"][1:] == [{"press": "1"}, {"dial": "15550001111"}]


def test_a_receiver_that_fails_gets_the_notice_again_with_backoff_until_it_answers_2xx(
    tmp_path: Path, receiver: Running
) -> None:
    receiver.received.refuse = 2
    server = _start(tmp_path / "calls.db", receiver)
    try:
        began = time.monotonic()
        _end_a_call(server, "NOTICE2")
        ((headers, body),) = _wait_for(receiver, 1, 10)
        took = time.monotonic() - began
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    finally:
        _kill(server)
    assert _verified(headers, body) and json.loads(body)["id"] == "call-ended-NOTICE2"
    assert backoff(1) + backoff(2) <= took < 8  # tried at once, then after 1 s, then after 2 s more
    assert 'ivrflow_notices_failures_total{reason="http_5xx"} 2.0' in metrics
    assert "ivrflow_notices_delivered_total 1.0" in metrics


def test_notices_pending_when_the_server_is_killed_are_delivered_after_it_restarts(
    tmp_path: Path, receiver: Running
) -> None:
    receiver.received.refuse = 10_000  # the receiver is down while the calls end
    db = tmp_path / "calls.db"
    server = _start(db, receiver)
    try:
        for n in range(3):
            _end_a_call(server, f"KILLED{n}")
        deadline = time.monotonic() + 5
        while "ivrflow_notices_pending 3.0" not in httpx.get(f"{server.url}/metrics", timeout=5).text:
            assert time.monotonic() < deadline, "the notices were not kept"
            time.sleep(0.05)
    finally:
        _kill(server)  # SIGKILL: nothing is flushed, nothing is said goodbye to
    assert receiver.received.notices == []
    receiver.received.refuse = 0
    again = _start(db, receiver)
    try:
        # A notice leased by the killed server waits out its lease (30 s) at most; these were only
        # retried, so they are due within their backoff.
        notices = _wait_for(receiver, 3, 40)
        metrics = httpx.get(f"{again.url}/metrics", timeout=5).text
    finally:
        _kill(again)
    ids = sorted(json.loads(body)["id"] for _, body in notices)
    assert ids[:3] == ["call-ended-KILLED0", "call-ended-KILLED1", "call-ended-KILLED2"]
    assert all(_verified(headers, body) for headers, body in notices)
    assert "ivrflow_notices_pending 0.0" in metrics


def test_the_signature_is_the_documented_one() -> None:
    body = b'{"id":"call-ended-X"}'
    mac = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", body, 1700000000) == f"t=1700000000,v1={mac}"
