"""What every POST route shares: the one check that a body is JSON, reading a body no larger than
`MAX_BODY`, the signature check of a post from Telesign, and the small JSON error answers of the
webhook and the v1 callbacks."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ivrflow.server.metrics import Metrics
from ivrflow.server.protocol import TIMED_OUT
from ivrflow.telesign.auth import verify_callback
from ivrflow.telesign.facts import Header

log = logging.getLogger("ivrflow")

MAX_BODY = 64 * 1024


def is_json(request: Request) -> bool:
    """Whether the request says its body is JSON (`Content-Type: application/json`, any parameters)."""
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


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
            fields = {"path": request.url.path, "received": len(body), "declared": int(declared) if declared is not None and declared.isdigit() else None}
            log.warning("request aborted: the client left after %d bytes of its body", len(body), extra={"fields": fields})
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


async def signed_body(request: Request, api_key: str | None, metrics: Metrics) -> bytes | Refused:
    """The body of a post from Telesign (an event, a callback), or why it is refused: not JSON,
    too large, or without Telesign's signature (checked when the server has the API key)."""
    if not is_json(request):
        return Refused("invalid", refuse(415, "the body must be JSON with Content-Type: application/json"))
    body = await read_limited(request)
    if body is None:
        return Refused("invalid", refuse(413, f"the body is larger than {MAX_BODY} bytes"))
    if api_key is not None and not verify_callback(api_key, body, request.headers.get(Header.AUTHORIZATION), request.headers.get(Header.TS_AUTHORIZATION)):
        log.warning("%s refused: missing or wrong Telesign signature", request.url.path)
        metrics.signature_failures.inc()
        return Refused("bad_signature", refuse(401, "missing or wrong Telesign signature"))
    return body
