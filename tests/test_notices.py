"""End-of-call notices on a real server, posted to a real HTTPS receiver on loopback: signed, retried
until 2xx, and kept in the store (SQLite, or a real redis-server) so that a server killed with
notices pending delivers them when it starts again; a v1 call that `ivrflow send --wait` sees end is
notified by the server on its store; sensitive values show as ••• in a notice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from conftest import EXAMPLES, FLOWS, ROOT
from fake_telesign import FakeTelesign
from fake_telesign import running as telesign_running
from ivrflow.calls.interpreter import new_call
from ivrflow.calls.notice import notice_body
from ivrflow.calls.record import CallRecord
from ivrflow.language.loader import load_flow
from ivrflow.language.texts import MASK
from ivrflow.placing import record_report
from ivrflow.server.notices import backoff, signature
from ivrflow.stores import SqliteStore
from ivrflow.stores.outbox import outbox_of
from ivrflow.telesign.v1 import V1Report
from ivrflow.tools.carrier import Phone
from ivrflow.v1.outcomes import v1_call
from live_server import CUSTOMER_ID, Server, action, completed, incoming, said, spoken, start
from pharmacy_service import Running, running
from redis_server import RedisServer

SECRET = "notice-secret-for-the-tests-0123456789"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Running]:
    with running(tmp_path / "receiver") as up:
        yield up


def _start(db: Path, receiver: Running, *more: str, flows: Path | None = None) -> Server:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVRFLOW_NOTIFY_SECRET", SECRET)
        return start(
            db,
            options=(
                "--notify",
                f"{receiver.url}/notices",
                "--http-ca-file",
                str(receiver.ca),
                "--log-format",
                "text",
                *more,
            ),
            **({"flows": flows} if flows is not None else {}),
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
    assert call["language"] == "en-US" and "language" not in call["path"][0]  # one language: said in it


def test_the_notice_says_the_language_the_call_ended_in_and_each_line_s(tmp_path: Path, receiver: Running) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    shutil.copy(EXAMPLES / "good" / "fraud-alert.yaml", flows)
    server = _start(tmp_path / "calls.db", receiver, flows=flows)
    try:
        reference = "NOTICE-ES"
        server.post(incoming(reference, to="15558670011"))  # the fraud alert's number that starts in Spanish
        server.post(spoken(reference, None))  # its English line said; then its Spanish one, which asks
        server.post(spoken(reference, ""))  # nothing chosen: on in Spanish
        server.post(spoken(reference, "2"))  # "no, it was not me"
        server.post(completed(reference))
        ((_, body),) = _wait_for(receiver, 1, 5)
    finally:
        _kill(server)
    call = json.loads(body)["call"]
    assert call["flow"] == "fraud-alert" and call["language"] == "es-MX"
    assert [(step.get("language"), next(iter(step))) for step in call["path"]] == [
        ("en-US", "say"),
        ("es-MX", "say"),
        (None, "no_input"),
        ("es-MX", "say"),
        (None, "press"),
        ("es-MX", "say"),
    ]
    assert call["path"][-1]["say"].startswith("Hemos bloqueado su tarjeta")


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


def _pending(server: Server, count: int, also: str = "") -> str:
    """The server's metrics once `count` notices are pending (and `also` shows in them)."""
    deadline = time.monotonic() + 10
    while True:
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        if f"ivrflow_notices_pending {count}.0" in metrics and also in metrics:
            return metrics
        assert time.monotonic() < deadline, f"not {count} notices pending: {metrics}"
        time.sleep(0.05)


def test_the_redis_outbox_keeps_retries_and_delivers_after_a_restart(
    tmp_path: Path, receiver: Running, redis_server: RedisServer
) -> None:
    kept = redis.Redis.from_url(redis_server.url, decode_responses=True)
    kept.flushdb()
    on_redis = ("--store", redis_server.url)
    receiver.received.refuse = 10_000  # the receiver is down while the calls end
    server = _start(tmp_path / "calls.db", receiver, *on_redis)
    try:
        for n in range(2):
            _end_a_call(server, f"REDIS{n}")
        # Both kept, and each tried once at least (and refused) before the kill.
        _pending(server, 2, 'ivrflow_notices_failures_total{reason="http_5xx"} 2.0')
    finally:
        _kill(server)
    stored = {key: json.loads(value) for key, value in kept.hgetall("ivrflow:notices").items()}
    assert sorted(stored) == ["call-ended-REDIS0", "call-ended-REDIS1"]
    assert all(notice["attempts"] >= 1 for notice in stored.values()) and kept.zcard("ivrflow:notices:due") == 2
    assert receiver.received.notices == []
    receiver.received.refuse = 1  # up again, but the first post after the restart is refused too
    again = _start(tmp_path / "calls.db", receiver, *on_redis)
    try:
        notices = _wait_for(receiver, 2, 40)
        metrics = _pending(again, 0, "ivrflow_notices_delivered_total 2.0")
    finally:
        _kill(again)
    assert sorted(json.loads(body)["id"] for _, body in notices) == ["call-ended-REDIS0", "call-ended-REDIS1"]
    assert all(_verified(headers, body) for headers, body in notices)
    assert 'ivrflow_notices_failures_total{reason="http_5xx"} 1.0' in metrics  # retried after the restart
    assert kept.hlen("ivrflow:notices") == 0 and kept.zcard("ivrflow:notices:due") == 0


