"""ivrflow's exceptions, all in one file. Each carries what a person needs to act on it.

IvrflowError           base of every error ivrflow raises on purpose
 ├── FlowError         a flow file has errors; `.diagnostics` says where and why
 ├── UsageError        a command was given an argument it cannot use (exit 2)
 ├── TelesignError     Telesign refused or did not answer a request
 ├── BadJson           a body is not JSON as the server takes it (ivrflow/strictjson.py)
 ├── BadEvent          a body posted as Telesign's (an event, a callback) is not one
 ├── StoreUnavailable  the call store did not answer in time; nothing was changed
 ├── ServerProblem     a server did not run a simulated call as Telesign needs it to
 ├── EndlessCall       a simulated call was still going after the simulator's step limit
 ├── NoTime            a schedule was tested on a call whose time nobody gave
 └── ApiError          an answer of the calls API in its error shape
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivrflow.language.diagnostics import Diagnostic


class IvrflowError(Exception):
    """Base of every error ivrflow raises on purpose."""


class FlowError(IvrflowError):
    """A flow file could not be loaded because it has errors; `note`, when given, is one more line
    for people, said after the errors (such as what to do instead)."""

    def __init__(self, path: str, diagnostics: list[Diagnostic], *, note: str = "") -> None:
        self.path = path
        self.diagnostics = diagnostics
        self.note = note
        more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
        super().__init__(f"{diagnostics[0]}{more}" if diagnostics else path)


class UsageError(IvrflowError):
    """A command cannot run as asked (a missing path, a bad option); the message says why."""


class KeyScriptError(UsageError):
    """A key script that does not fit the call it plays (a transfer's letter where a question is asked)."""


class TelesignError(IvrflowError):
    """Telesign refused or did not answer a request; the message says which and why, in one line.
    `reason` is Telesign's code for it (a v2 status such as `invalid_phone_number`, a v1 error
    number), or `timeout`, `unreachable`, `cut_off`, `http_<status>` when Telesign gave none.
    `in_doubt`: Telesign may have acted on the request all the same (a POST that got a 5xx, no
    answer in time, or a connection lost after it was sent), so a call may have been placed.
    `reference_id`: Telesign's id of the transaction, when its failed answer carried one.
    `clock_offset`: how many seconds this computer's clock is ahead of Telesign's (negative:
    behind), read from the answer's Date header; None when there was none to read."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        codes: tuple[int, ...] = (),
        reason: str = "",
        in_doubt: bool = False,
        reference_id: str = "",
        clock_offset: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.codes = codes
        self.reason = reason
        self.in_doubt = in_doubt
        self.reference_id = reference_id
        self.clock_offset = clock_offset


class BadJson(IvrflowError):
    """A body that is not JSON as the server reads it (strictly: UTF-8, no NaN, not too deep, no
    text a store cannot hold); the message says why, for the 400 answer."""


class BadEvent(IvrflowError):
    """A body Telesign posted (a v2 event, a v1 status callback) that is not what Telesign sends;
    the message says why, for the 400 answer."""


class StoreUnavailable(IvrflowError):
    """The store did not answer in time (locked, full disk, down); nothing was changed."""


class ServerProblem(IvrflowError):
    """The server did not run the call as Telesign would need it to; the message says how."""


class EndlessCall(IvrflowError):
    """A simulated call had not ended after the simulator's step limit; the message says where it
    was going round."""


class NoTime(IvrflowError):
    """A `branch` tested a schedule, but the step was given no time (a programming mistake: every
    caller of `step()` passes the time of the event)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


@dataclass
class ApiError(IvrflowError):
    """An answer in the calls API's error shape. The first field error, if any, gives the ErrorCode."""

    status: int
    code: str
    message: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # such as the reference_id of a call that failed
    headers: dict[str, str] = field(default_factory=dict)
    # Where a client received the error: how many seconds this computer's clock is ahead of the
    # server's, from the answer's Date header (None: none to read). Not part of the answer.
    clock_offset: float | None = None

    def __str__(self) -> str:
        return self.message

    @classmethod
    def of_fields(cls, status: int, errors: list[FieldError]) -> ApiError:
        first = errors[0]
        return cls(status, first.code, f"{first.field}: {first.message}", errors)

    def body(self) -> dict[str, Any]:
        """The JSON answer: Telesign's own error shape, with one entry per wrong field."""
        return {
            **self.extra,
            "ResponseStatus": {
                "ErrorCode": self.code,
                "Message": self.message,
                "Errors": [{"ErrorCode": e.code, "FieldName": e.field, "Message": e.message} for e in self.errors],
            },
        }
