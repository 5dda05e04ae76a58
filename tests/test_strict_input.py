"""Hostile input gets a 4xx with a reason, never a 500, and changes no call: each probe of the
server as a hostile client would send it (most with a valid signature), in process against a real
SQLite file (and Redis where the store is what failed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from inprocess import BASIC, JSON, InProcess, in_process, signed
from live_server import CALLER, CUSTOMER_ID, SUPPORT_NUMBER
from redis_server import RedisServer

DEEP = b"[" * 10_000 + b"]" * 10_000


def incoming(reference: str = "c1", **data: object) -> dict[str, object]:
    return {"event": "incoming_call", "reference_id": reference, "data": {"to": SUPPORT_NUMBER, "from": CALLER, **data}}


def spoken(reference: str, digits: object) -> dict[str, object]:
    return {
        "event": "speak_completed",
        "reference_id": reference,
        "data": {"status": "speak_successful", "collected_digits": digits},
    }


def raw(event: dict[str, object]) -> bytes:
    """`event` as JSON, escapes kept as written (a lone surrogate stays `\\ud800`, NaN stays NaN)."""
    return json.dumps(event).encode()


def v1_report(reference_id: str, user_input: str | None = None) -> dict[str, object]:
    return {
        "reference_id": reference_id,
        "status": {"code": 150, "description": "", "updated_on": "2026-11-23T10:00:00.000000Z"},
        "errors": [],
        "voice": {"user_input": user_input},
    }


@pytest.fixture
def app(tmp_path: Path) -> Iterator[InProcess]:
    with in_process(tmp_path / "calls.db") as running:
        yield running


@pytest.fixture
def live(app: InProcess) -> InProcess:
    """The app with one inbound call waiting at the support menu for a key."""
    assert app.webhook(raw(incoming("live"))).status_code == 200
    return app


def refused(answer: object, status: int) -> str:
    """The reason of a refusal in the webhook's shape, checked to be one."""
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert "Traceback" not in answer.text  # type: ignore[attr-defined]
    reason = answer.json()["error"]  # type: ignore[attr-defined]
    assert isinstance(reason, str) and reason
    return reason


def api_refused(answer: object, status: int) -> str:
    """The message of a refusal in the calls API's shape, checked to be one."""
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    body = answer.json()["ResponseStatus"]  # type: ignore[attr-defined]
    assert body["ErrorCode"] and body["Message"]
    return str(body["Message"])


# --- 500 instead of 4xx -------------------------------------------------------------------------

DEEP_EVENT = raw(incoming("deep")).replace(b'"data": {', b'"data": {"x": ' + DEEP + b", ")
SURROGATES = [
    ("reference_id", raw(incoming("\ud800"))),
    ("external_id", raw({**incoming("c2"), "external_id": "\ud800"})),
    ("data.from", raw({**incoming("c3"), "data": {"to": SUPPORT_NUMBER, "from": "\ud800"}})),
    ("a key", raw(incoming("c4", x="\udfff\ud800"))),
]


@pytest.mark.parametrize("body", [DEEP, DEEP_EVENT], ids=["bare", "inside-an-event"])
def test_deep_nesting_on_the_webhook_is_a_400(app: InProcess, body: bytes) -> None:
    assert "deep" in refused(app.webhook(body), 400)
    assert app.calls() == {}


@pytest.mark.parametrize(("where", "body"), SURROGATES, ids=[where for where, _ in SURROGATES])
def test_a_lone_surrogate_in_an_event_is_a_400(app: InProcess, where: str, body: bytes) -> None:
    assert b"\\ud800" in body or b"\\udfff" in body
    refused(app.webhook(body), 400)
    assert app.calls() == {}


def test_a_lone_surrogate_in_the_keys_pressed_is_a_400_and_the_call_stays(live: InProcess) -> None:
    before = live.calls()
    refused(live.webhook(raw(spoken("live", "\ud800"))), 400)
    assert live.calls() == before


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_literals_are_a_400(app: InProcess, literal: bytes) -> None:
    body = raw(incoming("nan")).replace(b'"data": {', b'"data": {"x": ' + literal + b", ")
    refused(app.webhook(body), 400)
    assert app.calls() == {}


def test_nul_in_an_id_is_a_400(app: InProcess) -> None:
    refused(app.webhook(raw(incoming("a\u0000b"))), 400)
    assert app.calls() == {}


def test_an_odd_event_name_is_counted_as_other_and_metrics_keep_answering(app: InProcess) -> None:
    refused(app.webhook(raw({"event": "x\udc00", "reference_id": "n1", "data": {}})), 400)
    assert app.webhook(raw({"event": 'x<"\n>', "reference_id": "n2", "data": {}})).status_code == 200
    seen = app.metrics()
    assert seen[("ivrflow_events_total", (("event", "other"), ("outcome", "ignored")))] == 1
    assert not [labels for (name, labels) in seen if name == "ivrflow_events_total" and ("event", 'x<"\n>') in labels]


