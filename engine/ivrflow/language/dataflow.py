"""Which variables set during a call (`save_as`, an `http` node's `save`) have a value at each node,
whatever way led there.

A forward "must" analysis over the flow graph: a variable is set at a node when every path from
the start to it leaves some collect_digits or http node that saves it through that node's `next`
(its `on_fail` or `on_error` way saves nothing). Sets are bit masks, one bit per saved name, so a flow of thousands
of nodes with a few saved names is checked in a few passes over its edges. Where a variable is
not set, `missing_path` finds a path that shows why, for the linter's message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ivrflow.language.http_node import Http
from ivrflow.language.model import Collect, Flow


def edges(flow: Flow, name: str) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(key, target, names saved on the way) for each way on from node `name` to a known node."""
    node = flow.nodes[name]
    for key, target in node.targets():
        if target in flow.nodes:
            saved: tuple[str, ...] = ()
            if key == "next" and isinstance(node, Collect):
                saved = (node.save_as,)
            elif key == "next" and isinstance(node, Http):
                saved = tuple(node.save)
            yield key, target, saved


def must_be_set(flow: Flow) -> dict[str, frozenset[str]]:
    """For each node a caller can reach, the saved variables that have a value on arrival."""
    names = sorted(flow.saved())
    if flow.start not in flow.nodes:
        return {}
    bit = {name: 1 << index for index, name in enumerate(names)}
    everything = (1 << len(names)) - 1
    arriving: dict[str, int] = {flow.start: 0}
    todo = deque([flow.start])
    queued = {flow.start}
    while todo:
        name = todo.popleft()
        queued.discard(name)
        here = arriving[name]
        for _, target, saved in edges(flow, name):
            leaving = here
            for each in saved:
                leaving |= bit[each]
            before = arriving.get(target, everything)
            now = before & leaving
            if target not in arriving or now != before:
                arriving[target] = now
                if target not in queued:
                    queued.add(target)
                    todo.append(target)
    return {name: frozenset(n for n in names if mask & bit[n]) for name, mask in arriving.items()}


def missing_path(flow: Flow, variable: str, to: str) -> list[tuple[str, str]]:
    """A shortest way from the start to node `to` that never saves `variable`, as (node, key
    taken out of it) pairs ending with (`to`, ""); empty when every way saves it."""
    came_from: dict[str, tuple[str, str] | None] = {flow.start: None}
    todo = deque([flow.start])
    while todo:
        name = todo.popleft()
        if name == to:
            break
        for key, target, saved in edges(flow, name):
            if variable not in saved and target not in came_from:
                came_from[target] = (name, key)
                todo.append(target)
    if to not in came_from:
        return []
    path = [(to, "")]
    link = came_from[to]
    while link is not None:
        path.append(link)
        link = came_from[link[0]]
    return path[::-1]


def path_words(path: list[tuple[str, str]], most: int = 8) -> str:
    """A path as a reader follows it: "`gate` (7) → `menu` (2) → `done`"."""
    shown = [f"`{name}` ({key})" if key else f"`{name}`" for name, key in path]
    if len(shown) > most:
        shown = [*shown[:3], "…", *shown[-(most - 4) :]]
    return " → ".join(shown)
