"""The management API: start outbound calls and see what happened on them.

POST /calls places a call (a `dial` to Telesign's /v2/voice); GET /calls/{reference_id} shows one
call with its timed transcript (a v1 call: Telesign's report and the choice made); GET /calls lists
recent calls; GET /flows lists the flows served; GET /flows/{flow}/outcomes sums up how a flow's
calls went.
Requests authenticate as Telesign's own API does (Basic, or a `TSA` signature with a fresh date
and a nonce used once), so a Telesign customer's credentials and SDK work unchanged. Every error
has one shape: {"ResponseStatus": {"ErrorCode", "Message", "Errors": [{"FieldName", "Message"}]}}.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import NoReturn

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivrflow import placing, strictjson
from ivrflow.calls.interpreter import new_call
from ivrflow.calls.outcomes import outcomes
from ivrflow.calls.record import STATUSES, CallRecord
from ivrflow.errors import ApiError, BadJson, FieldError, StoreUnavailable
from ivrflow.language.model import Flow
from ivrflow.server.calls_shapes import (
    CallRequest,
    call_summary,
    flow_summary,
    hint_for,
    parse_call_request,
    shown_variables,
    timed_step,
)
from ivrflow.server.http import MAX_BODY, framing_problem, is_json, read_limited
from ivrflow.server.metrics import Metrics
from ivrflow.server.schedule_clock import Clock, real_time
from ivrflow.stores import Store, lookup
from ivrflow.telesign.auth import AuthRefusal, Credentials, check_request
from ivrflow.telesign.auth_codes import NONCE_REUSED
from ivrflow.telesign.client import CUT_OFF, TIMEOUT, UNREACHABLE, Sending, send_dial
from ivrflow.telesign.facts import DATE_TOLERANCE, DialStatus
from ivrflow.telesign.v2 import dial_params
from ivrflow.v1.outcomes import v1_summary

log = logging.getLogger("ivrflow")
refusals = logging.getLogger("ivrflow.api")  # one line for each request answered with an error

LIST_LIMIT = 500
LIMIT = re.compile(r"[0-9]{1,4}")  # ASCII digits only: `str.isdigit` takes "²", which `int` refuses


# What a refusal of Telesign's means for the caller of POST /calls: HTTP status, ErrorCode, and
# the field it is about (when it is about one).
TELESIGN_REFUSALS: dict[str, tuple[int, str, str]] = {
    DialStatus.INVALID_PHONE_NUMBER: (400, "INVALID_PHONENUMBER_FORMAT", "to"),
    DialStatus.TO_NUMBER_NOT_PROVIDED: (400, "PARAMETER_REQUIRED", "to"),
    DialStatus.CALLER_ID_NUMBER_NOT_OWNED: (400, "PARAMETER_INVALID", "caller_id"),
    DialStatus.CALLER_ID_NUMBER_NOT_PROVIDED: (400, "PARAMETER_REQUIRED", "caller_id"),
    DialStatus.PREMIUM_TO_NUMBER_REJECTED: (403, "FORBIDDEN", "to"),
    DialStatus.TO_NUMBER_BLOCKED_BY_COUNTRY: (403, "FORBIDDEN", "to"),
    DialStatus.TO_NUMBER_BLOCKED_BY_CUSTOMER: (403, "FORBIDDEN", "to"),
    DialStatus.TO_NUMBER_BLOCKED_BY_TELESIGN: (403, "FORBIDDEN", "to"),
    # The server's own credentials or requests are wrong: nothing the caller can change.
    DialStatus.CREDENTIALS_NOT_PROVIDED: (502, "TELESIGN_AUTH_FAILED", ""),
    DialStatus.NOT_AUTHORIZED: (502, "TELESIGN_AUTH_FAILED", ""),
    DialStatus.UNSUPPORTED_CALL_STATE: (502, "TELESIGN_ERROR", ""),
    DialStatus.RATE_LIMIT_EXCEEDED: (503, "TELESIGN_RATE_LIMITED", ""),
    UNREACHABLE: (502, "TELESIGN_UNAVAILABLE", ""),
    CUT_OFF: (502, "TELESIGN_UNAVAILABLE", ""),
    TIMEOUT: (504, "TELESIGN_TIMEOUT", ""),
}


Handler = Callable[[Request, bytes], Awaitable[Response]]


class Api:
    def __init__(
        self,
        flows: Callable[[], Mapping[str, Flow]],
        store: Store,
        credentials: Credentials | None,
        metrics: Metrics,
        *,
        dial_timeout: float = 10.0,
        clock: Clock = real_time,
    ) -> None:
        self.flows = flows
        self.clock = clock  # for what GET /flows says about schedules
        self.store = store
        self.credentials = credentials
        self.metrics = metrics
        self.sending = Sending(timeout=dial_timeout, on_retry=lambda code: metrics.telesign_errors.labels(code).inc())

    def routes(self) -> list[Route]:
        return [
            self.route("POST", "/calls", self.start_call),
            self.route("GET", "/calls", self.list_calls),
            self.route("GET", "/calls/{reference_id}", self.get_call),
            self.route("GET", "/flows", self.list_flows),
            self.route("GET", "/flows/{flow}/outcomes", self.flow_outcomes),
        ]

    def route(self, method: str, path: str, handler: Handler) -> Route:
        """Read the body, authenticate, run the handler; any failure answers in the error shape,
        and is counted and logged (one line) under the route's name, such as `GET /calls/{reference_id}`."""
        route = f"{method} {path}"

        async def endpoint(request: Request) -> Response:
            try:
                body = await _read(request)
                await self.authenticate(request, body)
                return await handler(request, body)
            except ApiError as error:
                return self._answer_error(route, error)
            except StoreUnavailable as problem:
                log.error("management request %s %s: %s", request.method, request.url.path, problem)
                return self._answer_error(
                    route,
                    ApiError(
                        503,
                        "STORE_UNAVAILABLE",
                        "the call store is not answering; try again",
                        headers={"Retry-After": "1"},
                    ),
                )
            except ClientDisconnect:
                raise  # logged where the body was read; the app answers it with nothing
            except Exception:
                log.exception("management request %s %s failed", request.method, request.url.path)
                return self._answer_error(
                    route, ApiError(500, "INTERNAL_ERROR", "the server failed; the log has the details")
                )

        return Route(path, endpoint, methods=[method])

    def _answer_error(self, route: str, error: ApiError) -> Response:
        self.metrics.api_refusals.labels(route, str(error.status)).inc()
        fields = {"route": route, "status": error.status, "code": error.code, "reason": error.message}
        refusals.log(
            logging.ERROR if error.status >= 500 else logging.INFO, "request refused", extra={"fields": fields}
        )
        return _error_response(error)

    async def authenticate(self, request: Request, body: bytes) -> None:
        """Refuse (401) a request without the account's credentials, saying why with Telesign's
        code for the reason in the error's list, as Telesign's own answers carry it."""
        if self.credentials is None:
            return  # no credentials configured: `ivrflow serve` listens on loopback only (or --insecure)
        headers = {name.lower(): value for name, value in request.headers.items()}
        refusal = check_request(
            self.credentials, request.method, request.url.path, headers, body.decode("utf-8", errors="replace")
        )
        # Dates older than the tolerance are refused anyway, so a nonce is only kept that long.
        if (
            refusal is None
            and headers["authorization"].startswith("TSA ")
            and not await run_in_threadpool(self.store.use_nonce, headers["x-ts-nonce"], 2 * DATE_TOLERANCE)
        ):
            refusal = AuthRefusal(
                NONCE_REUSED, "this x-ts-nonce was used before: send a new random value with each request"
            )
        if refusal is not None:
            raise ApiError(
                401,
                "UNAUTHORIZED",
                refusal.message,
                [FieldError(refusal.header, str(refusal.code), refusal.message)],
                headers={"WWW-Authenticate": 'Basic realm="ivrflow"'},
            )

    async def start_call(self, request: Request, body: bytes) -> Response:
        if not is_json(request):
            raise ApiError(
                400,
                "PARAMETER_INVALID",
                "send the call as a JSON object in UTF-8, with Content-Type: application/json (no charset, or charset=utf-8)",
            )
        try:
            data = strictjson.loads(body)
        except BadJson as problem:
            raise ApiError(400, "PARAMETER_INVALID", str(problem)) from None
        asked = parse_call_request(data, self.flows())
        if self.credentials is None:
            raise ApiError(
                500,
                "NOT_CONFIGURED",
                "this server has no Telesign credentials, so it cannot place calls: start it with TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY set",
            )
        return await run_in_threadpool(self.place, asked)

    def place(self, asked: CallRequest, call_id: str | None = None) -> Response:
        """Store the call (as `call_id`, else a new id), then ask Telesign to dial it. The call is
        stored first so that its events find it whenever they come, even before Telesign's
        answer to the dial."""
        credentials = self.credentials
        assert credentials is not None
        call_id = call_id or uuid.uuid4().hex.upper()
        now = time.time()
        record = CallRecord(
            call_id,
            new_call(asked.flow, asked.variables, asked.language),
            updated=now,
            created=now,
            direction="outbound",
        )
        outcome = placing.place(
            self.store,
            record,
            lambda: send_dial(dial_params(asked.to, asked.caller_id, call_id), credentials, self.sending),
        )
        self.metrics.calls_started.labels("outbound").inc()
        if isinstance(outcome, placing.Refused):
            self._refused(call_id, outcome)
        answer = outcome.answer
        log.info("call %s placed: Telesign reference id %s, flow %s", call_id, answer.reference_id, asked.flow.id)
        if outcome.problem is not None:  # the call is placed all the same: its first event will say Telesign's id
            log.error(
                "call %s: Telesign's reference id %s not stored: %s", call_id, answer.reference_id, outcome.problem
            )
        stored = outcome.record
        body = {
            "reference_id": call_id,
            "status": stored.status if stored else "dialing",
            "flow": asked.flow.id,
            "telesign": {"reference_id": answer.reference_id, "status": answer.status},
        }
        return JSONResponse(body, status_code=201, headers={"Location": f"/calls/{call_id}"})

    def _refused(self, call_id: str, refused: placing.Refused) -> NoReturn:
        """Say that Telesign did not place the call (kept with its reason), and raise the error
        that tells the caller."""
        error = refused.error
        self.metrics.telesign_errors.labels(error.reason).inc()
        log.warning("call %s: %s", call_id, error)
        if refused.problem is not None:  # Telesign's answer is what the caller needs to hear
            log.error("call %s: its failure not stored: %s", call_id, refused.problem)
        if refused.ended:
            self.metrics.calls_ended.labels("failed").inc()
        status, code, name = TELESIGN_REFUSALS.get(
            error.reason, (502, "TELESIGN_UNAVAILABLE" if error.reason.startswith("http_5") else "TELESIGN_ERROR", "")
        )
        message = str(error) + (f"; see GET /calls/{call_id} for what happens next" if refused.may_be_placed else "")
        errors = [FieldError(name, code, str(error))] if name else []
        headers = {"Retry-After": "1"} if status == 503 else {}
        raise ApiError(status, code, message, errors, extra={"reference_id": call_id}, headers=headers)

    async def get_call(self, request: Request, body: bytes) -> Response:
        asked = request.path_params["reference_id"]
        record = await run_in_threadpool(lookup, self.store, asked)
        if record is None:
            raise ApiError(
                404,
                "CALL_NOT_FOUND",
                f"no call with reference_id {asked!r} (ours or Telesign's)",
                [FieldError("reference_id", "CALL_NOT_FOUND", "no such call")],
            )
        steps = await run_in_threadpool(self.store.transcript, record.reference_id)
        flow = self.flows().get(record.state.flow)
        shown = {
            **call_summary(record, flow),
            "variables": shown_variables(record, flow),
            "transcript": [timed_step(step) for step in steps],
        }
        if record.v1 is not None:  # Telesign plays a v1 call itself: what it reported takes the transcript's place
            shown["v1"] = v1_summary(record.v1)
        return JSONResponse(shown)

    async def list_calls(self, request: Request, body: bytes) -> Response:
        query = request.query_params
        errors = [
            FieldError(name, "PARAMETER_INVALID", "unknown parameter; the parameters are flow, status, limit")
            for name in query
            if name not in ("flow", "status", "limit")
        ]
        status = query.get("status")
        if status is not None and status not in STATUSES:
            errors.append(
                FieldError(
                    "status",
                    "PARAMETER_INVALID",
                    f"{status!r} is not a call status; the statuses are {', '.join(STATUSES)}",
                )
            )
        limit = query.get("limit", "50")
        if not LIMIT.fullmatch(limit) or not 1 <= int(limit) <= LIST_LIMIT:
            errors.append(FieldError("limit", "PARAMETER_INVALID", f"a whole number from 1 to {LIST_LIMIT}"))
        if errors:
            raise ApiError.of_fields(400, errors)
        records = await run_in_threadpool(
            lambda: self.store.recent(flow=query.get("flow"), status=status, limit=int(limit))
        )
        flows = self.flows()
        return JSONResponse({"calls": [call_summary(record, flows.get(record.state.flow)) for record in records]})

    async def list_flows(self, request: Request, body: bytes) -> Response:
        flows = self.flows()
        at = self.clock(time.time())
        return JSONResponse({"flows": [flow_summary(flows[name], at) for name in sorted(flows)]})

    async def flow_outcomes(self, request: Request, body: bytes) -> Response:
        flow = request.path_params["flow"]
        counts = await run_in_threadpool(lambda: self.store.counts(flow))
        if not counts and flow not in self.flows():
            raise ApiError(
                404,
                "FLOW_NOT_FOUND",
                f"no flow {flow!r} is served here and no call of it is stored. {hint_for(flow, self.flows())}The flows are: {', '.join(sorted(self.flows()))}",
            )
        return JSONResponse(outcomes(flow, counts, self.flows().get(flow)))


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _read(request: Request) -> bytes:
    if (problem := framing_problem(request)) is not None:
        raise ApiError(400, "PARAMETER_INVALID", problem)
    body = await read_limited(request)
    if body is None:
        raise ApiError(400, "PARAMETER_TOO_LONG", f"the body is larger than {MAX_BODY} bytes")
    return body
