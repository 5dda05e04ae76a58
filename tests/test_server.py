"""The webhook server as Telesign meets it, with a real SQLite file: what it answers, from the app in
this process (inprocess.py); what the process does (signals, a crash and a restart, watching the
flow files, a sender that gives up on its socket, refusing to start), from a real `ivrflow serve`
on loopback over HTTP."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from inprocess import App, serving
from live_server import incoming, said, spoken, start, stop

KEY = "c2VydmVyLXRlc3Qta2V5LWJ5dGVz"
MENU = "Thanks for calling Acme support. For billing, press 1. For technical support, press 2. To hear our opening hours, press 3. To hear these options again, press 9."


@pytest.fixture
def server(in_process: Callable[..., App]) -> App:
    return in_process()


def test_whole_inbound_call_hours_then_transfer(server: App) -> None:
    assert said(server.post(incoming("c1"))) == MENU
    assert said(server.post(spoken("c1", "3"))).startswith("We are open Monday to Friday")
    assert said(server.post(spoken("c1"))) == MENU
    dial = server.post(spoken("c1", "2")).json()
    assert dial == {
        "method": "dial",
        "params": {"to": "15550002222", "caller_id_number": "15551230000", "send_dtmf": "ww204"},
    }
    assert server.post({"event": "call_completed", "reference_id": "c1", "data": {"status": "hangup"}}).json() == {}


def test_duplicate_delivery_gets_the_same_answer_and_does_not_advance(server: App) -> None:
    server.post(incoming("c2"))
    first = server.post(spoken("c2", "3"))
    again = server.post(spoken("c2", "3"))
    assert again.json() == first.json()
    assert said(server.post(spoken("c2"))) == MENU  # the hours message led back to the menu once


def test_unknown_number_gets_an_apology_then_hangup(server: App) -> None:
    assert said(server.post(incoming("c3", to="15550000000"))) == "Sorry, this number is not in service. Goodbye."
    assert said(server.post(spoken("c3"))) == "hangup"


@pytest.mark.parametrize(
    ("raw", "headers", "status"),
    [
        (b"{not json", {}, 400),
        (b'{"event": "speak_completed"}', {}, 400),
        (b'{"event": "speak_completed", "reference_id": "nobody", "data": {}}', {}, 404),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (b'{"a": "' + b"x" * 70_000 + b'"}', {}, 413),
    ],
)
def test_bad_input_gets_a_clear_4xx(server: App, raw: bytes, headers: dict[str, str], status: int) -> None:
    response = server.post({}, raw=raw, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("name", ["call_completed", "recording_ready"])
def test_completed_or_unknown_events_of_unknown_calls_are_answered_empty(server: App, name: str) -> None:
    response = server.post({"event": name, "reference_id": "never", "data": {}})
    assert (response.status_code, response.json()) == (200, {})


def test_unknown_event_of_a_live_call_changes_nothing(server: App) -> None:
    server.post(incoming("u1"))
    assert server.post({"event": "recording_ready", "reference_id": "u1", "data": {}}).json() == {}
    assert said(server.post(spoken("u1", "3"))).startswith("We are open")


def test_signatures_when_a_key_is_set(tmp_path: Path) -> None:
    with serving(tmp_path / "signed.db", api_key=KEY) as signed:
        forged = signed.post(incoming("s1"), sign=False, headers={"Authorization": "TSA customer:AAAA"})
        assert forged.status_code == 401
        assert signed.post(spoken("s1", "1")).status_code == 404  # the forged event created no call
        assert said(signed.post(incoming("s1"))) == MENU


def test_call_survives_sigkill_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    first = start(db)
    assert said(first.post(incoming("k1"))) == MENU
    assert said(first.post(spoken("k1", "3"))).startswith("We are open")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    second = start(db)
    try:
        assert said(second.post(spoken("k1"))) == MENU
        assert second.post(spoken("k1", "1")).json()["method"] == "dial"
    finally:
        stop(second)


def test_refuses_to_listen_beyond_loopback_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    result = subprocess.run(
        [sys.executable, "-m", "ivrflow", "serve", "--host", "0.0.0.0", "--store", "memory://"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "TELESIGN_API_KEY" in result.stderr and "--insecure" in result.stderr


def test_refuses_half_the_credentials() -> None:
    """An API key without its customer id could check signatures but not the calls API's
    credentials, nor dial: say so rather than serve half-checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")} | {"TELESIGN_API_KEY": KEY}
    result = subprocess.run(
        [sys.executable, "-m", "ivrflow", "serve", "--store", "memory://"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "set both TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY" in result.stderr


def test_concurrent_delivery_of_one_event_advances_the_call_once(server: App) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server.post(incoming("p1"))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: server.post(spoken("p1", "3")).json(), range(8)))
    assert all(answer == answers[0] for answer in answers)
    assert said(server.post(spoken("p1"))) == MENU


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with serving(tmp_path_factory.mktemp("fuzz") / "calls.db") as running:
        running.post(incoming("known"))
        yield running


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
EVENTS = st.fixed_dictionaries(
    {
        "event": st.sampled_from(
            [
                "incoming_call",
                "speak_completed",
                "dial_completed",
                "call_completed",
                "call_leg_completed",
                "play_completed",
                "nonsense",
            ]
        )
        | st.text(max_size=10),
        "reference_id": st.sampled_from(["known", "other"]) | st.text(max_size=10) | st.integers(),
    },
    optional={
        "data": st.dictionaries(st.sampled_from(["to", "from", "status", "collected_digits", "x"]), JSONISH, max_size=4)
        | JSONISH,
        "external_id": JSONISH,
    },
)


