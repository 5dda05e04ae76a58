"""Clients that stall or leave, as an unauthenticated stranger could: time limits on reading a
request's headers and body, a bound on connections, one JSON log line for a request whose client
left mid-body, and every log line JSON, uvicorn's own included. A real `ivrflow serve` process,
over raw sockets."""

from __future__ import annotations

import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import ROOT
from live_server import Server, action, incoming, start, stop

HELD = 1_000  # stalled connections held at once, half mid-headers, half mid-body
LIMIT = 2.0  # the test server's --header-timeout and --body-timeout: short, and long enough to ask it things meanwhile
MID_HEADERS = b"POST /webhook HTTP/1.1\r\nHost: ivr.example.com\r\nContent-Type: appl"
MID_BODY = b'POST /webhook HTTP/1.1\r\nHost: ivr.example.com\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"event": "incoming'


def enough_descriptors(needed: int) -> None:
    """Raise this process's soft limit on open files (the server started next inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"this machine allows {hard} open files; the test needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def descriptors(server: Server) -> int:
    """The server process's open files (sockets included)."""
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def connect(server: Server) -> socket.socket:
    address = urlsplit(server.url)
    return socket.create_connection((str(address.hostname), int(address.port or 80)), timeout=5)


def closed_when(sockets: dict[socket.socket, float], deadline: float) -> dict[socket.socket, float]:
    """When the server closed each socket (monotonic seconds), waiting until `deadline` at most."""
    closed: dict[socket.socket, float] = {}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        while len(closed) < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    gone = sock.recv(4096) == b""
                except ConnectionResetError:
                    gone = True
                if gone:
                    closed[sock] = time.monotonic()
                    selector.unregister(sock)
    return closed


def log_lines(path: Path) -> list[dict[str, object]]:
    """Every line of a log, each of which must be one JSON object."""
    lines = [line for line in path.read_text().splitlines() if line]
    for line in lines:
        assert line.startswith("{") and isinstance(json.loads(line), dict), f"not a JSON log line: {line!r}"
    return [json.loads(line) for line in lines]


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Server]:
    enough_descriptors(2 * HELD + 500)
    options = ("--header-timeout", str(LIMIT), "--body-timeout", str(LIMIT), "--max-connections", str(2 * HELD))
    server = start(tmp_path / "calls.db", options=options, errors=tmp_path / "server.err")
    yield server
    stop(server)


def test_stalled_connections_are_closed_within_the_limit_and_the_server_answers_meanwhile(
    limited: Server, tmp_path: Path
) -> None:
    # The same requests as below once first, so that the store's connections and files (opened on
    # first use, one per thread) are counted in `before` and not taken for stalled sockets.
    for n in range(5):
        assert httpx.get(f"{limited.url}/healthz", timeout=5).status_code == 200
        assert action(limited.post(incoming(f"warm-{n}"), timeout=5))["method"] == "speak"
    before = descriptors(limited)
    opened: dict[socket.socket, float] = {}  # each stalled socket: since when the server's clock runs for it
    try:
        for n in range(HELD):
            mid_headers = n % 2 == 0
            since = time.monotonic()
            sock = connect(limited)
            sock.sendall(MID_HEADERS if mid_headers else MID_BODY)
            opened[sock] = since if mid_headers else time.monotonic()
        all_open = time.monotonic()

        # While they are held, the server answers as usual, and quickly.
        waits = []
        for n in range(5):
            asked = time.perf_counter()
            assert httpx.get(f"{limited.url}/healthz", timeout=5).status_code == 200
            waits.append(time.perf_counter() - asked)
            asked = time.perf_counter()
            assert action(limited.post(incoming(f"held-{n}"), timeout=5))["method"] == "speak"
            waits.append(time.perf_counter() - asked)
        held = descriptors(limited)
        assert held >= before + HELD, (before, held)  # really held: a socket each
        assert time.monotonic() < min(opened.values()) + LIMIT, (
            "the server was asked too late to show it answers while they are held"
        )
        assert max(waits) < 1.0, waits

        closed = closed_when(opened, all_open + LIMIT + 5)
        assert len(closed) == HELD, (
            f"{HELD - len(closed)} stalled connections still open {LIMIT + 5:.0f} s after the last was opened"
        )
        after = [closed[sock] - since for sock, since in opened.items()]
        assert min(after) >= LIMIT - 0.1, min(after)  # not before the limit
        assert max(after) <= LIMIT + 1.5, max(after)  # and soon after it
    finally:
        for sock in opened:
            sock.close()

    assert httpx.get(f"{limited.url}/healthz", timeout=5).status_code == 200
    assert descriptors(limited) <= before + 5
    lines = log_lines(tmp_path / "server.err")
    timeouts = [line for line in lines if str(line["message"]).startswith("closed a connection")]
    assert sum(line["waited_for"] == "headers" for line in timeouts) == HELD // 2
    assert sum(line["waited_for"] == "body" for line in timeouts) == HELD // 2
    assert all(line["level"] == "warning" for line in timeouts)
    assert not [
        line for line in lines if str(line["message"]).startswith("request aborted")
    ]  # a body's timeout is said once
    print(
        f"\n{HELD} stalled connections held ({held - before} more descriptors in the server); answered meanwhile in {min(waits) * 1000:.0f}-{max(waits) * 1000:.0f} ms; closed {min(after):.2f}-{max(after):.2f} s after their clock started (limit {LIMIT} s)"
    )


