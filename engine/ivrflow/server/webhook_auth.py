"""How the server knows a post to /webhook or /callbacks/v1 comes from Telesign: the operator's
choice, because whether Telesign signs voice events is a setting of the account, not a fact.

Telesign's Voice API reference says authenticating its event posts "is not required" and
recommends its Digest (TSA HMAC) signatures; its callback-authentication page says callbacks are
signed. An account that does not sign would see every event refused by a server that wants a
signature. So the server takes one of:

    signature  Telesign's signature of the body with the API key (`Authorization: TSA <customer
               id>:<signature>` or `X-TS-Authorization`). The default when the server has
               Telesign credentials: what every deployment did before the choice existed.
    secret     a long random secret in the URL's path: events at /webhook/<secret>, callbacks at
               /callbacks/v1/<secret>, compared in constant time; what webhook providers that do
               not sign advise. The secret comes from IVRFLOW_WEBHOOK_SECRET only (a command line
               is visible to every user of the host in `ps`).
    none       nothing checked: a server without credentials, on loopback or with --insecure.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from ivrflow.errors import UsageError
from ivrflow.telesign.auth import Credentials, verify_callback
from ivrflow.telesign.facts import Header

SIGNATURE, SECRET, NONE = "signature", "secret", "none"
MODES = (SIGNATURE, SECRET)
MIN_SECRET = 32  # characters: `secrets.token_urlsafe(32)` gives 43, about 256 bits
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")  # what a path segment carries unescaped
# Headers that may carry a sender's credentials; a refusal's log line names those an event carried.
AUTH_HEADERS = re.compile(r"authorization|signature|auth|token|x-ts-|secret|api-key|^date$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class WebhookAuth:
    mode: str  # SIGNATURE, SECRET or NONE
    credentials: Credentials | None = None  # the account whose signature is checked
    secret: str = ""

    @classmethod
    def choose(cls, asked: str | None, credentials: Credentials | None, secret: str | None) -> WebhookAuth:
        """The authentication `ivrflow serve` runs with: `asked` (--webhook-auth), else the
        signature when there is an API key, else nothing. Raises UsageError for a choice that
        cannot work: a signature without the API key, a secret missing, short or not URL-safe."""
        mode = asked or (SIGNATURE if credentials else NONE)
        if mode == SIGNATURE and not credentials:
            raise UsageError(
                "ivrflow serve: --webhook-auth signature needs TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY (the signature is made with the API key)"
            )
        if mode == SECRET:
            if not secret or len(secret) < MIN_SECRET or not SECRET_CHARACTERS.fullmatch(secret):
                raise UsageError(
                    f"ivrflow serve: --webhook-auth secret needs IVRFLOW_WEBHOOK_SECRET: at least {MIN_SECRET} characters of letters, digits, - and _ "
                    '(make one with: python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
                )
            return cls(SECRET, credentials, secret)
        return cls(mode, credentials if mode == SIGNATURE else None)

    def describe(self) -> str:
        """What is in force, for the line the server logs at start (never the secret itself)."""
        if self.mode == SIGNATURE:
            return "events and callbacks must carry Telesign's signature (--webhook-auth signature): register /webhook and /callbacks/v1"
        if self.mode == SECRET:
            return "events and callbacks are taken only at /webhook/$IVRFLOW_WEBHOOK_SECRET and /callbacks/v1/$IVRFLOW_WEBHOOK_SECRET (--webhook-auth secret); signatures are not checked"
        return "events and callbacks are NOT authenticated (no Telesign credentials)"

    def problem(self, path_secret: str | None, body: bytes, headers: dict[str, str]) -> str | None:
        """Why a post is refused (None: it is Telesign's, as far as this mode can tell). `path_secret`:
        the secret segment of the URL it came to (None: it came to the bare path). `headers`: by
        lower-case name."""
        if self.mode == SECRET:
            if path_secret is None:
                return "no secret in the path"
            return (
                None if hmac.compare_digest(path_secret.encode(), self.secret.encode()) else "wrong secret in the path"
            )
        if self.mode != SIGNATURE or self.credentials is None:
            return None
        account = self.credentials
        signed = verify_callback(
            account.api_key,
            body,
            headers.get(Header.AUTHORIZATION.lower()),
            headers.get(Header.TS_AUTHORIZATION.lower()),
            customer_id=account.customer_id,
        )
        return None if signed else "missing or wrong Telesign signature"

    def advice(self, problem: str, headers: dict[str, str]) -> str:
        """The log line's end for a refused post: the authentication headers it carried (names,
        never values) and the option that would accept it."""
        names = sorted({name for name in headers if AUTH_HEADERS.search(name)})
        carried = f"it carried {', '.join(names)}" if names else "it carried no authentication header"
        signed = any(name in (Header.AUTHORIZATION.lower(), Header.TS_AUTHORIZATION.lower()) for name in names)
        if self.mode == SIGNATURE:
            if signed:
                fix = "check that TELESIGN_API_KEY is this account's key; if Telesign signs differently, --webhook-auth secret (with IVRFLOW_WEBHOOK_SECRET, and the URL /webhook/<secret> registered) accepts events without a signature"
            else:
                fix = "this account may not sign its voice events: --webhook-auth secret (with IVRFLOW_WEBHOOK_SECRET, and the URL /webhook/<secret> registered with Telesign) would accept them"
        else:
            fix = "register the URL with the secret (/webhook/<secret>, /callbacks/v1/<secret>) with Telesign"
            if signed:
                fix += "; or, since it is signed, --webhook-auth signature would check its signature instead"
        return f"{carried}; {fix}"
