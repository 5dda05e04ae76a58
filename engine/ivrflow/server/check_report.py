"""What a check's record says about each of the engine's assumptions about Telesign: held, did
not hold, not seen (the call did not get there), or cannot (a test call cannot tell). Numbered
as in the list at the top of the Telesign adapter (ivrflow/telesign/__init__.py), which names
for each how `ivrflow check-telesign` confirms it. Pure: it reads the record GET /checks/{id}
gives, so the command and the server say the same."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from ivrflow.server.check_legs import caller_hung_up, far_end_hung_up

HELD, NOT_HELD, NOT_SEEN, CANNOT = "held", "did not hold", "not seen", "cannot"

# The steps of the check flow, known by a phrase of what the engine says at each (server/checks.py).
STEPS = {
    "press-1": "First, press 1",
    "silence": "press nothing at all",
    "several": "press 1, 2 and 3",
    "after-several": "Press 4, or wait",
    "transfer-menu": "Press 5 to be transferred",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    number: int
    assumption: str
    result: str
    evidence: str


@dataclass(frozen=True, slots=True)
class _Post:
    n: int
    at: float
    name: str
    external_id: object
    reference_id: str
    data: dict[str, Any]
    signed: dict[str, str]
    answer: dict[str, Any]
    same_bytes_as: int | None

    @property
    def method(self) -> str:
        return str(self.answer.get("method", ""))

    @property
    def said(self) -> str:
        params = self.answer.get("params") or {}
        tts = params.get("tts") if isinstance(params, dict) else None
        return str(tts.get("message", "")) if isinstance(tts, dict) else ""

    @property
    def step(self) -> str:
        return next((step for step, phrase in STEPS.items() if phrase in self.said), "")


def _posts(record: dict[str, Any]) -> list[_Post]:
    posts = []
    for event in record.get("events", []):
        if not str(event.get("path", "")).startswith("/webhook"):
            continue
        try:
            body, answer = json.loads(event["body"]), json.loads(event["answered"]["body"] or "{}")
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(body, dict):
            continue
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
        posts.append(
            _Post(
                event["n"],
                event["at"],
                str(body.get("event")),
                body.get("external_id", "(absent)"),
                str(body.get("reference_id")),
                data,
                event.get("signed", {}),
                answer if isinstance(answer, dict) else {},
                event.get("same_bytes_as"),
            )
        )
    return posts


def _after(posts: list[_Post], step: str) -> tuple[_Post, _Post] | None:
    """The post answered with the step's question, and the post that followed it."""
    for i, post in enumerate(posts[:-1]):
        if post.step == step and post.method == "speak":
            return post, posts[i + 1]
    return None


def _digits(post: _Post) -> str:
    if "collected_digits" not in post.data:
        return "no collected_digits"
    return f"collected_digits {post.data['collected_digits']!r}"


