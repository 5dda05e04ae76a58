"""Webhook load: the same load generator, in one run, against a bare Starlette app (parses the
event JSON, answers a fixed action; bench/bare_app.py), a hand-written SQLite webhook (a commit
per event on Starlette's thread pool; bench/handwritten_app.py) and `ivrflow serve` stepping real
calls through the bundled support menu on SQLite and on Redis (when redis-server is installed),
each with 1 and with 2 uvicorn workers. Targets: ivrflow with SQLite reaches at least 0.6 of the
bare app's requests per second, with a p99 at most 3 times the bare app's, and is ahead of the
hand-written webhook; with Redis, at least as fast as the hand-written webhook.

    python bench/webhook_load.py [--seconds 10] [--callers 32] [--workers 1,2] [--rounds 1]
                                 [--servers bare,handwritten,sqlite,redis]

The load generator is asyncio with hand-written HTTP/1.1 on kept-alive connections (no client
library in the way), in this process. Each caller runs support-line calls back to back, every
event waiting for its answer as Telesign does: incoming_call, speak_completed with a key, ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from benchkit import free_port, redis_url

ROOT = Path(__file__).resolve().parent.parent
BARE = Path(__file__).resolve().parent / "bare_app.py"
HANDWRITTEN = Path(__file__).resolve().parent / "handwritten_app.py"
NAMES = {  # the servers measured, by short name (for --servers)
    "bare": "bare Starlette",
    "handwritten": "hand-written SQLite webhook",
    "sqlite": "ivrflow serve, SQLite",
    "redis": "ivrflow serve, Redis",
}
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


class Figures(NamedTuple):
    rps: float
    p50: float
    p99: float
    errors: int


def run(command: list[str], seconds: float, callers: int) -> Figures:
    """The figures of `callers` callers for `seconds` against the server `command` starts."""
    process, port = serve(command)
    try:
        asyncio.run(load(port, 1.0, callers))  # warm up
        return Figures(*asyncio.run(load(port, seconds, callers)))
    finally:
        process.terminate()
        process.wait(10)


def measure(name: str, command: list[str], seconds: float, callers: int) -> tuple[float, float]:
    """Requests per second and p99 of one server, printed on one line."""
    figures = run(command, seconds, callers)
    print(
        f"{name:<22} {figures.rps:>8,.0f} req/s   p50 {figures.p50:6.1f} ms   p99 {figures.p99:6.1f} ms   errors {figures.errors}",
        flush=True,
    )
    return figures.rps, figures.p99


def commands(folder: str, redis: str | None, workers: int) -> dict[str, list[str]]:
    """The command of each server measured, by its short name, for `workers` workers."""
    python, more = sys.executable, ["--workers", str(workers)]
    ivrflow = [python, "-m", "ivrflow", "serve", "--log-format", "json", *more, "--store"]
    found = {
        "bare": [python, str(BARE), *more],
        "handwritten": [python, str(HANDWRITTEN), "--db", f"{folder}/handwritten-{workers}.db", *more],
        "sqlite": [*ivrflow, f"sqlite:///{folder}/calls-{workers}.db"],
    }
    if redis is not None:
        found["redis"] = [*ivrflow, redis]
    return found


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--workers", default="1,2", help="the worker counts to measure, comma-separated")
    parser.add_argument("--servers", default=",".join(NAMES), help="which of " + ", ".join(NAMES))
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each server this many times, interleaved; medians"
    )
    args = parser.parse_args()
    chosen = [name for name in NAMES if name in args.servers.split(",")]
    rows: list[tuple[str, int, Figures]] = []
    with tempfile.TemporaryDirectory() as folder, redis_url() as redis:
        for workers in (int(n) for n in args.workers.split(",")):
            servers = commands(folder, redis, workers)
            runs: dict[str, list[Figures]] = {name: [] for name in chosen if name in servers}
            for _ in range(args.rounds):  # interleaved, so that every server sees the same machine load
                for name in runs:
                    runs[name].append(run(servers[name], args.seconds, args.callers))
                    print(f"  {NAMES[name]}, {workers} worker(s): {runs[name][-1]}", file=sys.stderr, flush=True)
            for name, figures in runs.items():
                rows.append(
                    (
                        name,
                        workers,
                        Figures(*(median([getattr(f, part) for f in figures]) for part in Figures._fields)),
                    )
                )
    report(rows, args)


def report(rows: list[tuple[str, int, Figures]], args: argparse.Namespace) -> None:
    """The table: each server's figures and both ratios (to the bare app, to the hand-written
    webhook, same worker count), then the targets."""
    found = {(name, workers): figures for name, workers, figures in rows}
    print(
        f"{args.callers} callers, {args.seconds:g} s each, median of {args.rounds} round(s); "
        "ratios: req/s and p99 against the bare app and the hand-written webhook with as many workers"
    )
    print(f"{'server':<28}{'workers':>8}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}  {'/bare':>12}  {'/hand-written':>14}")
    for name, workers, figures in rows:
        cells = []
        for base in ("bare", "handwritten"):
            other = found.get((base, workers))
            cells.append(f"{figures.rps / other.rps:.2f} {figures.p99 / other.p99:.2f}" if other else "-")
        print(
            f"{NAMES[name]:<28}{workers:>8}{figures.rps:>9,.0f}{figures.p50:>8.1f}{figures.p99:>8.1f}  {cells[0]:>12}  {cells[1]:>14}"
            + (f"   errors {figures.errors:g}" if figures.errors else "")
        )
    for workers in sorted({workers for _, workers, _ in rows}):
        bare, hand = found.get(("bare", workers)), found.get(("handwritten", workers))
        sqlite, redis = found.get(("sqlite", workers)), found.get(("redis", workers))
        if bare and sqlite:
            print(
                f"{workers} worker(s), SQLite: {sqlite.rps / bare.rps:.2f} of the bare app's req/s (target: at least 0.60), "
                f"p99 {sqlite.p99 / bare.p99:.2f} times (target: at most 3)"
                + (
                    f", {sqlite.rps / hand.rps:.2f} of the hand-written webhook's req/s (target: above 1)"
                    if hand
                    else ""
                )
            )
        if hand and redis:
            print(
                f"{workers} worker(s), Redis: {redis.rps / hand.rps:.2f} of the hand-written SQLite webhook's req/s (target: at least 1)"
            )


if __name__ == "__main__":
    main()
