"""Telesign's facts are written once, in ivrflow.telesign.facts: the schemas, which repeat some of
them for editors and request checks, agree with it; it loads no I/O; the adapter maps Telesign's
events and methods to and from the engine's own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from ivrflow.calls.events import CallEnded, DialDone, HangUp, LegEnded, NoAction, Speak, SpeakDone, Transfer
from ivrflow.language.schema_files import load_schema
from ivrflow.telesign import facts
from ivrflow.telesign.facts import EventName, Method
from ivrflow.telesign.v2 import CALL_EVENTS, WebhookEvent, action_json, method_of, to_engine_event


def _walk(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for sub in schema.values():
            yield from _walk(sub)
    elif isinstance(schema, list):
        for sub in schema:
            yield from _walk(sub)


def _values(name: str, key: str) -> set[Any]:
    return {part[key] for part in _walk(load_schema(name)) if key in part and not isinstance(part[key], (dict, list))}


def test_the_schemas_hold_telesigns_limits() -> None:
    for name in ("flow", "v1-voice-request", "v2-action"):
        assert facts.MAX_MESSAGE in _values(name, "maxLength"), name
        digits = f"[0-9]{{{facts.PHONE_DIGITS_MIN},{facts.PHONE_DIGITS_MAX}}}$"
        assert any(pattern.endswith(digits) for pattern in _values(name, "pattern")), name
        assert not any("{8," in p or ",15}" in p for p in _values(name, "pattern") if not p.endswith(digits)), name
    # Every long text a flow holds is a message, at Telesign's limit; the one other is an http
    # node's url, a limit of the engine's own (not Telesign's), checked apart.
    flow = load_schema("flow")
    url = flow["definitions"]["http"]["properties"]["url"]
    others = [
        part for part in _walk(flow) if part is not url and not isinstance(part.get("maxLength", 0), (dict, list))
    ]
    assert {part["maxLength"] for part in others if part.get("maxLength", 0) > 1000} == {facts.MAX_MESSAGE}
    assert url["maxLength"] == 2000 and str(url["pattern"]).startswith("^https?://")
    assert facts.MAX_CALL_DURATION in _values("flow", "maximum")


def test_the_schemas_list_telesigns_languages_voices_and_types() -> None:
    flow, v1 = load_schema("flow")["properties"], load_schema("v1-voice-request")["properties"]
    assert load_schema("flow")["definitions"]["languageTag"]["enum"] == list(facts.LANGUAGES)
    assert flow["language"]["default"] == facts.DEFAULT_LANGUAGE
    assert set(v1["voice"]["enum"]) == {facts.voice_tag(language) for language in facts.LANGUAGES}
    assert flow["message_type"]["enum"] == v1["message_type"]["enum"] == list(facts.MESSAGE_TYPES)
    assert flow["message_type"]["default"] == facts.DEFAULT_MESSAGE_TYPE
    assert flow["lifecycle_event"]["enum"] == v1["account_lifecycle_event"]["enum"] == list(facts.LIFECYCLE_EVENTS)
    fields = {value for name, value in vars(facts.V1Field).items() if name.isupper()}
    assert fields == set(v1)
    methods = {value for name, value in vars(Method).items() if name.isupper()}
    assert set(load_schema("v2-action")["properties"]["method"]["enum"]) == methods


def test_the_facts_load_no_io() -> None:
    code = "import ivrflow.telesign.facts, sys; print(sorted(m for m in ('httpx', 'starlette', 'uvicorn', 'redis', 'sqlite3', 'prometheus_client') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def _event(name: str, **data: object) -> WebhookEvent:
    return WebhookEvent(name, "REF", None, dict(data))


def test_telesign_events_become_the_engines() -> None:
    assert to_engine_event(_event(EventName.SPEAK_COMPLETED, collected_digits="12")) == SpeakDone("12")
    assert to_engine_event(_event(EventName.PLAY_COMPLETED)) == SpeakDone("")
    assert to_engine_event(_event(EventName.DIAL_COMPLETED, status=facts.ANSWERED)) == DialDone(True)
    assert to_engine_event(_event(EventName.DIAL_COMPLETED, status=facts.NO_ANSWER)) == DialDone(False)
    assert to_engine_event(_event(EventName.CALL_LEG_COMPLETED)) == LegEnded()
    assert to_engine_event(_event(EventName.CALL_COMPLETED)) == CallEnded()
    assert to_engine_event(_event(EventName.INCOMING_CALL, to="1", **{"from": "2"})) is None
    assert to_engine_event(_event("recording_completed")) is None
    assert _event(EventName.INCOMING_CALL).starts_call and not _event(EventName.CALL_COMPLETED).starts_call
    assert {name for name in CALL_EVENTS if _event(name).needs_call} == set(CALL_EVENTS)
    assert not _event(EventName.CALL_COMPLETED).needs_call and not _event(EventName.INCOMING_CALL).needs_call


def test_the_method_of_an_action_is_the_one_it_is_sent_as() -> None:
    for action in (Speak("Hi", "en-US", True), Transfer("15551234567", "15557654321"), HangUp(), NoAction()):
        assert method_of(action) == action_json(action).get("method", "")
