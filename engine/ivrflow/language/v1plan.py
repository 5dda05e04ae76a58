"""Does a flow fit Telesign's one-level v1 IVR, and if so, in what shape?

A v1 call (one `POST /v1/voice`) is: an optional prompt gate, then one menu or one message; each
menu key plays one message and the call ends; one key may repeat the menu. `plan_v1` walks a
flow once and returns either that shape (for the compiler) or one diagnostic per reason it does
not fit (for `ivrflow lint --target v1` and `ivrflow compile`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ivrflow.language.branches import Branch
from ivrflow.language.diagnostics import Diagnostic, Span
from ivrflow.language.http_node import Http
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.model import (
    DEFAULT_ATTEMPTS,
    DEFAULT_REPEAT_MAX,
    Collect,
    Dial,
    Flow,
    Menu,
    Message,
    Node,
    Prompt,
    Repeat,
    message_run,
)

RUN_LIVE = "run it live with `ivrflow serve` instead"


@dataclass(frozen=True, slots=True)
class V1Plan:
    """A flow in v1's shape. Texts still hold their {{ variables }}."""

    prompt: Prompt | None
    message: str  # the top-level `message`: the menu's, or the joined message chain
    menu: Menu | None
    choices: dict[str, str]  # digit → joined text of the messages that end the call
    repeat_digit: str | None
    repeat: Repeat | None


Chooser = Callable[[Branch], str]  # the way a branch goes on this call (resolved when it is sent)


