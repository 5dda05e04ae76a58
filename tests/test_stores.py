"""The call stores: one suite, run against every backend (real SQLite files, the memory store)."""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine.interpreter import CallState
from engine.stores import CallRecord, MemoryStore, SqliteStore, Store, StoreUnavailable, open_store


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = SqliteStore(tmp_path / "calls.db") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


def _record(reference_id: str, tries: int = 0) -> CallRecord:
    return CallRecord(reference_id, CallState(flow="f", version="v1", node="menu", waiting="key", tries=tries, repeats={"menu": 1}, variables={"drug": "Grüße"}))


def test_round_trip(store: Store) -> None:
    assert store.get("a") is None
    assert store.update("a", lambda old: (_record("a"), old)) is None
    stored = store.get("a")
    assert stored is not None and stored.state == _record("a").state and stored.state.variables == {"drug": "Grüße"}


def test_returning_none_leaves_the_record(store: Store) -> None:
    store.update("a", lambda old: (_record("a", 1), None))
    store.update("a", lambda old: (None, None))
    assert store.get("a").state.tries == 1  # type: ignore[union-attr]


def test_a_failing_change_stores_nothing(store: Store) -> None:
    store.update("a", lambda old: (_record("a", 1), None))

    def boom(old: CallRecord | None) -> tuple[CallRecord | None, None]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.update("a", boom)
    assert store.get("a").state.tries == 1  # type: ignore[union-attr]


def _increment(old: CallRecord | None) -> tuple[CallRecord | None, int]:
    time.sleep(0.0002)  # widen the window between read and write, so interleaving would show
    current = old or _record("n")
    new = replace(current, state=replace(current.state, tries=current.state.tries + 1))
    return new, new.state.tries


def test_concurrent_updates_of_one_call_never_interleave(store: Store) -> None:
    def work() -> None:
        for _ in range(50):
            store.update("n", _increment)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("n").state.tries == 400  # type: ignore[union-attr]


def _process_work(path: str) -> None:
    store = SqliteStore(path)
    for _ in range(100):
        store.update("n", _increment)
    store.close()


def test_sqlite_serialises_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SqliteStore(path).close()
    processes = [multiprocessing.get_context("spawn").Process(target=_process_work, args=(path,)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert SqliteStore(path).get("n").state.tries == 300  # type: ignore[union-attr]


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert isinstance(open_store("memory://"), MemoryStore)
    relative = open_store("sqlite:///var/ivrflow.db")
    assert isinstance(relative, SqliteStore) and (tmp_path / "var" / "ivrflow.db").exists()
    absolute = open_store(f"sqlite:///{tmp_path}/abs.db")
    assert isinstance(absolute, SqliteStore) and (tmp_path / "abs.db").exists()
    with pytest.raises(ValueError, match="unknown store"):
        open_store("mysql://x")


def test_a_locked_sqlite_store_is_unavailable_and_changes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "calls.db", busy_timeout=0.2)
    store.update("a", lambda old: (_record("a", 1), None))
    assert store.healthy()
    with contextlib.closing(sqlite3.connect(tmp_path / "calls.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another writer that does not let go
        with pytest.raises(StoreUnavailable, match="database is locked"):
            store.update("a", lambda old: (_record("a", 2), None))
        assert not store.healthy()
        other.execute("ROLLBACK")
    assert store.healthy()
    assert store.get("a").state.tries == 1  # type: ignore[union-attr]
    store.close()


def test_delivery_flag_round_trips(store: Store) -> None:
    store.update("a", lambda old: (replace(_record("a"), delivered=False), None))
    assert store.get("a").delivered is False  # type: ignore[union-attr]
