"""How long GET /flows/{flow}/outcomes (`ivrflow outcomes`) takes with a million stored calls, on
SQLite and on Redis: the counts are kept as calls go, so the answer is one small read of the
flow's counts and the summary built from them, whatever the number of calls.

The million calls are random callers through the bundled support line (flows/support-menu.yaml),
run through the interpreter: a few thousand distinct calls, each with the counts its steps add
(calls/tally.py) and its final status, drawn a million times. Their counts are written in bulk (a
million calls' transactions one by one would take an hour and measure the writes, not the read),
the same sums the stores reach call by call. On SQLite the million call records are stored too,
so the read runs beside them as it would in production.

    python bench/outcomes.py [--calls 1000000] [--runs 20]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
from benchkit import redis_url
from ivrflow.calls.events import CallEnded, CallStarted, DialDone, Event, LegEnded, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import CallState, new_call, step
from ivrflow.calls.outcomes import outcomes
from ivrflow.calls.record import CallRecord
from ivrflow.calls.tally import step_tally
from ivrflow.language.clock import parse_at
from ivrflow.language.loader import load_flow
from ivrflow.language.model import Flow
from ivrflow.stores import RedisStore, SqliteStore, Store

FLOW = Path(__file__).resolve().parent.parent / "flows" / "support-menu.yaml"
DISTINCT = 5000
OPEN = parse_at("2026-06-02 10:00 America/Chicago", None)  # a Tuesday morning: the line is open, its menu heard
KEYS = [*"123456789", "", "", "0"]


def one_call(flow: Flow, rng: random.Random) -> tuple[CallState, Counter[str]]:
    """A random caller: keys at random, some silent; each transfer's far end or the caller hangs up."""
    state, counted = new_call(flow), Counter[str]()
    events: list[Event] = [CallStarted({"caller": "15550000000", "called": "15558675309"})]
    while events:
        event = events.pop(0)
        after, action = step(flow, state, event, OPEN)
        counted.update(step_tally(flow, state, event, after))
        state = after
        if isinstance(action, Speak) and action.collect and rng.random() < 0.03:
            events.append(CallEnded())  # the caller hangs up instead of answering
        elif isinstance(action, Speak):
            events.append(SpeakDone(rng.choice(KEYS) if action.collect else ""))
        elif isinstance(action, Transfer):
            events += [DialDone(True), LegEnded("") if rng.random() < 0.8 else CallEnded()]
    if not state.ended:
        after, _ = step(flow, state, CallEnded(), OPEN)
        counted.update(step_tally(flow, state, CallEnded(), after))
        state = after
    return state, counted


def million(flow: Flow, calls: int) -> Counter[str]:
    """The counts of `calls` calls, as the stores would have summed them one by one."""
    rng = random.Random(24)
    distinct = [one_call(flow, rng) for _ in range(DISTINCT)]
    drawn = Counter(rng.randrange(DISTINCT) for _ in range(calls))
    total = Counter[str]()
    for index, times in drawn.items():
        state, counted = distinct[index]
        record = CallRecord("x", state, updated=0, created=0)
        for name, count in counted.items():
            total[name] += count * times
        total["calls"] += times
        total["status:" + record.status] += times
    return total


def fill_sqlite(path: Path, flow: Flow, counts: Counter[str], calls: int) -> None:
    SqliteStore(path).close()  # its tables
    db = sqlite3.connect(path)
    state = CallRecord("x", new_call(flow), updated=0, created=0).to_json()
    with db:
        db.executemany(
            "INSERT INTO calls (reference_id, record, updated, flow, status, created) VALUES (?, ?, ?, ?, ?, ?)",
            ((f"call-{n}", state, n, flow.id, "completed", n) for n in range(calls)),
        )
        db.executemany(
            "INSERT INTO counts (flow, name, n) VALUES (?, ?, ?)", ((flow.id, k, v) for k, v in counts.items())
        )
    db.close()


def timed(read: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, slowest) seconds of `read` over `runs` runs, after one to warm up."""
    read()
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        read()
        took.append(time.perf_counter() - began)
    return statistics.median(took), max(took)


def report(name: str, store: Store, flow: Flow, runs: int, expected: dict[str, object]) -> None:
    summary = outcomes(flow.id, store.counts(flow.id), flow)
    assert summary == expected, f"{name}: the stored counts do not sum up as the calls did"
    median, slowest = timed(lambda: outcomes(flow.id, store.counts(flow.id), flow), runs)
    print(
        f"{name}: outcomes of {summary['calls']:,} calls in {median * 1000:.2f} ms (median of {runs}; slowest {slowest * 1000:.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    flow = load_flow(FLOW)
    began = time.perf_counter()
    counts = million(flow, args.calls)
    expected = outcomes(flow.id, counts, flow)
    print(
        f"{args.calls:,} calls through {flow.id} summed in {time.perf_counter() - began:.1f} s ({len(counts)} counts)"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calls.db"
        began = time.perf_counter()
        fill_sqlite(path, flow, counts, args.calls)
        print(f"SQLite: {args.calls:,} call records and their counts stored in {time.perf_counter() - began:.1f} s")
        store = SqliteStore(path)
        report("SQLite", store, flow, args.runs, expected)
        store.close()
    with redis_url() as url:
        if url is not None:
            store = RedisStore(url)
            store.client.hset(f"{store.prefix}counts:{flow.id}", mapping=dict(counts))
            report("Redis", store, flow, args.runs, expected)
            store.close()


if __name__ == "__main__":
    main()