@settings(max_examples=150, deadline=None)
@given(EVENTS)
def test_generated_event_bodies_never_get_a_5xx(shared_server: App, event: dict[str, object]) -> None:
    response = shared_server.post(event)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


def test_sighup_reload_new_calls_new_version_old_calls_keep_theirs(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    support = flows / "support-menu.yaml"
    running = start(tmp_path / "calls.db", flows=flows)
    log = ""
    try:
        assert said(running.post(incoming("old"))) == MENU
        support.write_text(support.read_text().replace("Thanks for calling Acme support.", "Welcome to Acme."))
        running.process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert said(running.post(incoming("new"))) == MENU.replace(
            "Thanks for calling Acme support.", "Welcome to Acme."
        )
        assert said(running.post(spoken("old", "9"))) == MENU  # the call in progress keeps its version
        support.write_text(support.read_text().replace("    type: dial\n    to:", "    type: dail\n    to:", 1))
        running.process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert said(running.post(incoming("after-bad-edit"))).startswith("Welcome to Acme.")
    finally:
        log = stop(running)
    assert "flow not reloaded, the old version keeps serving" in log
    assert "support-menu.yaml:" in log and "invalid-value" in log


def test_events_after_the_call_completed_change_nothing(server: App) -> None:
    server.post(incoming("o1"))
    assert server.post({"event": "call_completed", "reference_id": "o1", "data": {"status": "hangup"}}).json() == {}
    late = server.post(spoken("o1", "1"))
    assert (late.status_code, late.json()) == (200, {})


def _hold_write_lock(db: Path, seconds: float) -> threading.Thread:
    """Another process's long write transaction, as a stuck or slow store looks to the server."""
    locked = threading.Event()

    def hold() -> None:
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(seconds)
            other.execute("ROLLBACK")

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(5)
    return thread


def test_same_body_after_the_window_is_the_caller_again(tmp_path: Path) -> None:
    """A caller who stays silent twice sends two identical `speak_completed` bodies: the second is
    a new event once the redelivery window has passed."""
    with serving(tmp_path / "calls.db", duplicate_window=1) as running:
        assert said(running.post(incoming("w1"))) == MENU
        assert said(running.post(spoken("w1"))) == "Sorry, I did not hear a choice."
        assert said(running.post(spoken("w1", None))) == MENU
        assert said(running.post(spoken("w1"))) == "Sorry, I did not hear a choice."  # within the window: redelivery
        time.sleep(1.2)
        assert said(running.post(spoken("w1"))) == MENU  # the same body, after the window: the caller again


def test_store_that_does_not_answer_gets_503_then_the_event_applies_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "calls.db"
    with serving(db) as running:
        assert said(running.post(incoming("l1"))) == MENU
        holder = _hold_write_lock(db, 8)  # longer than the health check's 1 s and the webhook's 3 s wait
        health = running.get("/healthz", timeout=5)
        assert (health.status_code, health.json()["store"]) == (503, "down")
        refused = running.post(spoken("l1", "3"))
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert "deliver this event again" in refused.json()["error"]
        holder.join()
        assert running.get("/healthz", timeout=5).status_code == 200
        assert said(running.post(spoken("l1", "3"))).startswith("We are open")  # the retry applies, once
        assert said(running.post(spoken("l1", None))) == MENU
    log = caplog.text
    assert "not applied" in log and "database is locked" in log


def test_an_answer_the_sender_gave_up_on_is_given_again_on_redelivery(tmp_path: Path) -> None:
    """Telesign stops waiting while the store is slow; the event is applied after it left, and its
    redelivery, long after the window, gets that answer instead of moving the call again."""
    db = tmp_path / "calls.db"
    running = start(db, options=("--duplicate-window", "0.2"))
    try:
        assert said(running.post(incoming("g1"))) == MENU
        holder = _hold_write_lock(db, 1.5)
        with pytest.raises(httpx.ReadTimeout):
            running.post(spoken("g1", "3"), timeout=0.5)
        holder.join()
        time.sleep(1.0)  # the server applies the event, then finds nobody to answer
        assert said(running.post(spoken("g1", "3"))).startswith("We are open")
        assert said(running.post(spoken("g1", None))) == MENU  # and the call goes on from there
    finally:
        stop(running)


def test_a_changed_flow_file_is_reloaded_without_a_signal(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    support = flows / "support-menu.yaml"
    running = start(tmp_path / "calls.db", flows=flows, options=("--watch", "0.2"))
    try:
        assert said(running.post(incoming("f-old"))) == MENU
        support.write_text(support.read_text().replace("Thanks for calling Acme support.", "Welcome to Acme."))
        deadline = time.monotonic() + 10
        heard = MENU
        while heard == MENU and time.monotonic() < deadline:
            time.sleep(0.2)
            heard = said(running.post(incoming(f"f-new-{time.monotonic()}")))
        assert heard.startswith("Welcome to Acme.")
        assert said(running.post(spoken("f-old", "9"))) == MENU  # the call in progress keeps its version
    finally:
        log = stop(running)
    assert "reloaded" in log


def test_a_flow_whose_id_is_taken_is_not_served(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    (flows / "zz-copy.yaml").write_text(
        (flows / "support-menu.yaml").read_text().replace("+15558675309", "+15558670000")
    )
    with caplog.at_level(logging.INFO), serving(tmp_path / "calls.db", flows=flows) as running:
        assert said(running.post(incoming("d1", to="15558670000"))) == "Sorry, this number is not in service. Goodbye."
        assert said(running.post(incoming("d2"))) == MENU
    log = caplog.text
    assert "zz-copy.yaml:" in log and "duplicate-flow-id" in log
