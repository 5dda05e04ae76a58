"""Who may ask the studio for what.

`ivrflow studio` listens on loopback, but any web page the author visits can send requests to
loopback too. So: the Host must be a loopback name (a DNS-rebound name is refused, and with it
any page that could read our answers); a request that changes something must come from the
studio's own page (Origin, or else the browser's Sec-Fetch-Site, says so); and a save must carry
the token that only the studio's page was given, tied to the session cookie set with the page.
Inside `ivrflow serve`, the calls API's credentials guard every page (the server passes them in).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SESSION_COOKIE = "ivrflow_studio"
TOKEN_HEADER = "x-studio-token"
SAFE_METHODS = ("GET", "HEAD")

# What a page inside `ivrflow serve` asks before anything is shown: None to go on, or the answer
# that refuses (a 401 that makes the browser ask for the calls API's credentials).
Guard = Callable[[Request], Awaitable[Response | None]]


def refuse(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def loopback_host(request: Request) -> bool:
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOOPBACK_NAMES


def same_origin(request: Request) -> bool:
    """Whether a request comes from a page of this server: its Origin names this host, or (no
    Origin) the browser says same-origin. A request with neither is no browser's cross-site request."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        return parts.scheme == request.url.scheme and parts.netloc == request.headers.get("host")
    site = request.headers.get("sec-fetch-site")
    return site is None or site in ("same-origin", "none")


class Sessions:
    """Per-session tokens: the page's cookie holds a random session id, the page itself the
    token derived from it; a save must show both (another site can make the browser send the
    cookie, but cannot read the page to learn the token)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def new(self) -> tuple[str, str]:
        session = secrets.token_urlsafe(24)
        return session, self.token(session)

    def token(self, session: str) -> str:
        return hmac.new(self._key, session.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, request: Request) -> bool:
        session = request.cookies.get(SESSION_COOKIE, "")
        given = request.headers.get(TOKEN_HEADER, "")
        return bool(session) and hmac.compare_digest(self.token(session), given)