class _Planner:
    def __init__(self, flow: Flow, choose: Chooser) -> None:
        self.flow = flow
        self.choose = choose
        self.reasons: list[Diagnostic] = []
        self.stopped_at: Node | None = None  # the node that ended the last chain() early

    def through(self, node: Node | None) -> Node | None:
        """The node the call is at once branches are resolved: a v1 request is one fixed script, so
        a branch is decided when the call is sent, which only works when it tests nothing that is
        set during the call."""
        seen: set[str] = set()
        while isinstance(node, Branch) and node.name not in seen:
            seen.add(node.name)
            during = [case.when.var for case in node.cases if case.when.var in self.flow.saved()]
            if during:
                self.reason(
                    "v1-live-only",
                    node.span,
                    f"branch `{node.name}` tests `{during[0]}`, which is set during the call; a v1 call is decided when it is sent",
                )
                return None
            node = self.flow.nodes.get(self.choose(node))
        return None if isinstance(node, Branch) else node

    def reason(self, rule: str, span: Span, message: str, hint: str = "") -> None:
        self.reasons.append(
            Diagnostic(rule, span, message, f"{hint}; or {RUN_LIVE}" if hint else RUN_LIVE[0].upper() + RUN_LIVE[1:])
        )

    def chain(self, name: str, span: Span, what: str) -> list[str] | None:
        """Texts of the messages from `name` to the end of the call, or None if it does not end there."""
        run = message_run(self.flow, name)
        if run.broken:
            return None  # unknown-target and endless-loop already say why
        if run.leads_to is not None:
            if isinstance(run.last, Message):
                span, what = run.last.value_span("next"), f"`next` of message `{run.last.name}`"
            self.not_a_message(run.leads_to, span, what)
            self.stopped_at = run.leads_to
            return None
        return list(run.texts)

    def not_a_message(self, node: Node, span: Span, what: str) -> None:
        if isinstance(node, Dial):
            after = f", nor bring the caller back to `{node.next}` when the other side hangs up" if node.next else ""
            self.reason(
                "v1-live-only", span, f"{what} leads to the dial node `{node.name}`; a v1 call cannot transfer{after}"
            )
        elif isinstance(node, Http):
            self.reason(
                "v1-live-only", span, f"{what} leads to the http node `{node.name}`; a v1 call cannot look anything up"
            )
        elif isinstance(node, Collect):
            self.reason(
                "v1-live-only",
                span,
                f"{what} leads to the collect_digits node `{node.name}`; a v1 call takes one key at a time and keeps none",
            )
        elif isinstance(node, LanguageMenu):  # at its own line: the node itself is what v1 cannot do
            self.reason(
                "v1-live-only",
                node.span,
                f"{what} leads to the select_language node `{node.name}`; a v1 call speaks in one voice and lets nobody choose another",
                f"start the flow at `{node.next}` instead and send each caller the call in their language (`ivrflow send --language es-MX`)",
            )
        elif isinstance(node, Menu):
            self.reason(
                "v1-shape",
                span,
                f"{what} leads to the menu `{node.name}`; a v1 call has one menu, right at the start or after the prompt",
                "put the words said before it into the menu's own message",
            )
        elif isinstance(node, Branch):
            self.reason(
                "v1-shape",
                span,
                f"{what} leads to the branch `{node.name}`; in v1 a branch can only come first, after the prompt, or behind a menu key",
                "move the branch before the messages, and give each of its ways the whole text",
            )
        elif isinstance(node, Prompt):
            self.reason(
                "v1-shape",
                span,
                f"{what} leads to the prompt `{node.name}`; in v1 a prompt can only be the first node",
                "make the prompt the start of the flow",
            )
        else:
            self.reason(
                "v1-shape",
                span,
                f"{what} leads to the repeat node `{node.name}`; in v1 only a menu key can repeat",
                "make it a menu choice",
            )

    def body(self, node: Node, span: Span, what: str) -> tuple[str, Menu | None] | None:
        """The part after the optional prompt: one menu, or messages that end the call."""
        if isinstance(node, Menu):
            return node.message, node
        texts = self.chain(node.name, span, what)
        if texts is None:
            if isinstance(self.stopped_at, Menu):  # report the menu's own reasons too
                self.menu(self.stopped_at)
            return None
        if not texts:
            self.reason(
                "v1-shape",
                span,
                f"{what} says nothing before the call ends; a v1 call needs a message",
                "add a `message`",
            )
            return None
        return " ".join(texts), None

    def menu(self, menu: Menu) -> tuple[dict[str, str], str | None, Repeat | None]:
        for key in ("timeout", "no_input", "invalid", "on_fail"):
            if key in menu.key_spans:
                self.reason(
                    "v1-live-only",
                    menu.key_span(key),
                    f"`{key}` of menu `{menu.name}` is live only; a v1 menu has fixed behaviour",
                    f"remove `{key}`",
                )
        if menu.attempts != DEFAULT_ATTEMPTS:
            self.reason(
                "v1-live-only",
                menu.key_span("attempts"),
                f"menu `{menu.name}` gives {menu.attempts} attempts; a v1 menu gives exactly {DEFAULT_ATTEMPTS}",
                "remove `attempts`",
            )
        choices: dict[str, str] = {}
        repeat_digit: str | None = None
        repeat: Repeat | None = None
        for digit, target in menu.choices.items():
            node = self.through(self.flow.nodes.get(target))
            span = menu.target_span(digit)
            if not digit.isdigit():
                self.reason(
                    "v1-live-only",
                    menu.choice_span(digit),
                    f"choice `{digit}` of menu `{menu.name}` is a key v1 does not take; a v1 menu takes the digits 0 to 9",
                    "use a digit",
                )
                continue
            if isinstance(node, Repeat):
                if repeat is not None:
                    self.reason(
                        "v1-shape",
                        span,
                        f"choice `{digit}` of menu `{menu.name}` is a second repeat key; v1 has one (`{repeat_digit}`)",
                        "keep one repeat key",
                    )
                    continue
                if node.max != DEFAULT_REPEAT_MAX:
                    self.reason(
                        "v1-live-only",
                        node.key_span("max"),
                        f"the repeat node `{node.name}` allows {node.max} repeats; v1 allows exactly {DEFAULT_REPEAT_MAX}",
                        "remove `max`",
                    )
                repeat_digit, repeat = digit, node
                continue
            if node is None:
                continue  # unknown-target
            texts = self.chain(node.name, span, f"choice `{digit}` of menu `{menu.name}`")
            if texts is None:
                continue
            if not texts:
                self.reason(
                    "v1-shape",
                    span,
                    f"choice `{digit}` of menu `{menu.name}` says nothing; in v1 every key plays a message",
                    "give the choice a message",
                )
                continue
            choices[digit] = " ".join(texts)
        return choices, repeat_digit, repeat

    def plan(self) -> V1Plan | None:
        flow = self.flow
        start = self.through(flow.nodes.get(flow.start))
        if start is None:
            return None
        prompt: Prompt | None = None
        node: Node | None = start
        what = "the start of the flow"
        span = flow.start_span or start.span
        if isinstance(start, Prompt):
            prompt = start
            if start.on_fail:
                self.reason(
                    "v1-live-only",
                    start.key_span("on_fail"),
                    f"`on_fail` of prompt `{start.name}` is live only; in v1 the call ends after two wrong tries",
                    "remove `on_fail`",
                )
            node = self.through(flow.nodes.get(start.next))
            what, span = f"`next` of prompt `{start.name}`", start.value_span("next")
        if node is None:
            return None
        body = self.body(node, span, what)
        if body is None:
            return None
        message, menu = body
        choices: dict[str, str] = {}
        repeat_digit: str | None = None
        repeat: Repeat | None = None
        if menu is not None:
            choices, repeat_digit, repeat = self.menu(menu)
        if self.reasons:
            return None
        return V1Plan(prompt, message, menu, choices, repeat_digit, repeat)


def plan_v1(flow: Flow, choose: Chooser | None = None) -> tuple[V1Plan | None, list[Diagnostic]]:
    """The flow's v1 shape for one call, its branches resolved by `choose`, or the reasons it has
    none (empty when another rule explains why). Without `choose` (lint, before any call), every
    way out of every branch is tried, each once with the others taking `otherwise`, so that a
    flow fits v1 only when it fits whatever its branches decide."""
    if choose is not None:
        planner = _Planner(flow, choose)
        plan = planner.plan()
        return plan, sorted(planner.reasons, key=Diagnostic.sort_key)  # in line order, as people read the file
    planner = _Planner(flow, lambda branch: branch.otherwise)
    plan = planner.plan()
    reasons = list(planner.reasons)
    for node in flow.nodes.values():
        for case in node.cases if isinstance(node, Branch) else ():
            other = _Planner(flow, _taking(node.name, case.go))
            other.plan()
            reasons += [reason for reason in other.reasons if reason not in reasons]
    return (plan if not reasons else None), sorted(reasons, key=Diagnostic.sort_key)


def _taking(name: str, go: str) -> Chooser:
    """A chooser that sends branch `name` to `go`, and every other branch to its `otherwise`."""
    return lambda branch: go if branch.name == name else branch.otherwise
