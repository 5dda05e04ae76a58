"""Memory: the bytes stored per active call (target: under 2 KiB), and the resident memory of
`ivrflow serve` with 10,000 active calls in its store, against the same server with none (same
run).

    python bench/memory.py            # SQLite; and Redis when redis-server is installed
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "engine"))
from ivrflow.calls.events import CallStarted, SpeakDone  # noqa: E402
from ivrflow.calls.interpreter import new_call, step  # noqa: E402
from ivrflow.calls.record import CallRecord  # noqa: E402
from ivrflow.calls.transcripts import Step, heard  # noqa: E402
from ivrflow.language.loader import load_flow  # noqa: E402
from ivrflow.stores import RedisStore, SqliteStore, Store, Update  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from benchkit import free_port, redis_url  # noqa: E402

CALLS = 10_000
FLOW = load_flow(ROOT / "flows" / "refill-reminder.yaml")


def fill(store: Store, calls: int = CALLS) -> int:
    """Store `calls` calls in progress (at the refill menu, after the gate); the bytes of their records."""
    total = 0
    for n in range(calls):
        fresh = new_call(FLOW)
        started = CallStarted({"caller": "15551230000", "called": "15554441313"})
        state, first = step(FLOW, fresh, started)
        steps = heard(fresh, started, first)
        after, action = step(FLOW, state, SpeakDone("7"))
        steps += heard(state, SpeakDone("7"), action)
        now = time.time()  # as the server stamps a record: the bytes of a real time
        record = CallRecord(
            f"CALL{n:08d}{'X' * 20}",
            after,
            last_event="e" * 64,
            last_answer='{"method": "speak"}',
            updated=now,
            created=now,
            telesign_id=f"T{n:031d}",
        )
        total += len(record.to_json().encode())
        store.update(record.reference_id, _put(record, steps))
    return total


def _put(record: CallRecord, steps: list[Step]) -> Update[None]:
    def change(old: CallRecord | None) -> tuple[CallRecord | None, list[Step], None]:
        return record, steps, None

    return change


def served_rss(store_url: str) -> int:
    """Resident bytes of `ivrflow serve` on this store, after it has answered /metrics (which counts the active calls)."""
    port = free_port()
    command = [sys.executable, "-m", "ivrflow", "serve", "--port", str(port), "--store", store_url, "--watch", "0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        for _ in range(5):
            assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).status_code == 200
        status = Path(f"/proc/{server.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "calls.db"
        store = SqliteStore(db)
        record_bytes = fill(store)
        store.close()
        file_bytes = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob("calls.db-*"))
        empty = Path(folder) / "empty.db"
        SqliteStore(empty).close()
        print(
            f"record per active call (the state the next event needs): {record_bytes / CALLS:,.0f} bytes (target: under 2,048)"
        )
        print(f"SQLite file per call (record, transcript so far, indexes): {file_bytes / CALLS:,.0f} bytes")
        idle, full = served_rss(f"sqlite:///{empty}"), served_rss(f"sqlite:///{db}")
        print(
            f"ivrflow serve RSS, SQLite: {idle / 2**20:.1f} MiB with no calls, {full / 2**20:.1f} MiB with {CALLS:,} active calls ({(full - idle) / CALLS:,.0f} bytes per call)"
        )

        with redis_url() as url:
            if url is None:
                return
            redis_store = RedisStore(url)
            before = int(redis_store.client.info("memory")["used_memory"])
            fill(redis_store)
            after = int(redis_store.client.info("memory")["used_memory"])
            print(
                f"Redis memory per active call (record, transcript, alias, indexes): {(after - before) / CALLS:,.0f} bytes"
            )
            print(f"ivrflow serve RSS, Redis, {CALLS:,} active calls: {served_rss(url) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