def test_a_webhook_failure_is_a_500_in_its_shape_logged_and_counted(
    app: InProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    webhook = app.client.app.router.routes[0].endpoint.__self__  # type: ignore[attr-defined]
    monkeypatch.setattr(webhook, "locate_and_apply", broken)
    with caplog.at_level(logging.INFO):
        answer = app.webhook(raw(incoming("boom")))
    assert refused(answer, 500)
    lines = [record for record in caplog.records if record.name == "ivrflow.events"]
    assert len(lines) == 1 and lines[0].fields["status"] == 500 and lines[0].fields["outcome"] == "error"  # type: ignore[attr-defined]
    assert app.metrics()[("ivrflow_events_total", (("event", "incoming_call"), ("outcome", "error")))] == 1


def test_deep_nesting_and_surrogates_on_the_callbacks_are_a_400(app: InProcess) -> None:
    refused(app.callback(DEEP), 400)
    refused(app.callback(raw(v1_report("\ud800"))), 400)
    refused(app.callback(raw(v1_report("r1")).replace(b'"errors": []', b'"errors": NaN')), 400)


def test_deep_nesting_surrogates_and_nan_on_post_calls_are_a_400(app: InProcess) -> None:
    api_refused(app.api("POST", "/calls", DEEP), 400)
    api_refused(
        app.api("POST", "/calls", raw({"flow": "refill-reminder", "to": "+15552010200", "vars": {"drug": "\ud800"}})),
        400,
    )
    api_refused(
        app.api("POST", "/calls", b'{"flow": "refill-reminder", "to": "+15552010200", "vars": {"drug": NaN}}'), 400
    )
    assert app.calls() == {}


@pytest.mark.parametrize("limit", ["²", "٣", "1" * 5000, "-1", "0", "501", " 5", ""])
def test_a_limit_that_is_not_a_plain_number_is_a_400(app: InProcess, limit: str) -> None:
    answer = app.client.get("/calls", params={"limit": limit}, headers=BASIC)
    api_refused(answer, 400)
    assert [error["FieldName"] for error in answer.json()["ResponseStatus"]["Errors"]] == ["limit"]


def test_a_surrogate_reaches_no_redis_store(tmp_path: Path, redis_server: RedisServer) -> None:
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    with in_process(tmp_path / "unused.db", store_url=redis_server.url) as app:
        refused(app.webhook(raw(incoming("\ud800"))), 400)
        refused(app.callback(raw(v1_report("\ud800"))), 400)
        api_refused(
            app.api(
                "POST", "/calls", raw({"flow": "refill-reminder", "to": "+15552010200", "vars": {"drug": "\ud800"}})
            ),
            400,
        )
        assert app.calls() == {}


# --- content types and framing ----------------------------------------------------------------


def test_media_types_are_case_insensitive(app: InProcess) -> None:
    body = raw(incoming("case"))
    assert app.webhook(body, {**signed(body), "Content-Type": "APPLICATION/JSON; Charset=UTF-8"}).status_code == 200
    answer = app.api(
        "POST", "/calls", raw({"flow": "nope", "to": "+15552010200"}), {**BASIC, "Content-Type": "Application/Json"}
    )
    assert answer.json()["ResponseStatus"]["ErrorCode"] == "FLOW_NOT_FOUND"  # read as JSON


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "ascii", '"iso-8859-1"'])
def test_a_charset_other_than_utf8_is_refused(app: InProcess, charset: str) -> None:
    body = raw(incoming("cs"))
    assert "UTF-8" in refused(
        app.webhook(body, {**signed(body), "Content-Type": f"application/json; charset={charset}"}), 415
    )
    refused(app.callback(body, {**signed(body), "Content-Type": f"application/json; charset={charset}"}), 415)
    api_refused(
        app.api(
            "POST", "/calls", raw({"flow": "nope"}), {**BASIC, "Content-Type": f"application/json; charset={charset}"}
        ),
        400,
    )
    assert app.calls() == {}


@pytest.mark.parametrize(
    "encoded",
    [
        json.dumps(incoming("u16")).encode("utf-16"),
        json.dumps(incoming("u16")).encode("utf-16-le"),
        b"\xef\xbb\xbf" + raw(incoming("bom")),
    ],
    ids=["utf-16", "utf-16-le", "bom"],
)
def test_a_utf16_body_or_a_bom_is_refused_with_a_reason(app: InProcess, encoded: bytes) -> None:
    assert "UTF-8" in refused(app.webhook(encoded), 400)
    refused(app.callback(encoded), 400)
    assert "UTF-8" in api_refused(app.api("POST", "/calls", encoded), 400)
    assert app.calls() == {}


