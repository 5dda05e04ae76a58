"""The server fuzzed from its own OpenAPI document with Schemathesis: a real `ivrflow serve`
process with the account's credentials (every request signed as the document says: Basic or
Telesign's TSA signature on the calls API, Telesign's body signature on its webhook and
callbacks), dialling through the fake Telesign, whose carrier plays the calls it places against
the server's webhook. Every operation, positive and negative data, and the stateful links from a
placed call to reading it and from a started check to its record; no 5xx, and every answer
conforms to the document. The paths with the webhook secret exist only on a server run with
`--webhook-auth secret`: their requests go to a second server, in that mode, with the real secret
in every other one (the rest are wrong secrets, refused).

POST /checks is fuzzed like POST /calls, with the same bounded examples: a request it takes
places a test call through the fake (to a number that does not answer, or to PATIENT) and starts a
recording, and both are bounded by the server itself (at most 3 recordings are held, each of at
most 200 posts for 15 minutes), so fuzzing cannot make it hold more; GET /checks/{check_id} then
reads records of real test calls through the link from the 201.

Bounded to run in about a minute on two cores: FUZZ examples per operation, STEPS calls per
stateful scenario. Problems it found are kept as regression tests in tests/test_openapi.py."""

from __future__ import annotations

import base64
import itertools
import os
import re
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

import openapi_check
from conftest import FLOWS
from fake_telesign import FakeTelesign, running
from ivrflow.server.flows import Flows
from ivrflow.server.openapi import document
from ivrflow.telesign.auth import basic_authorization, callback_signature, hmac_headers
from ivrflow.tools.carrier import Phone
from live_server import CUSTOMER_ID, Server, start, stop

KEY = base64.b64encode(b"schemathesis-test-key-32-bytes!!").decode()
FUZZ = int(os.environ.get("IVRFLOW_FUZZ_EXAMPLES", "100"))  # examples per operation in the fuzzing phase
STEPS = 6  # calls in one stateful scenario
SCENARIOS = 40
PATIENT = "+15552010200"  # answers, and presses 1
SIGNED_BY_TELESIGN = {"/webhook", "/callbacks/v1"}
WITH_SECRET = {"/webhook/{secret}", "/callbacks/v1/{secret}"}  # authenticated by the secret alone: sent unsigned
SECRET = "schemathesis_secret-0123456789abcdefghijklmnop"  # as IVRFLOW_WEBHOOK_SECRET: 32 characters or more
OPEN = {"/healthz", "/metrics", "/openapi.json"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    use_after_free,
    unsupported_method,
    missing_required_header,
]


SENT: dict[str, int] = {}  # requests sent, by method and path (for the report: `pytest -s` prints them)


class Signed(requests.auth.AuthBase):
    """Each request signed with the account's credentials, as the document's security schemes say:
    Telesign's signature of the body on its webhook and callbacks; on the calls API, Basic and
    the TSA signature in turn."""

    def __init__(self) -> None:
        self.turn = itertools.count()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        path = urlsplit(request.url or "").path
        found = openapi_check.operation(request.method or "", path)
        name = f"{request.method} {found[0]}" if found else "other methods"
        SENT[name] = SENT.get(name, 0) + 1
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        if found and found[0] in WITH_SECRET:
            pass
        elif path in SIGNED_BY_TELESIGN:
            request.headers["Authorization"] = f"TSA {CUSTOMER_ID}:{callback_signature(KEY, raw)}"
            request.headers.pop("X-TS-Authorization", None)
        elif path not in OPEN and next(self.turn) % 2:
            content_type = request.headers.get("Content-Type", "")
            signing = hmac_headers(
                CUSTOMER_ID,
                KEY,
                request.method or "GET",
                path,
                raw.decode("utf-8", "replace"),
                content_type=content_type,
            )
            request.headers.update({name: value for name, value in signing.items() if name != "Content-Type"})
        elif path not in OPEN:
            request.headers["Authorization"] = basic_authorization(CUSTOMER_ID, KEY)
        return request


def credentials(response: Any) -> dict[str, str]:
    """The credentials the session signed a request with, as the headers Schemathesis is told
    were sent: its `ignored_auth` check then knows them for the account's (not values it made up),
    and probes the operation without them, and with values of its own, expecting a 401."""
    sent = response.request.headers
    return {name: sent[name] for name in ("Authorization", "X-TS-Authorization") if name in sent}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelesign]:
    with running(FakeTelesign(CUSTOMER_ID, KEY, phones={PATIENT.lstrip("+"): Phone(keys=["1"])})) as serving:
        yield serving