CARD = "4539148803436467"  # typed at a sensitive collect_digits (passes Luhn)


def test_a_sensitive_value_shows_as_masked_in_the_notice(tmp_path: Path, receiver: Running) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(EXAMPLES / "good" / "collect-digits.yaml", flows)
    server = _start(tmp_path / "calls.db", receiver, flows=flows)
    try:
        reference = "MASKED1"
        action(server.post(incoming(reference, to="15558670003")))
        for keys in ("1", "123456#", CARD):
            action(server.post(spoken(reference, keys)))
        server.post({"event": "call_completed", "reference_id": reference, "data": {"status": "hangup"}})
        ((headers, body),) = _wait_for(receiver, 1, 5)
    finally:
        _kill(server)
    assert _verified(headers, body)
    text = body.decode()
    assert CARD not in text and " ".join(CARD) not in text
    call = json.loads(body)["call"]
    assert call["flow"] == "collect-digits" and {"press": MASK} in call["path"] and {"press": "1"} in call["path"]
    assert "card" not in call["variables"]  # erased when the call ended


def test_a_sensitive_variable_the_record_still_holds_is_masked_in_the_body() -> None:
    flow = load_flow(EXAMPLES / "good" / "collect-digits.yaml")
    state = new_call(flow, {**flow.vars, "pin": "55501234", "called": "15558670003"})
    record = CallRecord("MASKED2", state, updated=2.0, created=1.0)
    body = notice_body(record, [{"at": 1.5, "say": "Welcome"}], flow, 3.0)
    notice = json.loads(body)
    assert "55501234" not in body.decode() and notice["call"]["variables"]["pin"] == MASK
    assert notice["call"]["variables"]["clinic"] == "Riverside Clinic" and notice["call"]["path"] == [
        {"say": "Welcome"}
    ]
    assert notice["id"] == "call-ended-MASKED2" and notice["sent_at"] == 3.0


KEY = base64.b64encode(b"notices-test-key-of-32-bytes!!!!").decode()


def _ivrflow(db: Path, telesign: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The `ivrflow` command line on the server's store, with the fake as Telesign."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELESIGN_", "IVRFLOW_"))}
    env |= {
        "TELESIGN_CUSTOMER_ID": CUSTOMER_ID,
        "TELESIGN_API_KEY": KEY,
        "TELESIGN_BASE_URL": telesign,
        "IVRFLOW_STORE": f"sqlite:///{db}",
    }
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


def test_a_v1_call_that_send_wait_sees_end_is_notified_once_by_the_server_on_its_store(
    tmp_path: Path, receiver: Running
) -> None:
    db = tmp_path / "calls.db"
    server = _start(db, receiver)
    try:
        with telesign_running(FakeTelesign(CUSTOMER_ID, KEY, phones={"15552020101": Phone(keys=["2"])})) as fake:
            # No callback_url: only the command's own status queries learn how the call ended.
            sent = _ivrflow(
                db,
                fake.url,
                "send",
                "flows/appointment-reminder.yaml",
                "--to",
                "15552020101",
                "--wait",
                "--poll",
                "0.05",
            )
            assert sent.returncode == 0, sent.stderr
            telesign_id, call_id = re.findall(
                r"reference id ([0-9A-F]{32}).*\nrecorded as call ([0-9A-F]{32})", sent.stdout
            )[0]
            assert "callback_url" not in fake.v1_calls[telesign_id].fields
            ((headers, body),) = _wait_for(receiver, 1, 10)
            # Learnt again by `ivrflow status`: the call had ended already, so no second notice.
            asked = _ivrflow(db, fake.url, "status", telesign_id)
            assert asked.returncode == 0, asked.stderr
        _pending(server, 0, "ivrflow_notices_delivered_total 1.0")
        time.sleep(1.0)  # the poll that would take a second notice
    finally:
        _kill(server)
    assert len(receiver.received.notices) == 1
    assert _verified(headers, body) and headers["ivrflow-notice-id"] == f"call-ended-{call_id}"
    call = json.loads(body)["call"]
    assert (call["reference_id"], call["telesign_id"], call["flow"]) == (call_id, telesign_id, "appointment-reminder")
    assert (call["status"], call["ended_at_node"], call["called"]) == ("completed", "cancelled", "15552020101")


def test_a_notice_kept_by_the_command_line_with_nowhere_to_go_is_dropped_with_a_log_line(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    store = SqliteStore(db)
    flow = load_flow(FLOWS / "appointment-reminder.yaml")
    record = CallRecord(
        "NOWHERE1", new_call(flow, {}), updated=1.0, created=1.0, direction="outbound", v1=v1_call(flow, {})
    )
    store.update(record.reference_id, lambda old: (record, [], None))
    record_report(store, record, V1Report("TS1", 101, "", "", None))
    assert outbox_of(store).pending() == 1
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVRFLOW_NOTIFY_SECRET", SECRET)
        server = start(db, options=("--log-format", "text"))  # no --notify, and the flow has no notify:
    try:
        _pending(server, 0)
    finally:
        _kill(server)
    assert "notice call-ended-NOWHERE1 dropped" in server.log.read_text()
    store.close()
