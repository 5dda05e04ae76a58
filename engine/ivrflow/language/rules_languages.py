"""The rules of a flow in several languages: every text in every language, with the same variables;
languages the flow lists; a `select_language` that tells each caller, in their language, which key
to press. (The rules that read words run once per language: rules.py, WORD_CHECKS.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ivrflow.language.branches import Branch
from ivrflow.language.diagnostics import Diagnostic, Span, suggestion
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.presses import knows, mentioned_digits
from ivrflow.language.texts import used_names

if TYPE_CHECKING:
    from ivrflow.language.rules import Checker


def _listed(check: Checker) -> str:
    return ", ".join(check.flow.languages)


def _add_hint(check: Checker, language: str) -> str:
    return suggestion(language, check.flow.languages) + (
        f"Add it to the flow's languages (`languages: [{_listed(check)}, {language}]`), or use one of: {_listed(check)}."
    )


def _not_listed(check: Checker, span: Span, what: str, language: str) -> Diagnostic:
    """`what` (a text, a choice, a number) is in `language`, which the flow does not list."""
    return Diagnostic(
        "translation-not-listed",
        span,
        f"{what} {language}, which is not one of the flow's languages ({_listed(check)})",
        _add_hint(check, language),
    )


def languages_written_twice(check: Checker) -> Iterator[Diagnostic]:
    if check.flow.language_span is not None:
        yield Diagnostic(
            "invalid-value",
            check.flow.language_span,
            "the flow has both `language` and `languages`",
            f"remove `language`: `languages: [{_listed(check)}]` lists them all, the first the one a call starts in",
        )


def missing_translation(check: Checker) -> Iterator[Diagnostic]:
    """Every text in every language of the flow, and in none it does not list."""
    several = len(check.flow.languages) > 1
    for wording in check.flow.wordings:
        where = f"`{wording.key}` of node `{wording.node}`"
        if several and not wording.per_language:
            mapping = ", ".join(f'{language}: "..."' for language in check.flow.languages)
            yield Diagnostic(
                "missing-translation",
                wording.spans[check.flow.languages[0]],
                f"{where} is one text, but the flow speaks {_listed(check)}: callers in the others would hear it in the wrong voice",
                f"write it once per language, each in its language: `{wording.key}: {{ {mapping} }}`, or one line per language under `{wording.key}:`",
            )
            continue
        node = check.flow.nodes[wording.node]
        for language in check.flow.languages:
            if language not in wording.texts:
                yield Diagnostic(
                    "missing-translation",
                    node.key_span(wording.key),
                    f"{where} has no {language} text: a caller in {language} would hear nothing there",
                    f'add `{language}: "..."` under `{wording.key}`, in {language}',
                )
        for language, span in wording.spans.items():
            if language not in check.flow.languages:
                yield _not_listed(check, span, f"{where} has a text in", language)


def translation_variables(check: Checker) -> Iterator[Diagnostic]:
    """A translation says the same values as its first language's text."""
    first = check.flow.languages[0]
    for wording in check.flow.wordings:
        if first not in wording.texts:
            continue
        wanted = used_names(wording.texts[first])
        for language, text in wording.texts.items():
            used = used_names(text)
            if language == first or used == wanted or language not in check.flow.languages:
                continue
            parts = [f"uses {_names(used - wanted)}" if used - wanted else ""]
            parts.append(f"leaves out {_names(wanted - used)}" if wanted - used else "")
            yield Diagnostic(
                "translation-variables",
                wording.spans[language],
                f"the {language} text of `{wording.key}` of node `{wording.node}` {' and '.join(p for p in parts if p)}, unlike its {first} text",
                f"say the same values in every language: the {first} text uses {_names(wanted) or 'no variable'}",
            )


def _names(names: set[str]) -> str:
    return ", ".join(f"{{{{ {name} }}}}" for name in sorted(names))


def language_choices(check: Checker) -> Iterator[Diagnostic]:
    """A select_language offers the flow's languages, and each line names its keys in its language."""
    for node in check.nodes(LanguageMenu):
        assert isinstance(node, LanguageMenu)
        for key, language in node.choices.items():
            if language not in check.flow.languages:
                span = node.language_spans.get(key, node.key_span("choices"))
                yield _not_listed(check, span, f"key `{key}` of `{node.name}` chooses", language)
            elif language not in node.lines:
                yield Diagnostic(
                    "missing-translation",
                    node.key_span("message"),
                    f"`{node.name}` has no {language} line: callers who need {language} are never told to press {key}",
                    f'add `{language}: "..."` under `message`, in {language}, saying to press {key}',
                )
        for language, line in node.lines.items():
            if language not in check.flow.languages:
                yield _not_listed(check, node.line_span(language), f"`{node.name}` has a line in", language)
                continue
            yield from _line_keys(check, node, language, line)


def _line_keys(check: Checker, node: LanguageMenu, language: str, line: str) -> Iterator[Diagnostic]:
    if not knows(language):
        return
    said, keys = mentioned_digits(line, language), node.keys_for(language)
    span = node.line_span(language)
    for key in sorted(said - set(keys)):
        chosen = node.choices.get(key)
        what = f"chooses {chosen}" if chosen else "is not one of its choices"
        yield Diagnostic(
            "menu-key-not-handled",
            check.within(span, key),
            f"the {language} line of `{node.name}` tells the caller to press {key}, but {key} {what}",
            f"say the key that chooses {language}: {', '.join(keys)}" if keys else f"add a choice for {language}",
        )
    for key in keys:
        if key not in said:
            yield Diagnostic(
                "menu-key-not-mentioned",
                node.choice_spans.get(key, node.key_span("choices")),
                f"key `{key}` of `{node.name}` chooses {language}, but the {language} line never says to press it",
                f'say it in {language}, such as the line\'s own words for "press {key}"',
            )


def number_languages(check: Checker) -> Iterator[Diagnostic]:
    """A number that starts its calls in a language the flow does not speak."""
    for number, span in zip(check.flow.numbers, check.flow.number_spans, strict=True):
        language = check.flow.number_languages.get(number)
        if language is not None and language not in check.flow.languages:
            yield _not_listed(check, span, f"calls to {number} start in", language)


def language_tests(check: Checker) -> Iterator[Diagnostic]:
    """A branch that tests a language the call can never be in."""
    for node in check.nodes(Branch):
        assert isinstance(node, Branch)
        for index, case in enumerate(node.cases):
            language = case.when.language
            if language is not None and language not in check.flow.languages:
                yield Diagnostic(
                    "unknown-language",
                    case.span,
                    f"case {index + 1} of `{node.name}` tests the language {language}, but a call of this flow is only ever in {_listed(check)}",
                    _add_hint(check, language),
                )


LANGUAGE_CHECKS = (
    languages_written_twice,
    missing_translation,
    translation_variables,
    language_choices,
    number_languages,
    language_tests,
)
