"""Placing an outbound call: record it, send it to Telesign, mark it placed or failed; and, for a
v1 call, Telesign's status reports applied to it afterwards.

`place` is the one way a call is placed, for `ivrflow send` (one Telesign v1 request that plays
the whole flow) and for the server's POST /calls (a v2 `dial`, the flow then run live by its
events). The call is recorded before it is sent, so that Telesign's first event or callback
finds it however soon it comes, even before Telesign's answer to the request.

Nothing here prints or logs: what happened comes back as data (`Placed`, `Refused`,
`Unrecorded`) and the command or the server says it in its own way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ivrflow.calls.interpreter import new_call
from ivrflow.calls.record import CallRecord, V1Call
from ivrflow.calls.transcripts import Step
from ivrflow.errors import BadEvent, StoreUnavailable, TelesignError
from ivrflow.language.model import Flow
from ivrflow.language.texts import hide_values
from ivrflow.stores import Store, failed, placed
from ivrflow.stores.outbox import keep_notice, outbox_of
from ivrflow.telesign.auth import Credentials
from ivrflow.telesign.client import Sending, V1Answer, send_v1, v1_status
from ivrflow.telesign.facts import V1Code, V1Field
from ivrflow.telesign.v1 import V1Report, parse_v1_report
from ivrflow.v1.outcomes import Reported, apply_report, v1_call

MAX_PAUSE = 15.0  # seconds between status queries at most, however long a call lasts


class Sent(Protocol):
    """Telesign's answer to a request that placed a call."""

    @property
    def reference_id(self) -> str: ...


A = TypeVar("A", bound=Sent)


@dataclass(frozen=True, slots=True)
class Placed(Generic[A]):
    """Telesign accepted the call. `record` is the call as it stands once marked placed; None
    when the store did not take the mark (`problem` says why: the call is placed all the same,
    and its events or reports will tell the store Telesign's id) or the call is gone."""

    answer: A
    record: CallRecord | None
    problem: StoreUnavailable | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """Telesign did not place the call, or did not say whether it did. The call is kept with
    Telesign's reason: `ended` (as failed) now, unless Telesign may have placed it all the same
    (`may_be_placed`: a 5xx, no answer in time, a connection lost after sending; its events or
    callbacks would still run or report it) or the call's events had moved it on already.
    `problem`: the store did not take the failure."""

    error: TelesignError
    ended: bool
    problem: StoreUnavailable | None = None
    call_id: str = ""  # our id of the call, as recorded

    @property
    def may_be_placed(self) -> bool:
        return _may_be_placed(self.error)


def _may_be_placed(error: TelesignError) -> bool:
    return error.in_doubt


def mark_placed(record: CallRecord | None, answer: Sent) -> CallRecord | None:
    """The call with Telesign's reference id noted (None: unchanged)."""
    return placed(record, answer.reference_id)[0]


def place(
    store: Store,
    record: CallRecord,
    send: Callable[[], A],
    mark: Callable[[CallRecord | None, A], CallRecord | None] = mark_placed,
) -> Placed[A] | Refused:
    """Store `record` (a new call), then `send` it to Telesign, then `mark` it placed with
    Telesign's answer (by default: note Telesign's reference id), or failed with Telesign's
    reason. Raises StoreUnavailable, having sent nothing, when the call cannot be recorded."""
    call_id = record.reference_id
    store.update(call_id, lambda old: (record, [], None))
    try:
        answer = send()
    except TelesignError as error:
        refusal = error  # the name the change below keeps (an `except` name ends with its block)
        try:
            ended = store.update(
                call_id, lambda current: failed(current, str(refusal), ended=not _may_be_placed(refusal))
            )
        except StoreUnavailable as problem:
            return Refused(error, False, problem, call_id)
        return Refused(error, ended, call_id=call_id)
    try:
        stored = store.update(call_id, lambda current: _marked(mark(current, answer), current))
    except StoreUnavailable as problem:
        return Placed(answer, None, problem)
    return Placed(answer, stored)


