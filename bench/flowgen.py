"""Generate realistic flow files of a given size for the benchmarks."""

from __future__ import annotations

import random


def flow_text(flow_id: str, nodes: int, seed: int = 0) -> str:
    """A valid flow of about `nodes` nodes: a chain of menus, each with messages, a repeat and a way on."""
    rng = random.Random(seed)
    lines = [
        "# yaml-language-server: $schema=../schemas/flow.schema.json",
        f"flow: {flow_id}",
        "description: Generated for benchmarks.",
        "language: en-US",
        "message_type: ARN",
        "vars:",
        '  name: "friend"',
        "nodes:",
    ]
    menus = max(1, nodes // 4)  # each menu brings 4 nodes; plus one goodbye
    for m in range(menus):
        following = f"menu-{m + 1}" if m + 1 < menus else "goodbye"
        lines += [
            f"  menu-{m}:",
            "    type: select_digits",
            f'    message: "Hello {{{{ name }}}}, this is menu {m}. Press 1 for news, 2 for help, 3 to go on, or 9 to hear this again."',
            "    choices:",
            f'      "1": news-{m}',
            f'      "2": help-{m}',
            f'      "3": {following}',
            f'      "9": again-{m}',
            f"    timeout: {rng.randint(3, 9)}",
            "    attempts: 2",
            f"  news-{m}:",
            "    type: tts_message",
            f'    message: "Here is news item {rng.randint(1, 99999)} for you."',
            f"    next: menu-{m}",
            f"  help-{m}:",
            "    type: tts_message",
            '    message: "Help is on the way."',
            f"    next: {following}",
            f"  again-{m}:",
            "    type: repeat",
            '    message: "Once more."',
        ]
    lines += ["  goodbye:", "    type: hangup", '    message: "Goodbye."']
    return "\n".join(lines) + "\n"
