"""The rules about flows in several languages, as rows of the rule catalog (language/catalog.py
turns each row into a Rule: id, severity, group, title, what it catches, why, how to fix, example)."""

from __future__ import annotations

LANGUAGE_RULES: list[tuple[str, ...]] = [
    (
        "missing-translation",
        "error",
        "Meaning",
        "A text missing in one of the flow's languages",
        "In a flow with `languages: [en-US, es-MX]`: a message (or `no_input`, `invalid`, `confirm`, `hold`) "
        "written as one text instead of one per language, a mapping without one of the languages, a "
        "`select_language` key whose language has no line, or `language` written beside `languages`.",
        "A caller in that language would hear nothing there, or a text read by another language's voice: "
        "the first complaint of users of other IVR builders, found at run time. Here it is found before a call.",
        "Write the text once per language of the flow, each in its language.",
        'message:\n  en-US: "Goodbye."\n  # bad: no es-MX text\nmessage:\n  en-US: "Goodbye."\n  es-MX: "Adiós."   # good',
    ),
    (
        "translation-not-listed",
        "error",
        "Meaning",
        "A text or a choice in a language the flow does not list",
        "A per-language text or a `select_language` line or choice in a language that is not under `languages`.",
        "A call of this flow is never in that language, so the text is never heard: most often a typing slip "
        "(`es-ES` for `es-MX`) or a language not yet added.",
        "Add the language to `languages`, or correct the tag; the message suggests the nearest listed one.",
        'languages: [en-US, es-MX]\n...\n  es-ES: "Adiós."   # bad: es-ES is not listed',
    ),
    (
        "translation-variables",
        "error",
        "Meaning",
        "A translation that says other values than its first language's text",
        "A per-language text whose `{{ variables }}` are not the same as the flow's first language's text "
        "of the same message: one is left out, or another is added.",
        "Callers in one language would not hear what the others hear (an amount, a date), or hear a blank.",
        "Use the same variables in every language; the order may differ as each language needs.",
        'en-US: "You owe {{ amount }}."\nes-MX: "Usted debe."        # bad: leaves out {{ amount }}',
    ),
]
