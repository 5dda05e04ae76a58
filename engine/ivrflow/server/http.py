"""What every POST route shares: the one check that a body is JSON, reading a body no larger than
`MAX_BODY`, the signature check of a post from Telesign, and the small JSON error answers of the
webhook and the v1 callbacks."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ivrflow.server.metrics import Metrics
from ivrflow.server.webhook_auth import SECRET, WebhookAuth

log = logging.getLogger("ivrflow")

MAX_BODY = 64 * 1024


def is_json(request: Request) -> bool:
    """Whether the request says its body is JSON (`Content-Type: application/json`, any parameters)."""
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


async def read_limited(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The request's body, or None when it is larger than `limit` bytes (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return body


def error_json(reason: str) -> str:
    return json.dumps({"error": reason})


def refuse(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_json(reason), status_code=status, media_type="application/json", headers=headers)


@dataclass(frozen=True, slots=True)
class Refused:
    outcome: str  # for ivrflow_events_total: invalid, bad_signature
    response: Response


async def signed_body(request: Request, auth: WebhookAuth, metrics: Metrics) -> bytes | Refused:
    """The body of a post from Telesign (an event, a callback), or why it is refused: not JSON,
    too large, or not authenticated as the server's `auth` wants (Telesign's signature, or the
    secret in the path: ivrflow/server/webhook_auth.py)."""
    if not is_json(request):
        return Refused("invalid", refuse(415, "the body must be JSON with Content-Type: application/json"))
    body = await read_limited(request)
    if body is None:
        return Refused("invalid", refuse(413, f"the body is larger than {MAX_BODY} bytes"))
    headers = {name.lower(): value for name, value in request.headers.items()}
    problem = auth.problem(request.path_params.get("secret"), body, headers)
    if problem is not None:
        # Never the path itself: in secret mode it may hold (a near miss of) the secret.
        where = "/callbacks/v1" if request.url.path.startswith("/callbacks/v1") else "/webhook"
        log.warning("%s refused: %s; %s", where, problem, auth.advice(problem, headers))
        if auth.mode == SECRET:
            return Refused("bad_secret", refuse(401, "not authenticated"))
        metrics.signature_failures.inc()
        return Refused("bad_signature", refuse(401, "missing or wrong Telesign signature"))
    return body
