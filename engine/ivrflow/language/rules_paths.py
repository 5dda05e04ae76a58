"""Semantic rules about the paths through a flow: nodes no call reaches, messages that lead to
each other forever, and callers who can never leave. Each rule is one function of the checker,
as in rules.py, which runs them with its own; each is linear in the size of the flow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ivrflow.language.branches import Branch
from ivrflow.language.diagnostics import Diagnostic
from ivrflow.language.model import Collect, Dial, Flow, Menu, Message, Node, Prompt, Repeat

if TYPE_CHECKING:
    from ivrflow.language.rules import Checker


def reachable(flow: Flow) -> set[str]:
    """Names of the nodes a caller can reach from the start."""
    seen: set[str] = set()
    todo = [flow.start] if flow.start in flow.nodes else []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(target for _, target in flow.nodes[name].targets() if target in flow.nodes and target not in seen)
    return seen


def unreachable_node(check: Checker) -> Iterator[Diagnostic]:
    if check.flow.start not in check.flow.nodes:
        return  # everything would be unreachable; unknown-start says what is wrong
    seen = reachable(check.flow)
    for node in check.flow.nodes.values():
        if node.name not in seen:
            hint = "point a menu choice or a `next` at it, or delete it"
            yield Diagnostic(
                "unreachable-node", node.span, f"no caller can reach node `{node.name}`: nothing leads to it", hint
            )


def endless_loop(check: Checker) -> Iterator[Diagnostic]:
    # Each tts_message has one way on, so its `next` links form chains; a chain that comes back
    # to itself is a circle of messages the caller can never leave.
    nodes = check.flow.nodes
    state: dict[str, int] = {}  # 1: on the chain being walked, 2: done
    for name, node in nodes.items():
        if not isinstance(node, Message) or name in state:
            continue
        chain: list[str] = []
        current: str | None = name
        while current is not None and current not in state:
            link = nodes.get(current)
            if not isinstance(link, Message):
                break
            state[current] = 1
            chain.append(current)
            current = link.next
        if current is not None and state.get(current) == 1:
            circle = chain[chain.index(current) :]
            shown = (
                " → ".join(f"`{n}`" for n in [*circle[:6], circle[0]])
                if len(circle) <= 6
                else " → ".join(f"`{n}`" for n in circle[:6]) + " → …"
            )
            first = min(circle, key=lambda n: (nodes[n].span.line, nodes[n].span.column))
            hint = "let one of these messages end the call (remove its `next`), or lead to a menu or a hangup"
            yield Diagnostic(
                "endless-loop", nodes[first].span, f"these messages lead to each other forever: {shown}", hint
            )
        for done in chain:
            state[done] = 2


def ends_here(flow: Flow, node: Node) -> bool:
    """Whether the call can end at `node` itself, without going on to another node. A node type
    that is not listed is taken to be able to end the call, so that it never causes a false alarm."""
    if isinstance(node, Message):
        return node.next is None  # the end of a message without `next` ends the call
    if isinstance(node, Prompt):
        return node.on_fail is None  # two wrong tries hang up
    if isinstance(node, Menu):
        # Attempts used up hang up; so does pressing a repeat key once more than its `max`.
        return node.on_fail is None or any(
            isinstance(flow.nodes.get(target), Repeat) for target in node.choices.values()
        )
    if isinstance(node, Collect):
        return node.on_fail is None  # attempts used up hang up
    if isinstance(node, Dial):  # a failed transfer without `on_fail`, or one the far end ends without `next`
        return node.on_fail is None or node.next is None
    # A branch only chooses where the call goes on. Every other node can end the call: a hangup; a
    # repeat (after its `max` the call ends).
    return not isinstance(node, Branch)


def no_way_out(check: Checker) -> Iterator[Diagnostic]:
    # A node can end the call when it ends it itself or leads to a node that can; found backwards
    # from the nodes that end it, each link looked at once. What is left is a trap: every path from
    # it stays inside it. Circles of messages alone are endless-loop's to report.
    nodes = check.flow.nodes
    leads_here: dict[str, list[str]] = {name: [] for name in nodes}
    for node in nodes.values():
        for _, target in node.targets():
            if target in leads_here:
                leads_here[target].append(node.name)
    can_end = {
        name
        for name, node in nodes.items()
        if ends_here(check.flow, node) or any(target not in nodes for _, target in node.targets())
    }
    todo = list(can_end)
    while todo:
        for before in leads_here[todo.pop()]:
            if before not in can_end:
                can_end.add(before)
                todo.append(before)
    done: set[str] = set()
    for name in sorted(
        (n for n in nodes if n not in can_end), key=lambda n: (nodes[n].span.line, nodes[n].span.column)
    ):
        # Follow one way on from each trapped node (the last: a menu's `on_fail`, what a silent
        # caller gets) until a node comes back; that circle is what the message names.
        path: list[str] = []
        current = name
        while current not in done and current not in path:
            path.append(current)
            current = [target for _, target in nodes[current].targets()][-1]
        done.update(path)
        if current not in path:
            continue  # it leads into a trap already reported
        circle = path[path.index(current) :]
        if all(isinstance(nodes[n], Message) for n in circle):
            continue
        shown = " → ".join(f"`{n}`" for n in [*circle, circle[0]][:8]) + (" → …" if len(circle) > 7 else "")
        first = min(circle, key=lambda n: (nodes[n].span.line, nodes[n].span.column))
        hint = "give callers a way to end the call from here: a `hangup` node, a message without `next`, a menu, prompt or collect_digits without `on_fail` (its tries used up hang up), a repeat key, or a `dial` without `next` or without `on_fail`"
        yield Diagnostic(
            "no-way-out",
            nodes[first].span,
            f"callers could never leave: {shown}, and no path from these nodes ends the call",
            hint,
        )
