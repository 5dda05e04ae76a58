"""CPU per webhook event, in this process: the engine's app as `ivrflow serve` builds it, driven
through ASGI directly (no HTTP server, no client library), so that the figure is the engine's own
cost and moves little with the machine's other load. Each round measures the process's CPU time
(every thread: the event loop's and the writer's) over the events answered, and the events
answered per second of wall time; a Redis store's server is not counted in the CPU.

    python bench/webhook_cpu.py [--store sqlite|redis|bare] [--events 20000] [--callers 32] [--rounds 3]

`--store bare` measures the bare app of bench/bare_app.py the same way: what any Starlette
webhook pays in this process, to read the engine's own cost against.

Compare two versions of the engine by running this against each, interleaved (the medians of a
few rounds): a change that saves work per event shows here even when HTTP's noise hides it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from benchkit import redis_url
from ivrflow.server.app import app_from_options
from ivrflow.server.logs import configure
from ivrflow.stores import open_store
from webhook_load import events

ROOT = Path(__file__).resolve().parent.parent


async def post(app: Any, body: bytes) -> int:
    """POST `body` to /webhook through ASGI; the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhook",
        "raw_path": b"/webhook",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def lifespan(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[dict[str, Any]]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    return task, inbox


async def caller(app: Any, name: str, calls: int, failures: list[int]) -> None:
    for n in range(calls):
        for body in events(f"{name}-{n}"):
            status = await post(app, body)
            if status != 200:
                failures.append(status)


async def measure(app: Any, total: int, callers: int, tag: str) -> tuple[float, float]:
    """(CPU µs per event, events per second) of `callers` callers answering about `total` events."""
    per_call = len(events("x"))
    calls = max(1, total // (callers * per_call))
    failures: list[int] = []
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(app, f"{tag}-{c}", calls, failures) for c in range(callers)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if failures:
        raise SystemExit(f"{len(failures)} events not answered 200: {sorted(set(failures))}")
    done = calls * callers * per_call
    return cpu / done * 1e6, done / wall


async def main_async(args: argparse.Namespace, store_url: str) -> None:
    options = {
        "flows": str(ROOT / "flows"),
        "store": store_url,
        "watch": 0,
        "duplicate_window": 2.0,
        "dial_timeout": 10.0,
        "at": "2026-06-02 10:00 America/Chicago",
    }
    if args.store == "bare":
        from bare_app import app
    else:
        app = app_from_options(options, open_store(store_url))
    task, inbox = await lifespan(app)
    await measure(app, 2000, args.callers, "warm")
    cpus, rates = [], []
    for round_ in range(args.rounds):
        cpu, rate = await measure(app, args.events, args.callers, f"r{round_}-{time.time()}")
        cpus.append(cpu)
        rates.append(rate)
        print(f"  round {round_ + 1}: {cpu:.0f} µs CPU per event, {rate:,.0f} events/s", file=sys.stderr, flush=True)
    await inbox.put({"type": "lifespan.shutdown"})
    await task
    print(
        f"{args.store}: {statistics.median(cpus):.0f} µs CPU per event, {statistics.median(rates):,.0f} events/s "
        f"(medians of {args.rounds}; {args.callers} callers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "redis", "bare"], default="sqlite")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("TELESIGN_API_KEY", None)
    os.environ.pop("TELESIGN_CUSTOMER_ID", None)
    # The event log lines as serve writes them (JSON on stderr), thrown away.
    devnull = open(os.devnull, "w")  # noqa: SIM115 - for the whole run
    sys.stderr, real = devnull, sys.stderr
    configure("json")
    sys.stderr = real
    with tempfile.TemporaryDirectory() as folder, redis_url() as redis:
        if args.store == "redis":
            if redis is None:
                raise SystemExit("redis-server is not installed")
            url = redis
        else:
            url = f"sqlite:///{folder}/calls.db"
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
