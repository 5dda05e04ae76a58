"""What a check's record says about the end of a transfer's legs (items 24 and 25 of the Telesign
adapter's list): which event says the second number hung up while the caller stays, whether the
engine's `speak` answering it is carried out, and what comes when the caller hangs up first.
Pure, like check_report, which gives each finding its verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

LEG_ENDED, CALL_ENDED, DIAL_DONE, SPOKEN = "call_leg_completed", "call_completed", "dial_completed", "speak_completed"


class Post(Protocol):
    @property
    def n(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def method(self) -> str: ...


def _connected(posts: Sequence[Post]) -> int | None:
    """The index of the transfer's dial_completed that says it was answered."""
    return next(
        (
            i
            for i, post in enumerate(posts)
            if i > 0 and post.name == DIAL_DONE and post.data.get("status") == "answered"
        ),
        None,
    )


def _leg(post: Post) -> str:
    return f"{post.name} (post {post.n}, data.to {post.data.get('to', '(absent)')!r})"


def far_end_hung_up(posts: Sequence[Post], transfer_to: str | None) -> tuple[bool | None, str]:
    """Item 24: (True held, False did not hold, None not seen) and the evidence."""
    if not transfer_to:
        return None, "no second number was given (--transfer-to)"
    connected = _connected(posts)
    if connected is None:
        return None, "no transfer connected"
    ended = next((i for i in range(connected + 1, len(posts)) if posts[i].name == LEG_ENDED), None)
    if ended is None:
        after = ", ".join(post.name for post in posts[connected + 1 :]) or "nothing"
        return (
            None,
            f"after the transfer connected Telesign posted {after}, no call_leg_completed (was the first phone hung up first?)",
        )
    leg, following = posts[ended], posts[ended + 1 : ended + 2]
    named = str(leg.data.get("to", ""))
    which = (
        "the second number"
        if named.lstrip("+") == transfer_to.lstrip("+")
        else "not the second number"
        if named
        else "no number"
    )
    said = f"{_leg(leg)} names {which}; the engine answered {leg.method or '{}'}"
    if leg.method != "speak":
        return False, said + " instead of the dial's next (a speak): it took the leg for the caller's"
    if following and following[0].name == SPOKEN:
        return True, said + ", and Telesign then posted speak_completed: the caller heard the dial's next"
    return (
        False,
        said + f", and Telesign then posted {following[0].name if following else 'nothing'}, no speak_completed",
    )


def caller_hung_up(posts: Sequence[Post], transfer_to: str | None) -> tuple[bool | None, str]:
    """Item 25: what comes when the caller hangs up while put through (seen only when they did)."""
    connected = _connected(posts) if transfer_to else None
    if connected is None:
        return None, "no transfer connected"
    after = list(posts[connected + 1 :])
    far_end = [
        post
        for post in after
        if post.name == LEG_ENDED and str(post.data.get("to", "")).lstrip("+") == str(transfer_to).lstrip("+")
    ]
    if far_end:
        return (
            None,
            "the second phone hung up first (as the check asks); hang up the first phone first on another check to see this",
        )
    shown = "; ".join(_leg(post) if post.name == LEG_ENDED else post.name for post in after) or "nothing"
    spoke = [post for post in after if post.name == LEG_ENDED and post.method == "speak"]
    if spoke:
        return False, f"after the transfer connected: {shown}; the engine answered the caller's leg with speak"
    return True, f"after the transfer connected: {shown}"
