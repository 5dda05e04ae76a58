"""Any request to any endpoint, as a hostile client would make it (deep nesting, lone surrogates,
NUL, Unicode digits, huge and empty values, wrong types, odd content types and framings), with
and without the account's credentials or signature: never a 5xx, never a traceback, every
refusal a 4xx in its endpoint's error shape, and a refused request changes no call. In process
(create_app on a SQLite file); Telesign's dial is a stub that accepts, so no 5xx is Telesign's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ivrflow.server.calls_api
from inprocess import BASIC, KEY, InProcess, in_process, signed
from ivrflow.telesign.auth import basic_authorization, hmac_headers
from ivrflow.telesign.client import DialAnswer
from live_server import CALLER, CUSTOMER_ID, SUPPORT_NUMBER

WEBHOOKS = {"/webhook", "/callbacks/v1"}
ENDPOINTS = [
    ("POST", "/webhook"),
    ("POST", "/callbacks/v1"),
    ("POST", "/calls"),
    ("GET", "/calls"),
    ("GET", "/calls/{reference_id}"),
    ("GET", "/flows"),
    ("GET", "/flows/{flow}/outcomes"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
]

# Text as a hostile client writes it: lone surrogates, NUL and other controls, digits of other
# scripts, emoji, very long, empty.
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["", " ", "\u0000", "\ud800", "x\udc00", "²", "٣", "😀", " 1", "1\n", "abc", "*#", "1", "seed", "x" * 600]
    ),
)
URL_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    st.sampled_from(["", "\u0000", "²", "٣", "-1", "0", "9" * 50, "seed", "support-menu"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)

EVENT_NAMES = (
    st.sampled_from(
        [
            "incoming_call",
            "speak_completed",
            "play_completed",
            "dial_completed",
            "call_leg_completed",
            "call_completed",
            "x\udc00",
            "other",
        ]
    )
    | TEXT
)
EVENTS = st.fixed_dictionaries(
    {"event": EVENT_NAMES, "reference_id": st.sampled_from(["seed", "new"]) | TEXT},
    optional={
        "external_id": st.none() | TEXT,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "to": st.just(SUPPORT_NUMBER) | TEXT,
                "from": st.just(CALLER) | TEXT,
                "status": TEXT,
                "collected_digits": st.none() | TEXT | JSON_VALUES,
            },
        )
        | JSON_VALUES,
    },
)
# Events Telesign could have sent but for one field: they get past the schema to the store.
PLAUSIBLE_EVENTS = st.one_of(
    st.builds(
        lambda ref, caller: {
            "event": "incoming_call",
            "reference_id": ref,
            "data": {"to": SUPPORT_NUMBER, "from": caller},
        },
        st.sampled_from(["seed", "new"]) | TEXT,
        st.just(CALLER) | TEXT,
    ),
    st.builds(
        lambda ref, digits: {"event": "speak_completed", "reference_id": ref, "data": {"collected_digits": digits}},
        st.just("seed") | TEXT,
        st.sampled_from(["1", "2", "3", "9", "*", "#", ""]) | TEXT,
    ),
    st.builds(
        lambda ref, external: {
            "event": "dial_completed",
            "reference_id": ref,
            "external_id": external,
            "data": {"status": "answered"},
        },
        st.just("seed") | TEXT,
        TEXT,
    ),
)
REPORTS = st.fixed_dictionaries(
    {
        "reference_id": st.sampled_from(["seed", "r1"]) | TEXT,
        "status": st.fixed_dictionaries(
            {"code": st.sampled_from([100, 101, 103, 150]) | JSON_VALUES}, optional={"updated_on": TEXT}
        )
        | JSON_VALUES,
    },
    optional={
        "external_id": st.none() | TEXT,
        "voice": st.fixed_dictionaries({}, optional={"user_input": st.none() | TEXT}) | JSON_VALUES,
    },
)
CALL_REQUESTS = st.fixed_dictionaries(
    {
        "flow": st.sampled_from(["refill-reminder", "appointment-reminder", "nope"]) | TEXT,
        "to": st.sampled_from(["+15552010200"]) | TEXT,
    },
    optional={
        "caller_id": TEXT,
        "vars": st.dictionaries(
            st.sampled_from(["drug", "pharmacy", "called"]) | TEXT, SCALARS | JSON_VALUES, max_size=3
        )
        | JSON_VALUES,
    },
)


HUGE = b"<over 64 KiB>"  # stands for a body over the limit, made in the test: a 70 kB example is too long to print


def _deep(depth: int) -> bytes:
    return (
        b'{"event": "incoming_call", "reference_id": "deep", "data": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    )


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()  # lone surrogates stay escapes (`\ud800`), as a hostile client writes them


BODIES = st.one_of(
    st.one_of(PLAUSIBLE_EVENTS, EVENTS, REPORTS, CALL_REQUESTS, JSON_VALUES).map(_encode),
    st.integers(1, 12_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(20, 2_000).map(_deep),
    st.sampled_from(
        [
            b"",
            b"NaN",
            b"[Infinity]",
            b'{"a": -Infinity}',
            b"1e400",
            b"{",
            b"\xff\xfe",
            b"\x00",
            b'"\\ud800"',
            b'{"event": "\\udc00x"}',
        ]
    ),
    st.tuples(
        st.one_of(EVENTS, CALL_REQUESTS).map(json.dumps),
        st.sampled_from(["utf-16", "utf-16-le", "utf-8-sig", "utf-32"]),
    ).map(lambda pair: pair[0].encode(pair[1])),
    st.binary(max_size=200),
    st.just(HUGE),
)
CONTENT_TYPES = st.just("application/json") | st.sampled_from(
    [
        None,
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        ";",
        "application/json;;charset",
        "\u00e9",
    ]
)
AUTH = st.just("valid") | st.sampled_from(
    ["none", "other_account", "wrong", "garbage"]
)  # half the requests get past the door


def _headers(method: str, path: str, body: bytes, content_type: str | None, auth: str, chunked: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if path in WEBHOOKS:
        if auth in ("valid", "other_account"):
            customer = CUSTOMER_ID if auth == "valid" else "AAAAAAAA-BBBB-CCCC-1234-AB1234567890"
            headers["Authorization"] = signed(body, customer)["Authorization"]
        elif auth == "wrong":
            headers["Authorization"] = f"TSA {CUSTOMER_ID}:AAAA"
        elif auth == "garbage":
            headers["X-TS-Authorization"] = "\u00ff" * 3
    elif auth == "valid":
        if method == "POST" and len(body) % 2:  # now and then Telesign's TSA signature instead of Basic
            signing = hmac_headers(
                CUSTOMER_ID, KEY, method, path, body.decode("utf-8", "replace"), content_type=content_type or ""
            )
            headers.update({name: value for name, value in signing.items() if name != "Content-Type"})
        else:
            headers.update(BASIC)
    elif auth == "other_account":
        headers["Authorization"] = basic_authorization("evil", KEY)
    elif auth in ("wrong", "garbage"):
        headers["Authorization"] = "TSA :" if auth == "wrong" else "Basic \u00ff"
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        headers["Content-Length"] = str(len(body))
    return headers


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    with pytest.MonkeyPatch.context() as patch:
        # Telesign accepts every dial: no 5xx here can be Telesign's, and nothing leaves the machine.
        patch.setattr(
            ivrflow.server.calls_api,
            "send_dial",
            lambda *args, **kwargs: DialAnswer(uuid.uuid4().hex.upper(), "dial_accepted"),
        )
        with in_process(tmp_path_factory.mktemp("hostile") / "calls.db") as running:
            assert (
                running.webhook(
                    _encode(
                        {
                            "event": "incoming_call",
                            "reference_id": "seed",
                            "data": {"to": SUPPORT_NUMBER, "from": CALLER},
                        }
                    )
                ).status_code
                == 200
            )
            assert (
                running.webhook(
                    _encode({"event": "speak_completed", "reference_id": "seed", "data": {"collected_digits": "3"}})
                ).status_code
                == 200
            )
            yield running


def _shape_of_refusal(path: str, answer: Any) -> None:
    body = answer.json()
    if path in WEBHOOKS:
        assert (
            isinstance(body, dict) and list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
        ), answer.text
    else:
        status = body["ResponseStatus"]
        assert (
            isinstance(status["ErrorCode"], str)
            and isinstance(status["Message"], str)
            and status["Message"]
            and isinstance(status["Errors"], list)
        ), answer.text


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    endpoint=st.sampled_from(
        ENDPOINTS[:3] * 2 + ENDPOINTS[:1] + ENDPOINTS
    ),  # the POST routes, which read a body, more often
    body=BODIES,
    content_type=CONTENT_TYPES,
    auth=AUTH,
    chunked=st.sampled_from([False] * 9 + [True]),
    path_value=st.sampled_from(["seed", "support-menu"]) | URL_TEXT,
    query=st.dictionaries(st.sampled_from(["limit", "flow", "status"]) | URL_TEXT, URL_TEXT, max_size=3),
)
def test_any_request_is_answered_or_refused_in_its_shape_and_a_refusal_changes_no_call(
    app: InProcess,
    endpoint: tuple[str, str],
    body: bytes,
    content_type: str | None,
    auth: str,
    chunked: bool,
    path_value: str,
    query: dict[str, str],
) -> None:
    method, template = endpoint
    if body == HUGE:
        body = b'{"a": "' + b"x" * 70_000 + b'"}'
    path = template.replace("{reference_id}", quote(path_value, safe="")).replace("{flow}", quote(path_value, safe=""))
    if "{" in template and (not path_value.strip() or set(path_value) & set("/?#\\") or path_value in (".", "..")):
        path = template.replace("{reference_id}", "seed").replace("{flow}", "support-menu")
    sent = body if method == "POST" or len(body) < 100 else b""
    headers = _headers(method, path, sent, content_type, auth, chunked)
    before = app.calls()
    raw_headers = {
        name: value.encode("latin-1") for name, value in headers.items()
    }  # as sent on the wire: any byte, not only ASCII
    answer = app.client.request(method, path, content=sent or None, headers=raw_headers, params=query)
    event(f"{template} {answer.status_code}")
    assert answer.status_code < 500, answer.text
    assert "Traceback" not in answer.text
    if answer.status_code >= 400:
        _shape_of_refusal(template, answer)
        assert app.calls() == before, f"{method} {path} was refused ({answer.status_code}) but changed a call"


def test_metrics_still_answer_after_all_that(app: InProcess) -> None:
    seen = app.metrics()
    labels = {dict(labels).get("event") for (name, labels) in seen if name == "ivrflow_events_total"}
    assert labels <= {
        "incoming_call",
        "speak_completed",
        "play_completed",
        "dial_completed",
        "call_leg_completed",
        "call_completed",
        "other",
        "unknown",
        "v1_callback",
    }
