"""What the linter says about a flow: one Diagnostic per problem, with where, what and how to fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from ivrflow.language.catalog import RULES

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[Severity, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a file, 1-based, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: `file:line:col: severity rule message`, plus a hint that says what to write."""

    rule: str
    span: Span
    message: str
    hint: str = ""
    severity: Severity | None = None  # None: the rule's default severity from the catalog
    file: str = ""
    suppressed_by: str = ""  # the disable comment that silenced it, like `# ivrflow: disable=x on line 7`

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"diagnostic for unknown rule {self.rule!r}")
        if self.severity is None:
            object.__setattr__(self, "severity", RULES[self.rule].severity)

    @property
    def level(self) -> Severity:
        assert self.severity is not None  # set in __post_init__
        return self.severity

    def __str__(self) -> str:
        """One line, as in logs: `file:line:col: severity rule message`."""
        return f"{self.file}:{self.span.line}:{self.span.column}: {self.level} {self.rule} {self.message}"

    def in_file(self, file: str) -> Diagnostic:
        return replace(self, file=file)

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.file, self.span.line, self.span.column, SEVERITY_ORDER[self.level], self.rule)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest valid spelling of `word`, if one is close enough to be a likely typo."""
    options = list(choices)
    folded = {choice.casefold(): choice for choice in options}
    if word.casefold() in folded:
        return folded[word.casefold()]
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggestion(word: str, choices: Iterable[str]) -> str:
    """`did you mean `x`? ` or an empty string, ready to start a hint."""
    match = did_you_mean(word, choices)
    return f"did you mean `{match}`? " if match else ""


def no_such_variable(flow_id: str, name: str, declared: Iterable[str]) -> str:
    """Why a call cannot be given the variable `name`: the words the calls API and the commands share."""
    names = list(declared)
    hint = suggestion(name, names)
    return f"the flow {flow_id!r} has no variable {name!r}. {hint[:1].upper() + hint[1:]}Its variables: {', '.join(sorted(names)) or 'none'}"


def no_such_language(flow_id: str, language: str, languages: Iterable[str]) -> str:
    """Why a call with a flow cannot start in `language`: the words the commands and flow tests share."""
    names = list(languages)
    hint = suggestion(language, names)
    more = (
        ""
        if len(names) > 1
        else f" To add one, list it in the flow's `languages:` (like `languages: [{names[0]}, {language}]`) and translate every text."
    )
    return f"the flow {flow_id!r} has no language {language!r}. {hint[:1].upper() + hint[1:]}Its languages: {', '.join(names)}.{more}"


def count(diagnostics: Iterable[Diagnostic]) -> dict[Severity, int]:
    totals: dict[Severity, int] = {"error": 0, "warning": 0, "info": 0}
    for diagnostic in diagnostics:
        totals[diagnostic.level] += 1
    return totals
