"""What every POST route shares: the one check that a body is JSON (its content type), the one
check of a body's framing, reading a body no larger than `MAX_BODY`, the signature check of a post
from Telesign, and the small JSON error answers of the webhook and the v1 callbacks. The body
itself is read by ivrflow/strictjson.py."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ivrflow.server.metrics import Metrics
from ivrflow.server.protocol import TIMED_OUT
from ivrflow.telesign.auth import Credentials, verify_callback
from ivrflow.telesign.facts import Header

log = logging.getLogger("ivrflow")

MAX_BODY = 64 * 1024


def is_json(request: Request) -> bool:
    """Whether the request says its body is JSON in UTF-8: `Content-Type: application/json`, the
    media type in any case (RFC 9110 §8.3.1), with no `charset` or `charset=utf-8` (RFC 8259 §8.1:
    JSON is UTF-8; a body said to be Latin-1 or UTF-16 is not read as UTF-8 by guessing)."""
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    if media_type.strip().lower() != "application/json":
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def framing_problem(request: Request) -> str | None:
    """Why the body's length is ambiguous (None: it is not). `Content-Length` together with
    `Transfer-Encoding` is refused, as RFC 9112 §6.3 allows: a proxy in front that takes the other
    header than we do would read a second, smuggled request out of this one. h11, uvicorn's
    parser, takes the chunked framing silently, so the app checks."""
    if "content-length" in request.headers and "transfer-encoding" in request.headers:
        return "the request has both Content-Length and Transfer-Encoding: send one of them"
    return None


async def read_limited(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The request's body, or None when it is larger than `limit` bytes (read no further than that).
    A client that leaves before its body is complete gets one warning line, with the path and the
    bytes that had arrived, and ClientDisconnect is raised on (the app answers it with nothing,
    see `gone`): the traceback uvicorn would log for it says nothing an operator can act on."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
    except ClientDisconnect:
        if not request.scope.get(TIMED_OUT):  # else the server closed it, and said so in its own line
            fields = {
                "path": request.url.path,
                "received": len(body),
                "declared": int(declared) if declared is not None and declared.isdigit() else None,
            }
            log.warning(
                "request aborted: the client left after %d bytes of its body", len(body), extra={"fields": fields}
            )
        raise
    return body


async def gone(request: Request, error: Exception) -> Response:
    """The app's answer to ClientDisconnect, which nobody receives: read_limited has logged it."""
    return Response(status_code=400)


def error_json(reason: str) -> str:
    return json.dumps({"error": reason})


def refuse(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_json(reason), status_code=status, media_type="application/json", headers=headers)


@dataclass(frozen=True, slots=True)
class Refused:
    outcome: str  # for ivrflow_events_total: invalid, bad_signature
    response: Response


async def signed_body(request: Request, credentials: Credentials | None, metrics: Metrics) -> bytes | Refused:
    """The body of a post from Telesign (an event, a callback), or why it is refused: not JSON,
    framed two ways, too large, or without Telesign's signature for this account (checked when
    the server has the account's credentials)."""
    if not is_json(request):
        return Refused(
            "invalid",
            refuse(
                415,
                "the body must be JSON in UTF-8, with Content-Type: application/json (no charset, or charset=utf-8)",
            ),
        )
    if (problem := framing_problem(request)) is not None:
        return Refused("invalid", refuse(400, problem))
    body = await read_limited(request)
    if body is None:
        return Refused("invalid", refuse(413, f"the body is larger than {MAX_BODY} bytes"))
    if credentials is not None and not verify_callback(
        credentials.api_key,
        body,
        request.headers.get(Header.AUTHORIZATION),
        request.headers.get(Header.TS_AUTHORIZATION),
        customer_id=credentials.customer_id,
    ):
        log.warning("%s refused: missing or wrong Telesign signature", request.url.path)
        metrics.signature_failures.inc()
        return Refused("bad_signature", refuse(401, "missing or wrong Telesign signature"))
    return body
