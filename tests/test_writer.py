"""The server's store writer: updates handed over from the event loop, many to a transaction, each
answered only once stored; and the listening socket `serve --workers` shares."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ivrflow.calls.interpreter import CallState
from ivrflow.calls.record import CallRecord
from ivrflow.calls.transcripts import Step
from ivrflow.errors import StoreUnavailable
from ivrflow.server import writer as writer_module
from ivrflow.server.workers import _TcpConfig
from ivrflow.server.writer import Writer
from ivrflow.stores import SqliteStore

NOW = 1_700_000_000.0  # the records' clock


def _record(reference_id: str, tries: int = 0) -> CallRecord:
    return CallRecord(
        reference_id,
        CallState(flow="f", version="v1", node="menu", waiting="key", tries=tries),
        updated=NOW,
        created=NOW,
    )


def _increment(old: CallRecord | None) -> tuple[CallRecord | None, list[Step], int]:
    current = old or _record("n")
    new = replace(current, state=replace(current.state, tries=current.state.tries + 1))
    return new, [{"press": str(new.state.tries % 10)}], new.state.tries


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    made = SqliteStore(tmp_path / "calls.db")
    yield made
    made.close()


def test_concurrent_updates_are_batched_and_each_is_stored_once_in_order(store: SqliteStore) -> None:
    writer = Writer(store)
    commits: list[int] = []
    batch = store.batch

    @contextlib.contextmanager
    def counted() -> Iterator[None]:
        with batch():
            yield
        commits.append(1)

    store.batch = counted  # type: ignore[method-assign]

    async def calls() -> list[int]:
        return await asyncio.gather(*(writer.run(lambda: store.update("n", _increment)) for _ in range(300)))

    results = asyncio.run(calls())
    writer.close()
    assert sorted(results) == list(range(1, 301))  # every update applied once, none lost
    assert store.get("n").state.tries == 300  # type: ignore[union-attr]
    assert [step["press"] for step in store.transcript("n")] == [str(n % 10) for n in range(1, 301)]
    assert len(commits) < 300  # updates queued together shared a commit


def test_a_failing_update_fails_alone(store: SqliteStore) -> None:
    writer = Writer(store)

    def boom() -> None:
        raise RuntimeError("boom")

    async def calls() -> list[object]:
        return await asyncio.gather(
            writer.run(lambda: store.update("a", lambda old: (_record("a"), [], "a"))),
            writer.run(boom),
            writer.run(lambda: store.update("b", lambda old: (_record("b"), [], "b"))),
            return_exceptions=True,
        )

    first, failed, last = asyncio.run(calls())
    writer.close()
    assert (first, last) == ("a", "b") and isinstance(failed, RuntimeError)
    assert store.get("a") is not None and store.get("b") is not None


def test_a_store_that_cannot_write_fails_every_update_and_stores_none(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "calls.db", busy_timeout=0.3)
    writer = Writer(store)
    with contextlib.closing(sqlite3.connect(tmp_path / "calls.db", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock

        async def calls() -> list[object]:
            return await asyncio.gather(
                *(writer.run(lambda: store.update(f"c{n}", lambda old: (_record("c"), [], None))) for n in range(5)),
                return_exceptions=True,
            )

        results = asyncio.run(calls())
        holder.execute("ROLLBACK")
    writer.close()
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert store.recent() == []
    store.close()


def test_an_update_that_waited_too_long_is_refused_unapplied(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "PATIENCE", 0.2)
    writer = Writer(store)
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.5)  # the store is slow: what queues behind this waits past the patience

    async def calls() -> list[object]:
        first = asyncio.ensure_future(writer.run(slow))
        await asyncio.get_running_loop().run_in_executor(None, started.wait)
        late = writer.run(lambda: store.update("late", lambda old: (_record("late"), [], None)))
        return await asyncio.gather(first, late, return_exceptions=True)

    done, late = asyncio.run(calls())
    writer.close()
    assert done is None and isinstance(late, StoreUnavailable)
    assert store.get("late") is None


def test_the_workers_socket_turns_nagle_off_on_each_connection() -> None:
    """`serve --workers` shares one listening socket; each accepted connection must have
    TCP_NODELAY, or every kept-alive answer waits 40 ms for the client's delayed ACK."""
    config = _TcpConfig("ivrflow.server.workers:app_from_env", host="127.0.0.1", port=0, workers=2)
    listener = config.bind_socket()
    nodelay: list[int] = []

    async def check() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nodelay.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listener)  # as uvicorn's workers serve it
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        await reader.read()
        writer.close()
        server.close()

    asyncio.run(check())
    assert nodelay == [1]
