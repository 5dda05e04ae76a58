"""Telesign's wire facts as constants: hosts and paths, header names, v2 event, action and
parameter names, status strings, v1 form fields and status codes, limits and voices.

Pure data with no imports from the rest of ivrflow, so that any layer may use it (the flow
language for Telesign's limits, the fake carrier for event names). The facts that are
unconfirmed or contradict each other are listed, with their evidence, in the docstring of
`ivrflow/telesign/__init__.py`.
"""

from __future__ import annotations

from typing import Final

# --- hosts and endpoints ----------------------------------------------------------------------
# The `telesign` SDK's default REST host (self-service accounts); enterprise accounts use
# https://rest-ww.telesign.com. TELESIGN_BASE_URL chooses.
DEFAULT_BASE_URL: Final = "https://rest-api.telesign.com"
V1_VOICE: Final = "/v1/voice"  # POST: place a v1 call; GET {V1_VOICE}/{reference_id}: its status
V2_VOICE: Final = "/v2/voice"  # POST: one v2 action (a `dial` places a call)


class Header:
    """Header names of Telesign's requests and callbacks."""

    AUTHORIZATION: Final = "Authorization"  # `Basic ...` or `TSA <customer id>:<signature>`
    TS_AUTHORIZATION: Final = "X-TS-Authorization"  # a callback's bare signature
    DATE: Final = "Date"
    CONTENT_TYPE: Final = "Content-Type"
    TS_AUTH_METHOD: Final = "x-ts-auth-method"
    TS_NONCE: Final = "x-ts-nonce"
    TS_DATE: Final = "x-ts-date"


BASIC: Final = "Basic"  # the Authorization schemes
TSA: Final = "TSA"
HMAC_SHA256: Final = "HMAC-SHA256"  # the only x-ts-auth-method the engine signs and accepts
FORM: Final = "application/x-www-form-urlencoded"  # a v1 request's body, and what TSA signs by default for POST and PUT
JSON: Final = "application/json"  # a v2 action's body, and every webhook event's
# How far a signed request's date may be from now, either way, in seconds.
DATE_TOLERANCE: Final = 15 * 60

# --- v2 voice: events (Telesign -> webhook) ---------------------------------------------------


class EventName:
    """The `event` of a v2 webhook event."""

    INCOMING_CALL: Final = "incoming_call"
    DIAL_COMPLETED: Final = "dial_completed"
    SPEAK_COMPLETED: Final = "speak_completed"
    PLAY_COMPLETED: Final = "play_completed"
    CALL_LEG_COMPLETED: Final = "call_leg_completed"
    CALL_COMPLETED: Final = "call_completed"


# Every event name the engine knows; any other is counted as `other` (a metric label takes no
# name a sender makes up).
EVENT_NAMES: Final = frozenset(
    {
        EventName.INCOMING_CALL,
        EventName.DIAL_COMPLETED,
        EventName.SPEAK_COMPLETED,
        EventName.PLAY_COMPLETED,
        EventName.CALL_LEG_COMPLETED,
        EventName.CALL_COMPLETED,
    }
)


class EventField:
    """Fields of a v2 event: the envelope, then those of its `data`."""

    EVENT: Final = "event"
    REFERENCE_ID: Final = "reference_id"
    EXTERNAL_ID: Final = "external_id"
    DATA: Final = "data"
    TO: Final = "to"
    FROM: Final = "from"
    STATUS: Final = "status"
    COLLECTED_DIGITS: Final = "collected_digits"


# `data.status` values seen (the only ones evidenced; see the list in __init__.py).
ANSWERED: Final = "answered"  # dial_completed: the callee answered; any other status: not
NO_ANSWER: Final = (
    "no-answer"  # dial_completed: what the fake carrier sends for a phone that does not answer (not evidenced)
)
SPEAK_SUCCESSFUL: Final = "speak_successful"  # speak_completed
HUNG_UP: Final = "hangup"  # call_completed

# --- v2 voice: actions (webhook answer, or POST /v2/voice) ------------------------------------


class Method:
    """The `method` of a v2 action."""

    DIAL: Final = "dial"
    SPEAK: Final = "speak"
    PLAY: Final = "play"
    PLAY_MULTIPLE: Final = "play_multiple"
    HANGUP: Final = "hangup"
    SEND_DTMF: Final = "send_dtmf"