def verdicts(record: dict[str, Any]) -> list[Verdict]:
    posts = _posts(record)
    said: list[Verdict] = []

    def add(number: int, assumption: str, result: str, evidence: str) -> None:
        said.append(Verdict(number, assumption, result, evidence))

    names = [post.name for post in posts]
    if not posts:
        placing = record.get("placing", {})
        why = placing.get("ResponseStatus", {}).get("Message") if isinstance(placing, dict) else None
        evidence = f"Telesign posted nothing for the test call ({why or 'was the phone answered? is the webhook URL registered?'})"
        return [Verdict(number, title, NOT_SEEN, evidence) for number, title in TITLES.items()]

    # 1. dial after a menu
    if not record.get("transfer_to"):
        add(1, TITLES[1], NOT_SEEN, "no second number was given (--transfer-to)")
    else:
        dialed = next((i for i, post in enumerate(posts) if post.method == "dial"), None)
        if dialed is None:
            add(1, TITLES[1], NOT_SEEN, "the call did not reach the transfer")
        else:
            answer_to, following = posts[dialed], posts[dialed + 1 : dialed + 2]
            if following and following[0].name == "dial_completed":
                add(
                    1,
                    TITLES[1],
                    HELD,
                    f"dial answered {answer_to.name} (post {answer_to.n}); Telesign then posted dial_completed, status {following[0].data.get('status')!r}",
                )
            else:
                add(
                    1,
                    TITLES[1],
                    NOT_HELD,
                    f"dial answered {answer_to.name} (post {answer_to.n}); Telesign then posted {following[0].name if following else 'nothing'}, no dial_completed",
                )
    # 2, 3. the action's shape
    spoken = [pair for pair in (_after(posts, step) for step in STEPS) if pair is not None]
    done = [pair for pair in spoken if pair[1].name == "speak_completed"]
    if done:
        add(
            2,
            TITLES[2],
            HELD,
            f"{len(done)} of {len(spoken)} speak actions (method and params only) were followed by speak_completed",
        )
        add(
            3,
            TITLES[3],
            HELD,
            f"speak with tts.message, tts.language and collect_digits.max 1 was carried out: status {done[0][1].data.get('status')!r}",
        )
    else:
        result = NOT_HELD if spoken else NOT_SEEN
        add(
            2,
            TITLES[2],
            result,
            "no speak action was followed by speak_completed" if spoken else "no speak action was answered",
        )
        add(3, TITLES[3], result, said[-1].evidence)
    # 4. Telesign's own wait for a key
    silence = _after(posts, "silence")
    if silence is None or silence[1].name != "speak_completed":
        add(4, TITLES[4], NOT_SEEN, "the call did not reach the silence step")
    else:
        add(
            4,
            TITLES[4],
            HELD,
            f"after the silence step's question Telesign posted speak_completed {silence[1].at - silence[0].at:.1f} s later (the message and Telesign's own wait), {_digits(silence[1])}",
        )
    # 5. collected_digits
    pressed = _after(posts, "press-1")
    if pressed is None or pressed[1].name != "speak_completed":
        add(5, TITLES[5], NOT_SEEN, "the call did not reach the first question's answer")
    else:
        key = pressed[1].data.get("collected_digits")
        silent = (
            silence[1].data.get("collected_digits", None)
            if silence and silence[1].name == "speak_completed"
            else "(not seen)"
        )
        held = key == "1" and silent in (None, "")
        evidence = f"asked to press 1: {_digits(pressed[1])}; asked to press nothing: " + (
            _digits(silence[1]) if silence else "not seen"
        )
        add(
            5,
            TITLES[5],
            HELD if held else NOT_HELD,
            evidence + ("" if key == "1" else " (was 1 pressed? a different key also shows here)"),
        )
    # 6. dial_completed's status for an answered call
    first = posts[0]
    if first.name != "dial_completed":
        add(6, TITLES[6], NOT_HELD, f"the first post was {first.name}, not dial_completed")
    else:
        status = first.data.get("status")
        result = (
            HELD
            if status == "answered" and any(post.name == "speak_completed" for post in posts)
            else NOT_HELD
            if status != "answered"
            else NOT_SEEN
        )
        add(
            6,
            TITLES[6],
            result,
            f"dial_completed status {status!r} for the test call"
            + ("" if status == "answered" else " (if you did answer, the engine would hang up on every answered call)"),
        )
    # 7. {} mid-call
    empty = next(
        (i for i, post in enumerate(posts) if post.name == "dial_completed" and i > 0 and not post.answer), None
    )
    if empty is None:
        add(
            7,
            TITLES[7],
            NOT_SEEN,
            "no transfer connected (the engine answers {} to a connected transfer's dial_completed)",
        )
    else:
        later = posts[empty + 1 : empty + 2]
        add(
            7,
            TITLES[7],
            HELD if later else NOT_SEEN,
            f"{{}} answered the transfer's dial_completed (post {posts[empty].n}); Telesign then posted {later[0].name if later else 'nothing'}",
        )
    # 8. redelivery
    again = [post for post in posts if post.same_bytes_as]
    if again:
        by_n = {post.n: post for post in posts}
        add(
            8,
            TITLES[8],
            HELD,
            "; ".join(
                f"post {post.n} ({post.name}) repeated post {post.same_bytes_as} byte for byte, {post.at - by_n[post.same_bytes_as].at:.1f} s later"
                if post.same_bytes_as in by_n
                else f"post {post.n} repeated post {post.same_bytes_as}"
                for post in again
            ),
        )
    else:
        add(
            8, TITLES[8], NOT_SEEN, "Telesign delivered each event once (redelivery happens only after a failed answer)"
        )
    # 9. external_id
    ours = record.get("check_id")
    without = [f"{post.name} (post {post.n})" for post in posts if post.external_id != ours]
    add(
        9,
        TITLES[9],
        HELD if not without else NOT_HELD,
        f"all {len(posts)} events carried external_id {ours}"
        if not without
        else f"without our external_id: {', '.join(without)}",
    )
    # 10. signatures
    kinds = {
        f"Authorization {post.signed.get('authorization')}, X-TS-Authorization {post.signed.get('x-ts-authorization')}"
        for post in posts
    }
    valid = all(
        post.signed.get("authorization") == "TSA valid" or post.signed.get("x-ts-authorization") == "valid"
        for post in posts
    )
    unsigned = all(
        post.signed.get("authorization") == "absent" and post.signed.get("x-ts-authorization") == "absent"
        for post in posts
    )
    advice = (
        "; this account does not sign its voice events: run `ivrflow serve --webhook-auth secret`" if unsigned else ""
    )
    add(
        10,
        TITLES[10],
        HELD if valid else NOT_HELD,
        "; ".join(sorted(kinds)) + f" (server's --webhook-auth: {record.get('webhook_auth')})" + advice,
    )
    for number in (11, 12):
        add(
            number,
            TITLES[number],
            CANNOT,
            "the test call is a v2 call; a v1 call (`ivrflow send --callback-url ...`) shows its reports in `ivrflow status` and GET /calls/{id}",
        )
    add(13, TITLES[13], CANNOT, "the test call's messages are short")
    add(14, TITLES[14], CANNOT, "the test call speaks en-US only")
    shapes = {_shape(post.reference_id) for post in posts}
    add(15, TITLES[15], HELD, f"Telesign's reference id: {', '.join(sorted(shapes))}")
    placing = record.get("placing", {})
    accepted = placing.get("http") == 201
    add(
        16,
        TITLES[16],
        HELD if accepted else NOT_HELD,
        "TELESIGN_BASE_URL accepted the dial"
        if accepted
        else f"the dial was not accepted: {placing.get('ResponseStatus', placing)}",
    )
    add(17, TITLES[17], CANNOT, "Telesign does not say its range; the engine's own API allows 15 minutes")
    several = _after(posts, "several")
    if several is None or several[1].name != "speak_completed":
        add(18, TITLES[18], NOT_SEEN, "the call did not reach the several-keys step")
    else:
        follow = _after(posts, "after-several")
        keys = str(several[1].data.get("collected_digits") or "")
        add(
            18,
            TITLES[18],
            HELD if keys[:1] == "1" else NOT_HELD,
            f"asked for 1, 2, 3 in one go: {_digits(several[1])}; the next question then got "
            + (_digits(follow[1]) if follow else "nothing"),
        )
    ended = [post for post in posts if post.name == "call_completed"]
    if not ended:
        add(19, TITLES[19], NOT_SEEN, "no call_completed was posted")
    else:
        after = names[names.index("call_completed") + 1 :]
        call = record.get("call") or {}
        add(
            19,
            TITLES[19],
            HELD if not after else NOT_HELD,
            f"call_completed, status {ended[0].data.get('status')!r}, the call ended as {call.get('status')!r}"
            + (f"; then came {', '.join(after)}" if after else ""),
        )
    for number, found in ((24, far_end_hung_up), (25, caller_hung_up)):
        held, evidence = found(posts, record.get("transfer_to"))
        add(number, TITLES[number], NOT_SEEN if held is None else HELD if held else NOT_HELD, evidence)
    return sorted(said, key=lambda verdict: verdict.number)


