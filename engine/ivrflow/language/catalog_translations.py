"""The linter's rule about translations kept up to date, in the words of the catalog (catalog.py
adds it to its table)."""

from __future__ import annotations

from ivrflow.language.catalog_http import Fields

TRANSLATION_RULES: list[Fields] = [
    (
        "translation-outdated",
        "warning",
        "Meaning",
        "A translation made from an earlier version of its source text",
        "A translation whose `# translated from XXXXXXXX` mark does not match the text it was translated from: "
        "the source-language text (the first of `languages`) was changed after the translation was put in. "
        "`ivrflow translations import` writes the mark: the first 8 hex digits of the SHA-256 of the source text.",
        "Callers of that language would hear what the flow used to say, not what it says now: "
        "an old price, a key that no longer does the same thing.",
        "Have it translated again: `ivrflow translations export FLOW --to LANG` marks the entry fuzzy, "
        "and `ivrflow translations import` puts the new translation in with a new mark. If the translation "
        "still says the same (only a typo was fixed in the source), write the new hash the message gives in the mark.",
        "message:\n"
        '  en-US: "Press 1 to confirm your appointment on Monday."   # changed from "... on Friday."\n'
        '  es-MX: "Oprima 1 para confirmar su cita del viernes."  # translated from 5d41402a',
    ),
]