class Param:
    """Keys of a v2 action: the envelope, then those of its `params`."""

    METHOD: Final = "method"
    PARAMS: Final = "params"
    TTS: Final = "tts"  # speak: {"message", "language"}
    TTS_MESSAGE: Final = "message"
    TTS_LANGUAGE: Final = "language"
    COLLECT_DIGITS: Final = "collect_digits"  # speak: {"max"}
    COLLECT_MAX: Final = "max"
    TO: Final = "to"  # dial
    CALLER_ID_NUMBER: Final = "caller_id_number"
    MAX_CALL_DURATION: Final = "max_call_duration"  # a string of seconds
    SEND_DTMF: Final = "send_dtmf"  # dial: keys pressed once the callee answers
    EXTERNAL_ID: Final = "external_id"  # dial: ours, echoed in the call's events


# The actions Telesign's Events page allows in answer to each event; any other is refused with
# `unsupported_call_state`. Answers to the other events are not documented.
ALLOWED_ANSWERS: Final[dict[str, frozenset[str]]] = {
    EventName.INCOMING_CALL: frozenset({Method.HANGUP, Method.SPEAK, Method.PLAY, Method.PLAY_MULTIPLE, Method.DIAL}),
    EventName.DIAL_COMPLETED: frozenset(
        {Method.SPEAK, Method.PLAY, Method.PLAY_MULTIPLE, Method.HANGUP, Method.SEND_DTMF}
    ),
}


class DialStatus:
    """The `status` of Telesign's answer to a `dial` sent to /v2/voice (Engage API - Voice, OpenAPI).
    HTTP 202 `dial_accepted` is the only success; HTTP 200 with one of the four `*_rejected` or
    `*_blocked_*` statuses is a refusal, the rest come with 400, 401 or 429."""

    ACCEPTED: Final = "dial_accepted"
    PREMIUM_TO_NUMBER_REJECTED: Final = "premium_to_number_rejected"
    TO_NUMBER_BLOCKED_BY_COUNTRY: Final = "to_number_blocked_by_country"
    TO_NUMBER_BLOCKED_BY_CUSTOMER: Final = "to_number_blocked_by_customer"
    TO_NUMBER_BLOCKED_BY_TELESIGN: Final = "to_number_blocked_by_telesign"
    CALLER_ID_NUMBER_NOT_OWNED: Final = "caller_id_number_not_owned"
    CALLER_ID_NUMBER_NOT_PROVIDED: Final = "caller_id_number_not_provided"
    INVALID_PHONE_NUMBER: Final = "invalid_phone_number"
    TO_NUMBER_NOT_PROVIDED: Final = "to_number_not_provided"
    UNSUPPORTED_CALL_STATE: Final = "unsupported_call_state"
    CREDENTIALS_NOT_PROVIDED: Final = "credentials_not_provided"
    NOT_AUTHORIZED: Final = "not_authorized"
    RATE_LIMIT_EXCEEDED: Final = "rate_limit_exceeded"


# Each refusal of a `dial`, in words for people.
DIAL_STATUSES: Final[dict[str, str]] = {
    DialStatus.PREMIUM_TO_NUMBER_REJECTED: "the number is a premium-rate number, which Telesign does not call",
    DialStatus.TO_NUMBER_BLOCKED_BY_COUNTRY: "calls to this number's country are blocked (in your Telesign portal, or by Telesign)",
    DialStatus.TO_NUMBER_BLOCKED_BY_CUSTOMER: "the number is on your account's block list",
    DialStatus.TO_NUMBER_BLOCKED_BY_TELESIGN: "Telesign blocks calls to this number",
    DialStatus.CALLER_ID_NUMBER_NOT_OWNED: "the caller id is not a number of your Telesign account",
    DialStatus.CALLER_ID_NUMBER_NOT_PROVIDED: "no caller id was sent",
    DialStatus.INVALID_PHONE_NUMBER: "Telesign says the number to call is not a valid phone number",
    DialStatus.TO_NUMBER_NOT_PROVIDED: "no number to call was sent",
    DialStatus.UNSUPPORTED_CALL_STATE: "Telesign does not allow this action in the call's current state",
    DialStatus.CREDENTIALS_NOT_PROVIDED: "the request carried no Telesign credentials",
    DialStatus.NOT_AUTHORIZED: "Telesign did not accept the customer id and API key",
    DialStatus.RATE_LIMIT_EXCEEDED: "Telesign's rate limit for calls was hit, and stayed hit after retrying",
}

# --- v1 voice: the form fields of POST /v1/voice ----------------------------------------------


