"""Placing a call, in process: the call is recorded before it is sent, then marked placed with
Telesign's reference id or failed with Telesign's reason (a timeout leaves it dialing), and a
store that stops answering at any step is said, never hidden."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import pytest

from conftest import FLOWS
from ivrflow.calls.interpreter import new_call
from ivrflow.calls.record import CallRecord
from ivrflow.errors import StoreUnavailable, TelesignError
from ivrflow.language.loader import load_flow
from ivrflow.placing import Placed, Refused, SentV1, place, record_report, send_v1_call
from ivrflow.stores import MemoryStore, SqliteStore, Update
from ivrflow.stores.outbox import SqliteOutbox, outbox_of
from ivrflow.telesign.auth import Credentials
from ivrflow.telesign.client import DialAnswer, Sending, V1Answer
from ivrflow.telesign.v1 import V1Report
from ivrflow.v1.outcomes import v1_call

T = TypeVar("T")
APPOINTMENT = load_flow(FLOWS / "appointment-reminder.yaml")


class FailingStore(MemoryStore):
    """A memory store whose updates number `fail_at` (counting from 1) do not answer."""

    def __init__(self, *fail_at: int) -> None:
        super().__init__()
        self.fail_at, self.updates = fail_at, 0

    def update(self, reference_id: str, change: Update[T], *, telesign_id: str = "") -> T:
        self.updates += 1
        if self.updates in self.fail_at:
            raise StoreUnavailable("the store is locked")
        return super().update(reference_id, change, telesign_id=telesign_id)


def new_record(call_id: str = "CALL1") -> CallRecord:
    return CallRecord(call_id, new_call(APPOINTMENT, {}), updated=0.0, created=0.0, direction="outbound")


@dataclass
class Sender:
    """Telesign's side: checks that the call is stored before it is asked to place it."""

    store: MemoryStore
    call_id: str
    error: TelesignError | None = None

    def __call__(self) -> DialAnswer:
        assert self.store.get(self.call_id) is not None, "sent before it was recorded"
        if self.error is not None:
            raise self.error
        return DialAnswer("TS1", "dial_accepted")


def test_placed_is_recorded_first_then_marked_with_telesigns_id() -> None:
    store = MemoryStore()
    outcome = place(store, new_record(), Sender(store, "CALL1"))
    assert isinstance(outcome, Placed) and outcome.problem is None
    assert outcome.record is not None and outcome.record.telesign_id == "TS1"
    assert store.find("TS1") == "CALL1"


@pytest.mark.parametrize(
    ("reason", "ended", "status"), [("invalid_phone_number", True, "failed"), ("timeout", False, "dialing")]
)
def test_refused_keeps_the_call_with_telesigns_reason(reason: str, ended: bool, status: str) -> None:
    store = MemoryStore()
    error = TelesignError(
        "Telesign did not place the call", reason=reason, in_doubt=reason == "timeout"
    )  # as the client says of a timeout
    outcome = place(store, new_record(), Sender(store, "CALL1", error))
    assert isinstance(outcome, Refused) and outcome.error is error
    assert (outcome.ended, outcome.may_be_placed, outcome.problem) == (ended, not ended, None)
    kept = store.get("CALL1")
    assert kept is not None and (kept.status, kept.error) == (status, "Telesign did not place the call")


def test_a_call_that_cannot_be_recorded_is_not_sent() -> None:
    store = FailingStore(1)

    def send() -> DialAnswer:
        raise AssertionError("sent a call that was not recorded")

    with pytest.raises(StoreUnavailable):
        place(store, new_record(), send)


def test_a_mark_or_a_failure_the_store_does_not_take_is_said() -> None:
    store = FailingStore(2)
    outcome = place(store, new_record(), Sender(store, "CALL1"))
    assert isinstance(outcome, Placed) and outcome.record is None and isinstance(outcome.problem, StoreUnavailable)
    store = FailingStore(2)
    refused = place(store, new_record(), Sender(store, "CALL1", TelesignError("no", reason="not_authorized")))
    assert isinstance(refused, Refused) and not refused.ended and isinstance(refused.problem, StoreUnavailable)


