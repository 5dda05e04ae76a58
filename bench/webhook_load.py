"""Webhook load: the same load generator against a bare Starlette app (parses the event JSON,
answers a fixed action) and against `ivrflow serve` stepping real calls through the bundled
support menu, one after the other in one run, the same number of uvicorn workers. Targets:
ivrflow with SQLite reaches at least 0.6 of the bare app's requests per second, with a p99
latency at most 3 times the bare app's. Redis is reported too when redis-server is installed.

    python bench/webhook_load.py [--seconds 10] [--callers 32] [--workers 1]

The load generator is asyncio with hand-written HTTP/1.1 on kept-alive connections (no client
library in the way), in this process. Each caller runs support-line calls back to back, every
event waiting for its answer as Telesign does: incoming_call, speak_completed with a key, ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from benchkit import free_port, redis_url

ROOT = Path(__file__).resolve().parent.parent
BARE = Path(__file__).resolve().parent / "bare_app.py"
SCRIPT = ["3", "9", "1"]  # hours, the menu again, billing: six events a call


def events(reference: str) -> list[bytes]:
    """The bodies of one support-line call, as Telesign posts them."""
    bodies = [
        {"event": "incoming_call", "reference_id": reference, "data": {"to": "15558675309", "from": "15551230000"}}
    ]
    for key in SCRIPT:
        bodies.append(
            {
                "event": "speak_completed",
                "reference_id": reference,
                "data": {"status": "speak_successful", "collected_digits": key},
            }
        )
        if key == "3":  # the hours message, then the menu again
            bodies.append(
                {"event": "speak_completed", "reference_id": reference, "data": {"status": "speak_successful"}}
            )
    bodies.append({"event": "call_completed", "reference_id": reference, "data": {"status": "hangup"}})
    return [json.dumps(body).encode() for body in bodies]


async def caller(port: int, name: str, until: float, latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    calls = 0
    try:
        while time.perf_counter() < until:
            calls += 1
            for body in events(f"{name}-{calls}"):
                request = (
                    b"POST /webhook HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                began = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                if b" 200 " not in status_line:
                    errors.append(status_line.decode().strip())
    finally:
        writer.close()


async def load(port: int, seconds: float, callers: int) -> tuple[float, float, float, int]:
    """(requests per second, p50 and p99 latency in ms, errors) of `callers` concurrent callers."""
    latencies: list[float] = []
    errors: list[str] = []
    began = time.perf_counter()
    await asyncio.gather(*(caller(port, f"c{n}-{began}", began + seconds, latencies, errors) for n in range(callers)))
    took = time.perf_counter() - began
    latencies.sort()
    return (
        len(latencies) / took,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        len(errors),
    )


def serve(command: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    # The support line has opening hours: measure its menu (open on a Tuesday morning) at any hour.
    env.setdefault("IVRFLOW_AT", "2026-06-02 10:00 America/Chicago")
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(400):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process, port
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"could not start {command}")


def measure(name: str, command: list[str], seconds: float, callers: int) -> tuple[float, float]:
    process, port = serve(command)
    try:
        asyncio.run(load(port, 1.0, callers))  # warm up
        rps, p50, p99, errors = asyncio.run(load(port, seconds, callers))
    finally:
        process.terminate()
        process.wait(10)
    print(f"{name:<22} {rps:>8,.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}", flush=True)
    return rps, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    python = sys.executable
    workers = ["--workers", str(args.workers)]
    with tempfile.TemporaryDirectory() as folder:
        bare = measure("bare Starlette", [python, str(BARE), *workers], args.seconds, args.callers)
        sqlite = measure(
            "ivrflow, SQLite",
            [
                python,
                "-m",
                "ivrflow",
                "serve",
                "--store",
                f"sqlite:///{folder}/calls.db",
                "--log-format",
                "json",
                *workers,
            ],
            args.seconds,
            args.callers,
        )
        print(
            f"ivrflow/bare with SQLite: {sqlite[0] / bare[0]:.2f} of the requests per second (target: at least 0.60), p99 {sqlite[1] / bare[1]:.2f} times (target: at most 3)"
        )
        with redis_url() as store:
            if store is None:
                return
            with_redis = measure(
                "ivrflow, Redis",
                [python, "-m", "ivrflow", "serve", "--store", store, "--log-format", "json", *workers],
                args.seconds,
                args.callers,
            )
            print(
                f"ivrflow/bare with Redis: {with_redis[0] / bare[0]:.2f} of the requests per second, p99 {with_redis[1] / bare[1]:.2f} times"
            )


if __name__ == "__main__":
    main()
