"""Compile a flow to the form parameters of one Telesign `POST /v1/voice` request (pure).

The shape comes from `plan_v1`; this module fills in the call's variables, maps each part to
Telesign's field, and checks Telesign's v1 limits on the result, not only on the flow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivrflow.calls.branching import choose
from ivrflow.language.branches import Branch
from ivrflow.language.diagnostics import Diagnostic, Span
from ivrflow.language.model import Flow, digits_only
from ivrflow.language.schema_files import validator
from ivrflow.language.texts import MASK, VARIABLE, filtered
from ivrflow.language.v1plan import plan_v1
from ivrflow.telesign.facts import (
    MAX_MESSAGE,
    PHONE_DIGITS_MAX,
    PHONE_DIGITS_MIN,
    V1_MAX_SELECT_DIGITS,
    V1Field,
    tts_message,
    voice_tag,
)

PHONE = re.compile(rf"^\+?[0-9]{{{PHONE_DIGITS_MIN},{PHONE_DIGITS_MAX}}}$")


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What a v1 request needs beyond the flow: who to call, and optional Telesign fields."""

    to: str
    variables: Mapping[str, str] = field(default_factory=dict)
    callback_url: str | None = None
    external_id: str | None = None
    originating_ip: str | None = None
    masked: bool = False  # sensitive values as MASK: fields to show (a simulation), not to send
    at: float | None = None  # when the call is sent (seconds since the epoch): branches on the clock are decided for it


class _Filler:
    def __init__(self, flow: Flow, values: Mapping[str, str], masked: frozenset[str] = frozenset()) -> None:
        self.flow = flow
        self.values = values
        self.masked = masked
        self.problems: list[Diagnostic] = []

    def fill(self, text: str, span: Span, where: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.values:
                message = f"the variable `{name}` in {where} has no value for this call"
                self.problems.append(
                    Diagnostic("undeclared-variable", span, message, f"give it with `--var {name}=...`")
                )
                return match.group(0)
            return MASK if name in self.masked else filtered(self.values[name], match.group(2))

        filled = VARIABLE.sub(value, text)
        if len(filled) > MAX_MESSAGE:
            message = f"{where} is {len(filled)} characters long with this call's variables; Telesign speaks at most {MAX_MESSAGE}"
            self.problems.append(
                Diagnostic("message-too-long", span, message, "use shorter values, or shorten the message")
            )
        return filled


def compile_v1(flow: Flow, options: CallOptions) -> tuple[dict[str, str] | None, list[Diagnostic]]:
    """The v1 form fields for calling `options.to` with `flow`, or the reasons there are none. A
    branch is decided now, on the call's variables and the time it is sent (`options.at`)."""
    given = {**flow.vars, **dict(options.variables), "called": digits_only(options.to)}

    def resolve(branch: Branch) -> str:
        return choose(flow, branch, given, options.at)

    plan, reasons = plan_v1(flow, resolve)
    if plan is None:
        return None, [d.in_file(flow.path) for d in reasons]
    problems: list[Diagnostic] = []
    if not PHONE.match(options.to):
        problems.append(
            Diagnostic(
                "phone-number",
                flow.id_span,
                f"the number to call, `{options.to}`, is not a phone number Telesign accepts",
                f"write {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits with the country code, like 15554441313",
            )
        )
    called = digits_only(options.to)
    values = {**flow.vars, **dict(options.variables), "called": called}
    if flow.caller_id:
        values["caller"] = digits_only(flow.caller_id)
    filler = _Filler(flow, values, flow.sensitive if options.masked else frozenset())

    params: dict[str, str] = {V1Field.PHONE_NUMBER: called}
    if plan.menu is not None:
        params[V1Field.MESSAGE] = filler.fill(
            plan.message, plan.menu.value_span("message"), f"the message of menu `{plan.menu.name}`"
        )
    else:
        start = flow.nodes[plan.prompt.next] if plan.prompt else flow.start_node
        params[V1Field.MESSAGE] = filler.fill(
            plan.message, start.value_span("message"), f"the message starting at node `{start.name}`"
        )
    params[V1Field.MESSAGE_TYPE] = flow.message_type
    params[V1Field.VOICE] = voice_tag(flow.language)
    if plan.prompt is not None:
        params[V1Field.PROMPT_MESSAGE] = filler.fill(
            plan.prompt.message, plan.prompt.value_span("message"), f"the message of prompt `{plan.prompt.name}`"
        )
        params[V1Field.PROMPT_DIGIT] = plan.prompt.digit
    if plan.menu is not None and plan.choices:
        params[V1Field.SELECT_DIGITS] = "".join(plan.choices)
        for digit, text in plan.choices.items():
            params[tts_message(digit)] = filler.fill(
                text, plan.menu.target_span(digit), f"choice `{digit}` of menu `{plan.menu.name}`"
            )
    if plan.repeat_digit is not None and plan.repeat is not None:
        params[V1Field.REPEAT_DIGIT] = plan.repeat_digit
        if plan.repeat.message:
            params[V1Field.TTS_REPEAT] = filler.fill(
                plan.repeat.message, plan.repeat.value_span("message"), f"the message of repeat `{plan.repeat.name}`"
            )
    if flow.lifecycle_event:
        params[V1Field.ACCOUNT_LIFECYCLE_EVENT] = flow.lifecycle_event
    if flow.caller_id:
        params[V1Field.CALLER_ID] = digits_only(flow.caller_id)
    for key, value in (
        (V1Field.CALLBACK_URL, options.callback_url),
        (V1Field.EXTERNAL_ID, options.external_id),
        (V1Field.ORIGINATING_IP, options.originating_ip),
    ):
        if value is not None:
            params[key] = value

    # The limits net runs on clean output only, so one problem is not reported twice.
    problems += filler.problems or _limits(params, flow)
    if problems:
        return None, sorted((d.in_file(flow.path) for d in problems), key=Diagnostic.sort_key)
    return params, []


def _limits(params: dict[str, str], flow: Flow) -> list[Diagnostic]:
    """Telesign's v1 limits, checked on the parameters themselves (schemas/v1-voice-request.schema.json)."""
    problems = []
    digits = params.get(V1Field.SELECT_DIGITS, "")
    repeat = params.get(V1Field.REPEAT_DIGIT)
    if (
        len(set(digits)) != len(digits)
        or len(digits) > V1_MAX_SELECT_DIGITS
        or (repeat is not None and repeat in digits)
    ):
        problems.append(
            Diagnostic(
                "v1-shape",
                flow.id_span,
                f"select_digits `{digits}` with repeat digit `{repeat}` breaks Telesign's rule: at most {V1_MAX_SELECT_DIGITS} unique digits, not the repeat digit",
                "",
            )
        )
    for error in validator("v1-voice-request").iter_errors(params):
        field = ".".join(str(part) for part in error.absolute_path) or "the request"
        problems.append(
            Diagnostic(
                "v1-shape",
                flow.id_span,
                f"the compiled `{field}` breaks a Telesign v1 limit: {error.message}",
                "check the values given for this call",
            )
        )
    return problems
