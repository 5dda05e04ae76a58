"""docs/rules.md and `ivrflow explain RULE`, written from the rule catalog."""

from __future__ import annotations

from ivrflow.language.catalog import RULES, Rule


def rules_markdown() -> str:
    """docs/rules.md, generated so the docs can never disagree with the linter."""
    lines = [
        "# Lint rules",
        "",
        "<!-- Generated from engine/ivrflow/language/catalog.py by `ivrflow explain --all > docs/rules.md`. Edit the catalog, not this file. -->",
        "",
        "Every problem `ivrflow lint` reports names one of these rules. Errors make `ivrflow lint` fail;",
        "warnings do not, unless you pass `--strict`. `ivrflow explain RULE` prints a rule's section.",
        "",
    ]
    for group in ("YAML", "Shape", "Meaning", "Project", "Telesign v1"):
        lines.append(f"- **{group}**: " + ", ".join(f"[`{r.id}`](#{r.id})" for r in RULES.values() if r.group == group))
    lines.append("")
    for rule in RULES.values():
        lines.append(rule_markdown(rule))
    return "\n".join(lines)


def rule_markdown(rule: Rule) -> str:
    parts = [
        f"## {rule.id}",
        "",
        f"**{rule.title}** ({rule.severity}).",
        "",
        f"**What it catches.** {rule.catches}",
        "",
        f"**Why it matters to a caller.** {rule.why}",
        "",
        f"**How to fix it.** {rule.fix}",
        "",
    ]
    if rule.example:
        parts += ["```yaml", rule.example, "```", ""]
    return "\n".join(parts)