def _marked(
    changed: CallRecord | None, current: CallRecord | None
) -> tuple[CallRecord | None, list[Step], CallRecord | None]:
    """A store change that keeps `changed` (if any) and gives back the call as it now stands."""
    return changed, [], changed or current


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """A report of Telesign's that the store did not take (it was applied to the call in memory)."""

    report: V1Report
    problem: StoreUnavailable


@dataclass(frozen=True, slots=True)
class SentV1:
    """A v1 call Telesign accepted: our id for it, Telesign's answer, and the call as it stands
    after Telesign's first report (in memory only, when `unrecorded`)."""

    call_id: str
    answer: V1Answer
    record: CallRecord
    unrecorded: Unrecorded | None = None


def send_v1_call(
    store: Store,
    flow: Flow,
    params: Mapping[str, str],
    given: Mapping[str, str],
    credentials: Credentials,
    how: Sending,
    *,
    clock: Callable[[], float] = time.time,
) -> SentV1 | Refused:
    """Place `flow` as one Telesign v1 request with its compiled form fields `params` (for the
    call variables `given`), recorded first with the fields sent, so that Telesign's reports map
    the key pressed back to the flow's choice. Raises StoreUnavailable, having sent nothing, when
    the call cannot be recorded."""
    call_id = uuid.uuid4().hex.upper()
    # Telesign returns our id as external_id (unless the sender chose their own).
    fields = {**params, V1Field.EXTERNAL_ID: params.get(V1Field.EXTERNAL_ID, call_id)}
    variables = {
        **flow.vars,
        **given,
        "called": fields[V1Field.PHONE_NUMBER],
        **({"caller": fields[V1Field.CALLER_ID]} if V1Field.CALLER_ID in fields else {}),
    }
    # Telesign plays a v1 call by itself: the record never needs its sensitive values, so it never holds them.
    secrets = [variables.pop(name) for name in flow.sensitive if name in variables]
    kept = {key: hide_values(value, secrets) for key, value in fields.items()} if secrets else fields
    now = clock()
    # `flow` speaks the call's one language (Flow.speaking): the record keeps it, as a live call's does.
    language = flow.language if len(flow.languages) > 1 else ""
    state = new_call(flow, variables, language)
    record = CallRecord(call_id, state, updated=now, created=now, direction="outbound", v1=v1_call(flow, kept))

    def first_report(answer: V1Answer) -> V1Report:
        return V1Report(
            answer.reference_id, answer.status_code or V1Code.IN_PROGRESS, answer.description, "", None, call_id
        )

    placing = place(
        store,
        record,
        lambda: send_v1(fields, credentials, how),
        lambda current, answer: apply_report(current, first_report(answer), clock())[0],
    )
    if isinstance(placing, Refused):
        found = _found_out(store, flow, record, placing, credentials, how, clock)
        return placing if found is None else SentV1(call_id, found[0], found[1])
    if placing.problem is not None:
        report = first_report(placing.answer)
        return SentV1(call_id, placing.answer, _applied(record, report, clock()), Unrecorded(report, placing.problem))
    return SentV1(call_id, placing.answer, placing.record or record)


def _found_out(
    store: Store,
    flow: Flow,
    record: CallRecord,
    refused: Refused,
    credentials: Credentials,
    how: Sending,
    clock: Callable[[], float],
) -> tuple[V1Answer, CallRecord] | None:
    """After a request that may have placed the call, ask Telesign instead of sending it again.
    GET /v1/voice/{reference_id} needs Telesign's id: our external_id cannot be asked about. So
    only a failed answer that carried a reference id can be followed up; when Telesign then
    reports the call, it was placed (Telesign's answer, and the call with the report applied).
    Otherwise (no id, or Telesign does not say) the call stays `dialing` with the reason, and its
    callback, which carries our external_id, records it if it was placed."""
    if not refused.may_be_placed or not refused.error.reference_id:
        return None
    try:
        report = ask(refused.error.reference_id, credentials, how)
    except TelesignError:
        return None
    now, _ = record_report(store, record, report, clock, flow)
    return V1Answer(report.reference_id, report.code, report.description), now