@pytest.fixture(scope="module")
def server(fake: FakeTelesign, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running_server = start(
        tmp_path_factory.mktemp("schemathesis") / "calls.db",
        api_key=KEY,
        telesign=fake.url,
        options=("--log-format", "text", "--dial-timeout", "5"),
    )
    fake.webhook = f"{running_server.url}/webhook"
    try:
        yield running_server
    finally:
        print(
            f"\nSchemathesis sent {sum(SENT.values())} requests (auth probes not counted):", dict(sorted(SENT.items()))
        )
        log = stop(running_server)
        assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def secret_server(fake: FakeTelesign, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same server run with `--webhook-auth secret`: the one with the paths with the secret."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVRFLOW_WEBHOOK_SECRET", SECRET)
        running_server = start(
            tmp_path_factory.mktemp("schemathesis-secret") / "calls.db",
            api_key=KEY,
            telesign=fake.url,
            options=("--log-format", "text", "--dial-timeout", "5", "--webhook-auth", "secret"),
        )
    try:
        yield running_server
        # Both kinds of case got through: wrong secrets refused, and posts the secret let in.
        metrics = httpx.get(f"{running_server.url}/metrics", timeout=10).text
        outcomes = set(re.findall(r'^ivrflow_events_total\{[^}]*outcome="(\w+)"[^}]*\} [1-9]', metrics, re.MULTILINE))
        assert "bad_secret" in outcomes and outcomes & {"answered", "ignored", "unknown_call", "recorded"}, outcomes
    finally:
        log = stop(running_server)
        assert "Traceback" not in log and SECRET not in log, log


def target(case: schemathesis.Case, server: Server, secret_server: Server) -> str:
    """Where a case goes: a path with the secret to the server that has it, with the real secret in
    every other case (chosen by the case itself, so that Hypothesis replays it the same)."""
    if case.path not in WITH_SECRET:
        return server.url
    if zlib.crc32(repr((case.body, case.path_parameters)).encode()) % 2 == 0:
        case.path_parameters = {**(case.path_parameters or {}), "secret": SECRET}
    return secret_server.url


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as signed:
        signed.auth = Signed()
        yield signed


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "all", "max-examples": FUZZ, "database": "none", "deterministic": True},
            "phases": {
                "coverage": {"enabled": True},
                "examples": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"max-steps": STEPS, "inference": {"algorithms": ["location-headers"]}},
            },
        }
    )


def _flows() -> list[str]:
    flows = Flows(FLOWS)
    assert not flows.load()
    return sorted(flows.current)


# The document the server serves (test_the_document_is_the_one_served checks it is): built here,
# not fetched, because Schemathesis's pytest plugin makes one test per operation when the module
# is collected. (Its lazy, fixture-loaded schema does not run under pytest 9.)
DOCUMENT = document(_flows())
schema = schemathesis.openapi.from_dict(DOCUMENT, config=_config())


def test_the_document_is_the_one_served(server: Server) -> None:
    assert httpx.get(f"{server.url}/openapi.json", timeout=10).json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck)
)  # explicit: the CI profile's 200 would take minutes
def test_every_operation_answers_as_its_document_says(
    case: schemathesis.Case, server: Server, secret_server: Server, session: requests.Session
) -> None:
    response = case.call(base_url=target(case, server, secret_server), session=session, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=credentials(response))


def test_a_placed_call_is_then_read(
    server: Server, secret_server: Server, session: requests.Session, fake: FakeTelesign
) -> None:
    """The stateful phase: the links from POST /calls's 201 to GET /calls/{reference_id} and from POST
    /checks's to GET /checks/{check_id} (and any other sequence of operations)."""
    machine = schema.as_state_machine()

    class Scenario(machine):  # type: ignore[valid-type,misc]
        def before_call(self, case: schemathesis.Case) -> None:
            # A generated call request names a served flow and a number the fake dials about never:
            # every other one is a call the fake places, so that the link to reading it is followed.
            # (Chosen by the generated body itself, so that Hypothesis replays a scenario the same.)
            if (case.method, case.path) == ("POST", "/calls") and zlib.crc32(repr(case.body).encode()) % 2 == 0:
                case.body = {"flow": "appointment-reminder", "to": PATIENT}

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": target(case, server, secret_server), "session": session, "timeout": 30}

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            # Without the signing session: the auth probes of `ignored_auth` must go unsigned.
            case.validate_response(response, checks=CHECKS, headers=credentials(response), recorder=self.recorder)

    before = len(fake.received)
    Scenario.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    assert len(fake.received) > before, "no call was placed, so the link to reading it was never followed"