def test_over_the_connection_bound_a_request_is_answered_503(tmp_path: Path) -> None:
    server = start(tmp_path / "calls.db", options=("--header-timeout", "2", "--max-connections", "20"))
    stalled = []
    try:
        began = time.monotonic()
        for _ in range(19):
            stalled.append(connect(server))
            stalled[-1].sendall(MID_HEADERS)
        time.sleep(0.1)  # the server has accepted them
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200  # the 20th connection
        stalled.append(connect(server))
        stalled[-1].sendall(MID_HEADERS)
        time.sleep(0.1)
        over = httpx.get(f"{server.url}/healthz", timeout=5)  # the 21st
        assert (over.status_code, over.text) == (503, "Service Unavailable")
        assert time.monotonic() < began + 2  # all 20 were still held
        closed_when(dict.fromkeys(stalled, 0.0), time.monotonic() + 4)
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        for sock in stalled:
            sock.close()
        stop(server)


def test_on_a_kept_alive_connection_the_clock_starts_at_the_previous_answer(tmp_path: Path) -> None:
    server = start(tmp_path / "calls.db", options=("--header-timeout", "1"), errors=tmp_path / "server.err")
    try:
        answered: dict[socket.socket, float] = {}
        for stall in (True, False):  # then a part of the next request; then nothing at all (merely idle)
            sock = connect(server)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ivr.example.com\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            answered[sock] = time.monotonic()
            if stall:
                time.sleep(0.5)
                sock.sendall(MID_HEADERS)
        closed = closed_when(answered, time.monotonic() + 3)
        after = sorted(closed[sock] - since for sock, since in answered.items())
        assert len(after) == 2 and after[0] >= 0.9 and after[1] <= 1.5, after  # before uvicorn's 5 s keep-alive
    finally:
        for sock in answered:
            sock.close()
        stop(server)
    timeouts = [
        line for line in log_lines(tmp_path / "server.err") if str(line["message"]).startswith("closed a connection")
    ]
    assert [(line["waited_for"], line["received"]) for line in timeouts] == [
        ("headers", len(MID_HEADERS))
    ]  # the idle one closes quietly


def test_a_request_whose_client_leaves_mid_body_is_one_json_log_line(tmp_path: Path) -> None:
    server = start(tmp_path / "calls.db", errors=tmp_path / "server.err")
    paths = ["/webhook"] * 8 + ["/callbacks/v1"] * 8 + ["/calls"] * 4
    try:
        leaving = []
        for path in paths:
            sock = connect(server)
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: ivr.example.com\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode()
                + b" " * 100
            )
            leaving.append(sock)
        time.sleep(0.3)  # the server has read the 100 bytes
        for sock in leaving:
            sock.close()
        for _ in range(50):
            if (tmp_path / "server.err").read_text().count("\n") >= len(paths):
                break
            time.sleep(0.1)
        time.sleep(0.3)  # and nothing more comes
    finally:
        stop(server)
    text = (tmp_path / "server.err").read_text()
    assert "Traceback" not in text
    lines = [
        line
        for line in log_lines(tmp_path / "server.err")
        if not str(line["message"]).startswith("webhook authentication")
    ]  # the start's line
    aborted = [line for line in lines if str(line["message"]).startswith("request aborted")]
    assert len(lines) == len(aborted) == len(paths), text[:3000]
    assert sorted(str(line["path"]) for line in aborted) == sorted(paths)
    assert {(line["level"], line["received"], line["declared"]) for line in aborted} == {("warning", 100, 1000)}


def malformed_request(server: Server) -> bytes:
    with connect(server) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        return sock.recv(4096)


@pytest.mark.parametrize("workers", [1, 2])
def test_every_log_line_is_json_uvicorns_included(tmp_path: Path, workers: int) -> None:
    server = start(tmp_path / "calls.db", options=("--workers", str(workers)), errors=tmp_path / "server.err")
    try:
        assert malformed_request(server).startswith(b"HTTP/1.1 400")
        time.sleep(0.2)
    finally:
        stop(server)
    lines = log_lines(tmp_path / "server.err")  # every line parses as JSON
    # Worker start-up lines may come after it (each worker logs as it starts), so not necessarily last.
    invalid = {"level": "warning", "logger": "uvicorn.error", "message": "Invalid HTTP request received."}
    assert any(invalid.items() <= line.items() for line in lines), lines


def test_an_exception_logged_by_uvicorn_is_a_field_of_one_json_line() -> None:
    script = (
        "import logging.config\n"
        "from ivrflow.server.logs import log_config\n"
        "logging.config.dictConfig(log_config('json'))\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError as error:\n"
        "    logging.getLogger('uvicorn.error').error('Exception in ASGI application\\n', exc_info=error)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    )
    [line] = ran.stderr.splitlines()
    logged = json.loads(line)
    assert logged["logger"] == "uvicorn.error" and "ZeroDivisionError" in logged["error"], logged