class V1Field:
    PHONE_NUMBER: Final = "phone_number"
    MESSAGE: Final = "message"  # played after the prompt gate, if any
    MESSAGE_TYPE: Final = "message_type"
    VOICE: Final = "voice"  # a voice tag: voice_tag(language)
    PROMPT_MESSAGE: Final = "prompt_message"  # the gate: two chances to press prompt_digit
    PROMPT_DIGIT: Final = "prompt_digit"
    SELECT_DIGITS: Final = "select_digits"  # the keys of the menu; each plays tts_message(key)
    REPEAT_DIGIT: Final = "repeat_digit"  # plays tts_repeat, then message again
    TTS_REPEAT: Final = "tts_repeat"
    ACCOUNT_LIFECYCLE_EVENT: Final = "account_lifecycle_event"
    CALLER_ID: Final = "caller_id"
    CALLBACK_URL: Final = "callback_url"
    EXTERNAL_ID: Final = "external_id"
    ORIGINATING_IP: Final = "originating_ip"


def tts_message(digit: str) -> str:
    """The v1 field played when `digit` of `select_digits` is pressed: `tts_message_<digit>`."""
    return f"tts_message_{digit}"


# v1's fixed behaviour (Voice API reference), which a live call imitates by default.
V1_PROMPT_CHANCES: Final = 2  # tries at prompt_digit before the call ends
V1_MENU_CHANCES: Final = 1  # tries at select_digits
V1_REPEAT_MAX: Final = 3  # presses of repeat_digit that repeat; the next one ends the call
V1_MAX_SELECT_DIGITS: Final = 10  # unique digits in select_digits, none of them the repeat digit

# --- v1 voice: what happened on a call --------------------------------------------------------


class V1Code:
    ANSWERED: Final = 100  # by a person or by voicemail: Telesign cannot tell
    IN_PROGRESS: Final = 103  # the answer to the POST; a later report has another code


# Telesign's v1 voice status codes: the words for people, and the status the engine gives a
# call that reports it ("": the call is not over). The last six are documented for Voice Verify
# and may come for /v1/voice too; a code not listed is taken as "not over", so that an unknown
# code can never end a call that is still going on.
V1_STATUS_CODES: Final[dict[int, tuple[str, str]]] = {
    V1Code.ANSWERED: ("answered", "completed"),
    101: ("not answered", "no_answer"),
    V1Code.IN_PROGRESS: ("in progress", ""),
    104: ("wrong or invalid phone number", "failed"),
    106: ("call failed", "failed"),
    107: ("line busy", "busy"),
    130: ("blocked by Telesign", "failed"),
    105: ("not handled yet", ""),
    108: ("canceled by Telesign", "failed"),
    129: ("blocked by your request", "failed"),
    500: ("not attempted", "failed"),
    501: ("not authorized", "failed"),
    599: ("status not available", ""),
}

# --- limits, languages and voices ---------------------------------------------------------------
# schemas/*.schema.json repeat these numbers for editors and for the request checks; a test
# holds the two to the same values.
MAX_MESSAGE: Final = 1600  # characters Telesign speaks in one message
MAX_CALL_DURATION: Final = 14_400  # seconds: a call's longest (4 hours), and the most `max_call_duration` may ask
PHONE_DIGITS_MIN: Final = 8  # a phone number: digits with the country code, no `+`
PHONE_DIGITS_MAX: Final = 15  # (E.164)

# The languages Telesign speaks: v2 `speak` takes the tag as it is, v1 the voice tag of each.
LANGUAGES: Final = (
    "ca-ES", "da-DK", "de-DE", "en-AU", "en-CA", "en-GB", "en-IN", "en-US", "es-ES", "es-MX", "fi-FI", "fr-CA", "fr-FR",
    "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ru-RU", "sv-SE", "zh-CN", "zh-HK", "zh-TW",
)  # fmt: skip
DEFAULT_LANGUAGE: Final = "en-US"  # v1's default voice is voice_tag(DEFAULT_LANGUAGE)


def voice_tag(language: str) -> str:
    """v1's voice for a language: `f-` (every v1 voice is female) and the tag, like `f-en-US`."""
    return f"f-{language}"


MESSAGE_TYPES: Final = ("OTP", "ARN", "MKT")  # one-time passwords; alerts, reminders, notifications; marketing
DEFAULT_MESSAGE_TYPE: Final = "ARN"  # the engine's default: a flow is most often a reminder
LIFECYCLE_EVENTS: Final = ("create", "sign-in", "transact", "update", "delete")