def test_content_length_with_chunked_is_refused(app: InProcess) -> None:
    body = raw(incoming("te"))
    both = {"Content-Length": str(len(body)), "Transfer-Encoding": "chunked"}
    assert "Transfer-Encoding" in refused(app.webhook(body, {**signed(body), **both}), 400)
    refused(app.callback(body, {**signed(body), **both}), 400)
    api_refused(app.api("POST", "/calls", raw({"flow": "nope"}), {**JSON, **BASIC, **both}), 400)
    assert app.calls() == {}


# --- the account's customer id ----------------------------------------------------------------


@pytest.mark.parametrize(
    "customer_id", ["evil", "", "AAAAAAAA-BBBB-CCCC-1234-AB1234567890", CUSTOMER_ID.lower(), CUSTOMER_ID + " "]
)
def test_a_signature_naming_another_account_is_a_401(app: InProcess, customer_id: str) -> None:
    body = raw(incoming("cid"))
    refused(app.webhook(body, signed(body, customer_id)), 401)
    report = raw(v1_report("cid"))
    refused(app.callback(report, signed(report, customer_id)), 401)
    assert app.calls() == {}
    assert app.metrics()[("ivrflow_signature_failures_total", ())] == 2


# --- only keys a phone can send ---------------------------------------------------------------


@pytest.mark.parametrize("digits", ["abc", "\u0000", "😀", " 1", "1 ", "1\n", "²", "٣", "A", 1, ["1"]])
def test_collected_digits_that_are_not_keys_are_refused_and_never_stored(live: InProcess, digits: object) -> None:
    before = live.calls()
    refused(live.webhook(raw(spoken("live", digits))), 400)
    assert live.calls() == before
    shown = live.api("GET", "/calls/live", headers=BASIC).json()
    assert [step for step in shown["transcript"] if "press" in step] == []


@pytest.mark.parametrize("digits", ["1", "*", "#", "", None])
def test_keys_a_phone_sends_are_taken(live: InProcess, digits: str | None) -> None:
    assert live.webhook(raw(spoken("live", digits))).status_code == 200


@pytest.mark.parametrize("user_input", ["a", " ", "😀", "1\u0000"])
def test_a_v1_report_of_a_key_no_phone_sends_is_refused(app: InProcess, user_input: str) -> None:
    refused(app.callback(raw(v1_report("k1", user_input))), 400)


# --- every refusal counted and logged ---------------------------------------------------------


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, object]]:
    return [
        record.fields
        for record in caplog.records
        if record.name == logger and isinstance(getattr(record, "fields", None), dict)
    ]  # type: ignore[attr-defined]


def test_callback_refusals_are_one_log_line_each_and_counted(app: InProcess, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        app.callback(DEEP)
        app.callback(b"{}", {"Content-Type": "text/plain"})
    lines = _lines(caplog, "ivrflow.events")
    assert [(line["event"], line["outcome"], line["status"]) for line in lines] == [
        ("v1_callback", "invalid", 400),
        ("v1_callback", "invalid", 415),
    ]
    assert app.metrics()[("ivrflow_events_total", (("event", "v1_callback"), ("outcome", "invalid")))] == 2


def test_calls_api_refusals_are_one_log_line_each_and_counted(app: InProcess, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        app.api("POST", "/calls", DEEP)
        app.client.get("/calls", params={"limit": "²"}, headers=BASIC)
        app.client.get("/flows")  # no credentials
    lines = _lines(caplog, "ivrflow.api")
    assert [(line["route"], line["status"], line["code"]) for line in lines] == [
        ("POST /calls", 400, "PARAMETER_INVALID"),
        ("GET /calls", 400, "PARAMETER_INVALID"),
        ("GET /flows", 401, "UNAUTHORIZED"),
    ]
    seen = app.metrics()
    assert seen[("ivrflow_api_refusals_total", (("route", "POST /calls"), ("status", "400")))] == 1
    assert seen[("ivrflow_api_refusals_total", (("route", "GET /calls"), ("status", "400")))] == 1
    assert seen[("ivrflow_api_refusals_total", (("route", "GET /flows"), ("status", "401")))] == 1


def test_uvicorn_passes_both_framings_on_and_the_app_refuses_them(tmp_path: Path) -> None:
    """h11, uvicorn's parser, does not refuse Content-Length with Transfer-Encoding: chunked (it
    takes the chunked body); the app does, over a real socket."""
    import socket

    from live_server import start, stop

    served = start(tmp_path / "framing.db")
    try:
        body = raw(incoming("framed"))
        chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        head = f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        port = int(served.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(head.encode() + chunked)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert b"Transfer-Encoding" in answer
    finally:
        stop(served)
