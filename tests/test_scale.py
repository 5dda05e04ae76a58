"""Scale-out: several `ivrflow serve` processes (two hosts, or one host's workers) on one store,
with a real redis-server; and the JSON log line of each event."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import FLOWS, OPEN
from ivrflow.calls.transcripts import transcript
from ivrflow.language.loader import load_flow
from ivrflow.stores import RedisStore
from live_server import CALLER, Server, action, call, incoming, spoken, start, stop
from redis_server import RedisServer

SUPPORT = load_flow(FLOWS / "support-menu.yaml")
SCRIPTS = [["1"], ["3", "2"], [None, "9", "1"], ["7", None, None], ["9", "9", "3", "1"], ["3", "3"]]


WINDOW = 0.3  # the servers' --duplicate-window; a caller's identical events come further apart


def play(servers: list[Server], reference: str, keys: list[str | None]) -> None:
    """Carry out a support-line call as Telesign would, each event to the next server in turn."""
    turn = iter(range(1_000))
    last: list[dict[str, object]] = [{}]

    def post(event: dict[str, object]) -> dict[str, object]:
        if event == last[0]:
            time.sleep(WINDOW + 0.1)  # pressing 9 twice takes a caller longer than the window
        last[0] = event
        return action(servers[next(turn) % len(servers)].post(event))

    call(servers[0], reference, incoming(reference), keys, post)
    assert post({"event": "call_completed", "reference_id": reference, "data": {"status": "hangup"}}) == {}


def kept(server: Server, reference: str) -> list[dict[str, object]]:
    steps = httpx.get(f"{server.url}/calls/{reference}", timeout=10).json()["transcript"]
    return [{k: v for k, v in step.items() if k != "at"} for step in steps]


@pytest.fixture
def two_hosts(redis_server: RedisServer, tmp_path: Path) -> Iterator[list[Server]]:
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    options = ("--store", redis_server.url, "--duplicate-window", str(WINDOW))
    servers = [start(tmp_path / f"host{n}.db", options=options) for n in (1, 2)]
    yield servers
    for server in servers:
        stop(server)


def test_two_servers_on_one_redis_run_calls_whose_events_alternate_between_them(
    two_hosts: list[Server], redis_server: RedisServer
) -> None:
    calls = {f"TWO-{uuid.uuid4().hex[:8]}-{n}": SCRIPTS[n % len(SCRIPTS)] for n in range(24)}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: play(two_hosts, *item), calls.items()))
    for reference, keys in calls.items():
        expected = transcript(SUPPORT, keys, {"caller": CALLER}, OPEN)
        assert kept(two_hosts[0], reference) == expected == kept(two_hosts[1], reference)
    store = RedisStore(redis_server.url)
    assert store.active() == 0 and {r.status for r in store.recent(flow="support-menu", limit=None)} <= {
        "transferred",
        "completed",
    }


def test_the_same_event_at_both_servers_at_once_is_applied_once(two_hosts: list[Server]) -> None:
    """A redelivery that lands on the other host while the first is still applying it."""
    for attempt in range(10):
        reference = f"RACE-{attempt}-{uuid.uuid4().hex[:8]}"
        action(two_hosts[0].post(incoming(reference)))
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda server: action(server.post(spoken(reference, "3"))), two_hosts))
        assert answers[0] == answers[1]  # the duplicate gets the same answer
        assert kept(two_hosts[1], reference).count({"press": "3"}) == 1  # and the call moved once


def test_workers_share_one_port_and_one_store(tmp_path: Path) -> None:
    server = start(tmp_path / "workers.db", options=("--workers", "3", "--duplicate-window", str(WINDOW)))
    try:
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        calls = {f"W-{n}": SCRIPTS[n % len(SCRIPTS)] for n in range(30)}
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda item: play([server], *item), calls.items()))
        for reference, keys in calls.items():
            assert kept(server, reference) == transcript(SUPPORT, keys, {"caller": CALLER}, OPEN)
    finally:
        log = stop(server)
    assert len(workers) == 3  # uvicorn's worker processes
    served_by = {
        json.loads(line)["pid"] for line in log.splitlines() if line.startswith("{") and '"ivrflow.events"' in line
    }
    assert len(served_by) >= 2  # the events really were spread over several workers


def test_each_event_is_one_json_log_line(tmp_path: Path) -> None:
    server = start(tmp_path / "log.db")
    action(server.post(incoming("LOG-1")))
    action(server.post(spoken("LOG-1", "3")))
    server.post({"event": "speak_completed", "reference_id": "NOPE", "data": {}})
    log = stop(server)
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    handled = [line for line in lines if line["logger"] == "ivrflow.events"]
    assert [
        (h["reference_id"], h["flow"], h["node"], h["event"], h["outcome"], h["action"], h["status"]) for h in handled
    ] == [
        ("LOG-1", "support-menu", "welcome", "incoming_call", "answered", "speak", 200),
        ("LOG-1", "support-menu", "hours", "speak_completed", "answered", "speak", 200),
        ("NOPE", None, None, "speak_completed", "unknown_call", None, 404),
    ]
    assert all(isinstance(h["latency_ms"], float) and h["latency_ms"] >= 0 and h["time"].endswith("Z") for h in handled)