def _applied(record: CallRecord, report: V1Report, now: float) -> CallRecord:
    return apply_report(record, report, now)[0] or record


def ask(reference_id: str, credentials: Credentials, how: Sending) -> V1Report:
    """Telesign's status report of a v1 call."""
    try:
        return parse_v1_report(v1_status(reference_id, credentials, how))
    except BadEvent as problem:
        raise TelesignError(f"Telesign's answer is not a status report: {problem}", reason="bad_answer") from None


def record_report(
    store: Store,
    record: CallRecord,
    report: V1Report,
    clock: Callable[[], float] = time.time,
    flow: Flow | None = None,
) -> tuple[CallRecord, Unrecorded | None]:
    """Apply Telesign's report to the call in the store: the call as it now stands (as far as
    is known, when the store is not answering: then the report comes back as unrecorded). The
    report that ends the call keeps its end-of-call notice with it, as the server's callbacks do,
    for a server on the store to deliver; `flow`: the call's, when known (its `notify:`)."""

    def change(current: CallRecord | None) -> tuple[CallRecord | None, list[Step], tuple[CallRecord | None, Reported]]:
        changed, steps, reported = apply_report(current, report, clock())
        return changed, steps, (changed or current, reported)

    try:
        with store.batch():
            now, reported = store.update(record.reference_id, change)
            if reported.ended:  # only the report that ended it: one notice per call, whoever learns first
                keep_notice(store, outbox_of(store), record.reference_id, flow, None, clock())
        return now or record, None
    except StoreUnavailable as problem:
        return _applied(record, report, clock()), Unrecorded(report, problem)


@dataclass(frozen=True, slots=True)
class Status:
    """Telesign's report of a v1 call, and the call in the store with it applied (None: the call
    was not placed into this store, so its key cannot be mapped to a flow's choice)."""

    reference_id: str
    report: V1Report
    record: CallRecord | None
    unrecorded: Unrecorded | None = None


def check_status(
    store: Store,
    record: CallRecord | None,
    asked: str,
    credentials: Credentials,
    how: Sending,
    *,
    clock: Callable[[], float] = time.time,
) -> Status:
    """Ask Telesign how the v1 call `asked` (ours, `record` when stored, or Telesign's reference
    id) went, and record the answer on it. Raises TelesignError when Telesign refuses."""
    reference_id = record.telesign_id if record is not None and record.telesign_id else asked
    report = ask(reference_id, credentials, how)
    if record is None:
        return Status(reference_id, report, None)
    now, unrecorded = record_report(store, record, report, clock)
    return Status(reference_id, report, now, unrecorded)


def wait(
    store: Store,
    record: CallRecord,
    reference_id: str,
    credentials: Credentials,
    how: Sending,
    *,
    wait_max: float,
    poll: float,
    on_unrecorded: Callable[[Unrecorded], None],
    clock: Callable[[], float] = time.time,
    flow: Flow | None = None,
) -> V1Call | None:
    """Ask Telesign for the call's status, pausing `poll` seconds and then longer each time, until
    it is final (its v1 part then) or `wait_max` seconds have passed (None). Raises TelesignError
    when Telesign refuses; a 404 only means Telesign does not know the call yet. `flow`: the
    call's (its `notify:` for the notice of the call's end)."""
    deadline = time.monotonic() + wait_max
    pause = poll
    while True:
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
        try:
            record, unrecorded = record_report(store, record, ask(reference_id, credentials, how), clock, flow)
            if unrecorded is not None:
                on_unrecorded(unrecorded)
        except TelesignError as error:
            if error.status != 404:
                raise
        if record.v1 is not None and record.state.ended:
            return record.v1
        if time.monotonic() >= deadline:
            return None
        pause = min(pause * 2, MAX_PAUSE)
