"""Telesign's reports of a v1 call's status, read into the engine's `V1Report`."""

from __future__ import annotations

from dataclasses import dataclass

from jsonschema.exceptions import best_match

from ivrflow.errors import BadEvent
from ivrflow.language.schema_files import validator
from ivrflow.telesign.facts import V1_STATUS_CODES


@dataclass(frozen=True, slots=True)
class V1Report:
    """One report of a v1 call's status: Telesign's answer to GET /v1/voice/{reference_id}, or the
    transaction callback it posts to `callback_url`. What is assumed of the callback is in the
    list at the top of this package (ivrflow/telesign/__init__.py); a report without `voice`
    leaves the key as it was."""

    reference_id: str
    code: int
    description: str
    updated_on: str
    user_input: str | None  # the last key pressed after the message ("": none); None: not reported
    external_id: str | None = None

    @property
    def final(self) -> str:
        """The call's status when this report ends it; "" when the call is not over."""
        return V1_STATUS_CODES.get(self.code, ("", ""))[1]


def status_code(value: object) -> int | None:
    """A v1 status (or error) code as a number, whichever way it is spelled: Telesign's v1 Voice
    reference documents `status.code` as a string ("100"); a JSON number (100) is taken too.
    None: not a code."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_v1_report(data: object) -> V1Report:
    """A status report from Telesign's JSON, or BadEvent saying why it is not one."""
    error = best_match(validator("v1-status").iter_errors(data))
    if error is not None or not isinstance(data, dict):
        where = "/".join(str(part) for part in error.absolute_path) if error is not None else ""
        raise BadEvent(
            f"not a Telesign v1 status report: {where or 'the body'}: {error.message if error is not None else 'not an object'}"
        )
    status, voice = data["status"], data.get("voice") or {}
    return V1Report(
        str(data["reference_id"]),
        status_code(status["code"]) or 0,  # the schema let only digits through
        str(status.get("description") or ""),
        str(status.get("updated_on") or ""),
        (voice.get("user_input") or "")[-1:] if "user_input" in voice else None,  # only the last key counts
        data.get("external_id"),
    )
