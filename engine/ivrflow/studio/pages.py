"""The studio's HTML: the one page, with its settings written in, and a rule's explanation."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from ivrflow.language.catalog import Rule

STATIC = Path(__file__).parent / "static"
CONFIG = "<!--CONFIG-->"


@cache
def _template() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def index_html(config: dict[str, Any]) -> str:
    """The page with its settings (mode, save token) as JSON the page's script reads; `<` escaped
    so that no value can end the script element."""
    data = json.dumps(config).replace("<", "\\u003c")
    return _template().replace(CONFIG, f'<script id="config" type="application/json">{data}</script>')


def _inline(text: str) -> str:
    """Rule text's `code` as <code>, the rest escaped."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def rule_html(rule: Rule) -> str:
    example = f"<h2>Example</h2><pre>{html.escape(rule.example)}</pre>" if rule.example else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{rule.id}: {html.escape(rule.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="../static/studio.css"></head>
<body class="rule"><main>
<p><a href="../">← the studio</a></p>
<h1><code>{rule.id}</code>: {_inline(rule.title)}</h1>
<p>A {rule.severity} ({rule.group}).</p>
<h2>What it catches</h2><p>{_inline(rule.catches)}</p>
<h2>Why it matters to a caller</h2><p>{_inline(rule.why)}</p>
<h2>How to fix it</h2><p>{_inline(rule.fix)}</p>
{example}
</main></body></html>
"""
