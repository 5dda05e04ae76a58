"""The v1 compiler: bundled flows to the exact form fields of one Telesign POST /v1/voice."""

from __future__ import annotations

import pytest

from conftest import FLOWS, OPEN
from ivrflow.language.loader import check_bytes, load_flow
from ivrflow.language.model import Flow
from ivrflow.v1.compiler import CallOptions, compile_v1


def _flow(text: str) -> Flow:
    checked = check_bytes(text.encode(), "inline.yaml")
    assert checked.flow is not None and checked.ok, checked.diagnostics
    return checked.flow


def test_appointment_reminder_compiles_to_menu_choices_and_repeat() -> None:
    params, problems = compile_v1(
        load_flow(FLOWS / "appointment-reminder.yaml"), CallOptions(to="+1 555 0100 200".replace(" ", ""))
    )
    assert problems == []
    assert params == {
        "phone_number": "15550100200",
        "message": "Hello, this is Riverside Clinic with a reminder of your appointment tomorrow at 9 in the morning. "
        "Press 1 to confirm, press 2 to cancel, or press 9 to hear this message again.",
        "message_type": "ARN",
        "voice": "f-en-US",
        "select_digits": "12",
        "tts_message_1": "Thank you. Your appointment is confirmed. We look forward to seeing you.",
        "tts_message_2": "Your appointment has been cancelled. To book a new time, call us during opening hours. Goodbye.",
        "repeat_digit": "9",
        "tts_repeat": "Here is that message again.",
        "account_lifecycle_event": "update",
        "caller_id": "15554441313",
    }


def test_prompt_gate_and_message_chain_with_variables() -> None:
    options = CallOptions(
        to="447700900123",
        variables={"code": "4 8 1 5"},
        external_id="order-77",
        callback_url="https://example.org/cb",
        originating_ip="203.0.113.9",
    )
    params, problems = compile_v1(load_flow(FLOWS / "otp-delivery.yaml"), options)
    assert problems == []
    assert params == {
        "phone_number": "447700900123",
        "message": "Your code is 4 8 1 5. Again, your code is 4 8 1 5. Never share this code with anyone. Goodbye.",
        "message_type": "OTP",
        "voice": "f-en-US",
        "prompt_message": "This is Acme Bank with your sign-in code. Press 5 to hear it.",
        "prompt_digit": "5",
        "account_lifecycle_event": "sign-in",
        "callback_url": "https://example.org/cb",
        "external_id": "order-77",
        "originating_ip": "203.0.113.9",
    }


@pytest.mark.parametrize("name", ["refill-reminder.yaml", "support-menu.yaml"])
def test_live_only_flows_get_reasons_and_no_parameters(name: str) -> None:
    params, problems = compile_v1(load_flow(FLOWS / name), CallOptions(to="15550100200", at=OPEN))
    assert params is None
    assert problems and all(p.rule in ("v1-live-only", "v1-shape") for p in problems)
    assert all("ivrflow serve" in p.hint for p in problems)
    assert all(p.file == f"flows/{name}" for p in problems)


def test_variable_without_a_value_is_named() -> None:
    flow = _flow('flow: x\nnodes:\n  bye:\n    type: hangup\n    message: "We called you from {{ caller }}."\n')
    params, [problem] = compile_v1(flow, CallOptions(to="15550100200"))
    assert params is None
    assert problem.rule == "undeclared-variable" and "`caller`" in problem.message and problem.span.line == 5


def test_limits_are_checked_after_variables() -> None:
    flow = _flow('flow: x\nvars:\n  name: "a"\nnodes:\n  bye:\n    type: hangup\n    message: "Hello {{ name }}."\n')
    params, [problem] = compile_v1(flow, CallOptions(to="15550100200", variables={"name": "b" * 1600}))
    assert params is None and problem.rule == "message-too-long"


@pytest.mark.parametrize(
    ("field", "value"),
    [("to", "555-0100"), ("originating_ip", "not an ip"), ("external_id", "x" * 101), ("callback_url", "ftp://x")],
)
def test_bad_call_options_are_refused(field: str, value: str) -> None:
    options = {"to": "15550100200", field: value}
    params, problems = compile_v1(load_flow(FLOWS / "appointment-reminder.yaml"), CallOptions(**options))
    assert params is None and problems
