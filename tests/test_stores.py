"""The call stores: one suite, run against every backend (real SQLite files, a real redis-server,
the memory store)."""

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
import redis

from ivrflow.calls.interpreter import CallState
from ivrflow.calls.record import CallRecord
from ivrflow.calls.transcripts import Step
from ivrflow.errors import StoreUnavailable
from ivrflow.stores import MemoryStore, RedisStore, SqliteStore, Store, open_store
from redis_server import RedisServer


@pytest.fixture(params=["sqlite", "memory", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        redis.Redis.from_url(server.url).flushdb()
        made = RedisStore(server.url)
    else:
        made = SqliteStore(tmp_path / "calls.db") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


NOW = 1_700_000_000.0  # the records' clock


def _record(reference_id: str, tries: int = 0) -> CallRecord:
    return CallRecord(
        reference_id,
        CallState(
            flow="f",
            version="v1",
            node="menu",
            waiting="key",
            tries=tries,
            repeats={"menu": 1},
            variables={"drug": "Grüße"},
        ),
        updated=NOW,
        created=NOW,
    )


def test_round_trip(store: Store) -> None:
    assert store.get("a") is None
    assert store.update("a", lambda old: (_record("a"), [], old)) is None
    stored = store.get("a")
    assert stored is not None and stored.state == _record("a").state and stored.state.variables == {"drug": "Grüße"}


def test_returning_none_leaves_the_record(store: Store) -> None:
    store.update("a", lambda old: (_record("a", 1), [], None))
    store.update("a", lambda old: (None, [], None))
    assert store.get("a").state.tries == 1  # type: ignore[union-attr]


def test_a_failing_change_stores_nothing(store: Store) -> None:
    store.update("a", lambda old: (_record("a", 1), [], None))

    def boom(old: CallRecord | None) -> tuple[CallRecord | None, list[Step], None]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.update("a", boom)
    assert store.get("a").state.tries == 1  # type: ignore[union-attr]


def test_in_a_batch_a_failing_change_stores_nothing_and_the_others_are_kept(store: Store) -> None:
    def boom(old: CallRecord | None) -> tuple[CallRecord | None, list[Step], None]:
        raise RuntimeError("boom")

    with store.batch():
        store.update("a", lambda old: (_record("a", 1), [{"press": "1"}], None))
        store.update("b", lambda old: (_record("b", 1), [{"press": "2"}], None))
        with pytest.raises(RuntimeError):
            store.update("b", boom)
        store.update(
            "a", lambda old: (replace(old, state=replace(old.state, tries=2)) if old else None, [{"press": "3"}], None)
        )
    assert store.get("a").state.tries == 2  # type: ignore[union-attr]  # a change sees the one before it
    assert [step["press"] for step in store.transcript("a")] == ["1", "3"]
    assert store.get("b").state.tries == 1  # type: ignore[union-attr]  # b's first change kept, not its failed one
    assert [step["press"] for step in store.transcript("b")] == ["2"]


def _increment(old: CallRecord | None) -> tuple[CallRecord | None, list[Step], int]:
    time.sleep(0.0002)  # widen the window between read and write, so interleaving would show
    current = old or _record("n")
    new = replace(current, state=replace(current.state, tries=current.state.tries + 1))
    return new, [{"press": str(new.state.tries % 10)}], new.state.tries


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
    # Each update's steps were added with it, in the order the updates were applied.
    assert [step["press"] for step in store.transcript("n")] == [str(n % 10) for n in range(1, 401)]


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


def test_a_sqlite_batch_stores_all_of_its_updates_or_none(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "calls.db")
    with pytest.raises(KeyboardInterrupt), store.batch():  # noqa: PT012 (the update, then the batch failing, is the case)
        store.update("a", lambda old: (_record("a"), [], None))
        raise KeyboardInterrupt  # the batch itself fails: not even a's update is stored
    assert store.get("a") is None
    with store.batch():
        store.update("a", lambda old: (_record("a"), [], None))
        with contextlib.closing(
            sqlite3.connect(tmp_path / "calls.db")
        ) as other:  # not visible elsewhere before the commit
            assert other.execute("SELECT count(*) FROM calls").fetchone() == (0,)
    assert store.get("a") is not None
    store.close()


def test_a_locked_sqlite_store_is_unavailable_and_changes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "calls.db", busy_timeout=0.2)
    store.update("a", lambda old: (_record("a", 1), [], None))
    assert store.healthy()
    with contextlib.closing(sqlite3.connect(tmp_path / "calls.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another writer that does not let go
        with pytest.raises(StoreUnavailable, match="database is locked"):
            store.update("a", lambda old: (_record("a", 2), [], None))
        assert not store.healthy()
        other.execute("ROLLBACK")
    assert store.healthy()
    assert store.get("a").state.tries == 1  # type: ignore[union-attr]
    store.close()


def test_delivery_flag_round_trips(store: Store) -> None:
    store.update("a", lambda old: (replace(_record("a"), delivered=False), [], None))
    assert store.get("a").delivered is False  # type: ignore[union-attr]


def test_transcript_steps_are_kept_in_order_with_their_time(store: Store) -> None:
    assert store.transcript("a") == []
    store.update("a", lambda old: (replace(_record("a"), updated=100.0), [{"say": "Hello"}, {"no_input": True}], None))
    store.update("a", lambda old: (None, [{"say": "not stored: no record was written"}], None))
    store.update("a", lambda old: (replace(_record("a"), updated=101.5), [{"hangup": True}], None))
    assert store.transcript("a") == [
        {"at": 100.0, "say": "Hello"},
        {"at": 100.0, "no_input": True},
        {"at": 101.5, "hangup": True},
    ]
    assert store.transcript("b") == []


def _call(reference_id: str, flow: str, waiting: str, created: float, outcome: str = "") -> CallRecord:
    state = CallState(flow=flow, version="v", waiting=waiting, outcome=outcome)  # type: ignore[arg-type]
    return CallRecord(reference_id, state, updated=created, created=created)


def test_recent_calls_by_flow_and_status_and_the_active_count(store: Store) -> None:
    calls = [
        _call("dialing", "reminder", "start", 1.0),
        _call("talking", "reminder", "key", 2.0),
        _call("done", "reminder", "ended", 3.0, "completed"),
        _call("unanswered", "otp", "ended", 4.0, "no_answer"),
        _call("other", "otp", "key", 5.0),
    ]
    for call in calls:
        store.update(call.reference_id, lambda old, call=call: (call, [], None))  # type: ignore[misc]
    assert [r.reference_id for r in store.recent()] == ["other", "unanswered", "done", "talking", "dialing"]
    assert [r.reference_id for r in store.recent(flow="reminder")] == ["done", "talking", "dialing"]
    assert [r.reference_id for r in store.recent(status="in_progress")] == ["other", "talking"]
    assert [r.reference_id for r in store.recent(flow="otp", status="no_answer")] == ["unanswered"]
    assert [r.reference_id for r in store.recent(limit=2)] == ["other", "unanswered"]
    assert store.active() == 3
    # A status change is what the listing filters by, not the status the call was created with.
    store.update(
        "talking",
        lambda old: (replace(old, state=replace(old.state, waiting="ended", outcome="caller_hung_up")), [], None),
    )  # type: ignore[arg-type]
    assert [r.reference_id for r in store.recent(status="caller_hung_up")] == ["talking"]
    assert store.active() == 2


def test_a_call_is_found_by_telesigns_reference_id(store: Store) -> None:
    assert store.find("TS-1") is None
    store.update("ours", lambda old: (_record("ours"), [], None))
    assert store.find("TS-1") is None  # not known until Telesign's answer or first event says it
    store.update("ours", lambda old: (replace(old, telesign_id="TS-1"), [], None))  # type: ignore[type-var]
    assert store.find("TS-1") == "ours"


def test_an_update_by_telesigns_reference_id_changes_the_call_it_names(store: Store) -> None:
    store.update("ours", lambda old: (replace(_record("ours"), telesign_id="TS-1"), [], None))
    store.update("TS-1", lambda old: (_record("TS-1"), [], None))  # calls whose own ids these are
    store.update("TS-2", lambda old: (_record("TS-2"), [], None))

    def seen(old: CallRecord | None) -> tuple[CallRecord | None, list[Step], str]:
        assert old is not None
        return replace(old, state=replace(old.state, tries=old.state.tries + 1)), [{"press": "1"}], old.reference_id

    assert store.update("TS-1", seen, telesign_id="TS-1") == "ours"  # Telesign's name for a call comes first
    assert store.update("TS-2", seen, telesign_id="TS-2") == "TS-2"  # none Telesign knows so: the call's own id
    assert store.update("TS-1", seen) == "TS-1"
    ours, theirs = store.get("ours"), store.get("TS-1")
    assert ours is not None and theirs is not None
    assert (ours.state.tries, theirs.state.tries) == (1, 1)
    assert [step["press"] for step in store.transcript("ours")] == ["1"]
    assert [step["press"] for step in store.transcript("TS-2")] == ["1"]


def test_a_nonce_is_refused_when_used_again_until_it_expires(store: Store) -> None:
    assert store.use_nonce("n1", keep=0.3)
    assert not store.use_nonce("n1", keep=0.3)
    assert store.use_nonce("n2", keep=0.3)
    time.sleep(0.4)
    assert store.use_nonce("n1", keep=0.3)  # expired: its date would be refused before this anyway


def test_a_sqlite_file_from_before_the_calls_api_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _record("a", 2)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE calls (reference_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated REAL NOT NULL)")
        db.execute("INSERT INTO calls VALUES (?, ?, ?)", ("a", old.to_json(), old.updated))
        db.commit()
    store = SqliteStore(path)
    assert store.get("a").state.tries == 2  # type: ignore[union-attr]
    store.update("a", lambda record: (replace(record, state=replace(record.state, tries=3)), [{"say": "again"}], None))  # type: ignore[arg-type]
    assert [r.reference_id for r in store.recent(status="in_progress")] == ["a"]
    assert [step["say"] for step in store.transcript("a")] == ["again"]
    store.close()


def test_a_record_stored_before_calls_had_a_creation_time_loads(tmp_path: Path) -> None:
    import json

    old = json.loads(_record("a", 2).to_json())
    for name in ("created", "direction", "telesign_id", "error"):  # fields added with the calls API
        del old[name]
    old["updated"] = 123.5
    loaded = CallRecord.from_json(json.dumps(old))
    assert (loaded.state.tries, loaded.updated, loaded.created, loaded.direction, loaded.v1) == (
        2,
        123.5,
        123.5,
        "inbound",
        None,
    )


def test_a_redis_call_is_kept_while_on_the_line_and_expires_after_it_ends(redis_server: RedisServer) -> None:
    redis.Redis.from_url(redis_server.url).flushdb()
    store = RedisStore(redis_server.url, ttl=1)
    on_line = _record("r")
    store.update("r", lambda old: (on_line, [{"say": "hello"}], None))
    time.sleep(1.2)
    assert (
        store.get("r") is not None
        and store.transcript("r") == [{"at": on_line.updated, "say": "hello"}]
        and store.active() == 1
    )
    ended = replace(on_line, state=replace(on_line.state, waiting="ended", outcome="completed"), telesign_id="T-r")
    store.update("r", lambda old: (ended, [{"hangup": True}], None))
    assert store.find("T-r") == "r" and store.active() == 0
    time.sleep(1.2)
    assert (store.get("r"), store.transcript("r"), store.find("T-r"), store.recent(flow="f")) == (None, [], None, [])


def test_a_redis_store_that_is_down_is_unavailable(tmp_path: Path) -> None:
    from live_server import free_port

    store = open_store(f"redis://127.0.0.1:{free_port()}/0?ttl=60")
    assert not store.healthy()
    with pytest.raises(StoreUnavailable, match="Redis store"):
        store.update("a", lambda old: (_record("a"), [], None))
    with pytest.raises(StoreUnavailable):
        store.get("a")
    with pytest.raises(ValueError, match="ttl is a whole number"):
        open_store("redis://127.0.0.1:1/0?ttl=soon")