def _shape(reference_id: str) -> str:
    if re.fullmatch(r"[0-9A-Fa-f]{32}", reference_id):
        return "32 hex digits"
    if re.fullmatch(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", reference_id):
        return "a UUID"
    return f"{len(reference_id)} characters"


TITLES = {
    1: "dial may answer a menu's speak_completed (a transfer after a menu)",
    2: "an action is sent as method and params only",
    3: "speak takes tts.message, tts.language and collect_digits.max",
    4: "no wait for a key is sent; Telesign's own wait applies",
    5: "keys come as speak_completed's data.collected_digits; no key is absent, null or empty",
    6: "dial_completed's data.status is `answered` for an answered call",
    7: "{} answered mid-call (to a connected transfer) leaves the call going",
    8: "a redelivered event is byte-identical to the first delivery",
    9: "every event of a call placed with external_id carries it",
    10: "events are signed with Telesign's callback signature",
    11: "a v1 callback carries voice.user_input and external_id",
    12: "v1 status codes 105, 108, 129, 500, 501, 599 may come for /v1/voice",
    13: "a message may be 1600 characters",
    14: "v2 speak takes the 26 languages of the v1 list",
    15: "reference_id is an opaque string",
    16: "the host at TELESIGN_BASE_URL serves v2 voice for this account",
    17: "a TSA request's date may be 15 minutes off",
    18: "several keys in one go: collected_digits starts with the first (the engine takes it)",
    19: "call_completed ends the call, whoever hangs up, and nothing follows it",
    24: "call_leg_completed says the second number hung up; a speak answering it reaches the caller",
    25: "a caller who hangs up while put through ends the call (no leg of theirs is taken for the far end's)",
}


def as_json(found: list[Verdict]) -> list[dict[str, Any]]:
    return [asdict(verdict) for verdict in found]


def as_text(found: list[Verdict]) -> str:
    width = len(NOT_HELD)  # the longest result, so that the columns line up whatever the results
    return "".join(
        f"{verdict.number:>2}. {verdict.result:<{width}}  {verdict.assumption}\n    {verdict.evidence}\n"
        for verdict in found
    )