@pytest.mark.parametrize("fail_at", [(), (2,)])
def test_a_v1_call_keeps_telesigns_first_report_even_when_the_store_does_not(
    monkeypatch: pytest.MonkeyPatch, fail_at: tuple[int, ...]
) -> None:
    sent: list[dict[str, str]] = []

    def send_v1(params: dict[str, str], credentials: Credentials, how: Sending) -> V1Answer:
        sent.append(params)
        return V1Answer("TS1", 103, "Call in progress")

    monkeypatch.setattr("ivrflow.placing.send_v1", send_v1)
    store = FailingStore(*fail_at)
    params = {"phone_number": "15551234567", "message": "hello"}
    outcome = send_v1_call(store, APPOINTMENT, params, {}, Credentials("C", "K"), Sending(), clock=lambda: 1000.0)
    assert isinstance(outcome, SentV1)
    assert sent == [{**params, "external_id": outcome.call_id}] and params == {
        "phone_number": "15551234567",
        "message": "hello",
    }
    assert outcome.record.telesign_id == "TS1" and outcome.record.v1 is not None and outcome.record.v1.code == 103
    assert (outcome.unrecorded is None) == (not fail_at)
    stored = store.get(outcome.call_id)
    assert stored is not None and stored.v1 is not None and stored.v1.code == (None if fail_at else 103)


def _v1_record(call_id: str = "CALL1") -> CallRecord:
    return CallRecord(
        call_id,
        new_call(APPOINTMENT, {"called": "15551234567"}),
        updated=1.0,
        created=1.0,
        direction="outbound",
        v1=v1_call(APPOINTMENT, {}),
    )


def _report(code: int, key: str | None = None) -> V1Report:
    return V1Report("TS1", code, "", f"2026-11-23T10:00:0{code % 10}.000000Z", key)


def test_the_report_that_ends_a_v1_call_keeps_one_notice_with_the_end(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "calls.db")
    record = _v1_record()
    store.update(record.reference_id, lambda old: (record, [], None))
    outbox = outbox_of(store)
    record, _ = record_report(store, record, _report(103), lambda: 2.0)
    assert outbox.pending() == 0  # in progress: nothing to say yet
    record, _ = record_report(store, record, _report(100, "1"), lambda: 3.0, APPOINTMENT)
    (notice,) = outbox.take(4.0, 10)
    assert (notice.id, notice.url) == ("call-ended-CALL1", "")  # "": the delivering server's --notify
    call = json.loads(notice.body)["call"]
    assert (call["status"], call["ended_at_node"], call["telesign_id"]) == ("completed", "confirmed", "TS1")
    outbox.delivered(notice.id)
    # Told again (by a callback, `ivrflow status`, another --wait): the call had ended, no second notice.
    record_report(store, record, _report(100, "1"), lambda: 5.0)
    assert outbox.pending() == 0
    store.close()


def test_a_flows_notify_is_where_its_notice_goes() -> None:
    store = MemoryStore()
    record = _v1_record()
    store.update(record.reference_id, lambda old: (record, [], None))
    record_report(store, record, _report(101), lambda: 2.0, replace(APPOINTMENT, notify="https://crm.example/ivr"))
    (notice,) = outbox_of(store).take(3.0, 10)
    assert notice.url == "https://crm.example/ivr" and json.loads(notice.body)["call"]["status"] == "no_answer"


def test_an_end_whose_notice_cannot_be_kept_is_not_stored_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "calls.db")
    record = _v1_record()
    store.update(record.reference_id, lambda old: (record, [], None))

    def refuse(self: SqliteOutbox, *args: object) -> None:
        raise StoreUnavailable("disk full")

    monkeypatch.setattr(SqliteOutbox, "add", refuse)
    now, unrecorded = record_report(store, record, _report(100, "1"), lambda: 2.0)
    assert unrecorded is not None and now.status == "completed"  # as far as is known
    kept = store.get(record.reference_id)
    assert kept is not None and kept.status == "dialing"  # one transaction: neither was stored
    store.close()
