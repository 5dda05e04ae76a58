"""The keys a message tells a caller to press ("press 1", "2 to cancel", "oprima 2", "appuyez sur
la touche 3"), read with each language's own words by the menu, prompt and read-back rules.

A language is known by its first two letters (`es` for es-MX and es-ES). For a language with no
words here the rules that read keys stay silent rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivrflow.language.texts import VARIABLE


@dataclass(frozen=True, slots=True)
class Words:
    """How one language tells a caller which key to press."""

    press: tuple[str, ...]  # the verbs: "press", "oprima"
    key: tuple[str, ...]  # what may stand between the verb and the key: "the key", "la tecla"
    then: tuple[str, ...]  # what follows a key and tells what it does: "2 to cancel", "2 para cancelar"
    keys: dict[str, str]  # the keys said as words: "two" → "2"
    joins: tuple[str, ...]  # what joins keys: "1, 2 or 3"


WORDS: dict[str, Words] = {
    "en": Words(
        press=("press", "push", "dial", "enter", "select", "choose", "hit", "type", "key in"),
        key=("the", "key", "number", "digit", "button"),
        then=("to", "for"),
        keys={"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
        | {"seven": "7", "eight": "8", "nine": "9", "star": "*", "pound": "#", "hash": "#"},
        joins=("or", "and"),
    ),
    "es": Words(
        press=("oprima", "presione", "marque", "pulse", "teclee", "digite", "seleccione", "elija", "oprimir", "marcar"),
        key=("el", "la", "tecla", "número", "numero", "botón", "boton"),
        then=("para", "si"),
        keys={"cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6"}
        | {"siete": "7", "ocho": "8", "nueve": "9", "asterisco": "*", "estrella": "*", "numeral": "#", "gato": "#"},
        joins=("o", "u", "y"),
    ),
    "fr": Words(
        press=("appuyez", "tapez", "composez", "pressez", "sélectionnez", "faites", "appuyer", "taper"),
        key=("sur", "le", "la", "touche", "chiffre", "numéro"),
        then=("pour", "si"),
        keys={"zéro": "0", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6"}
        | {"sept": "7", "huit": "8", "neuf": "9", "étoile": "*", "dièse": "#"},
        joins=("ou", "et"),
    ),
    "de": Words(
        press=("drücken sie", "wählen sie", "tippen sie", "drücken", "wählen", "tippen"),
        key=("die", "taste", "ziffer", "nummer"),
        then=("für", "um"),
        keys={"null": "0", "eins": "1", "zwei": "2", "drei": "3", "vier": "4", "fünf": "5", "sechs": "6"}
        | {"sieben": "7", "acht": "8", "neun": "9", "stern": "*", "raute": "#"},
        joins=("oder", "und"),
    ),
    "pt": Words(
        press=("pressione", "digite", "tecle", "aperte", "marque", "disque", "prima", "carregue"),
        key=("o", "a", "tecla", "número", "numero", "botão", "botao"),
        then=("para", "se"),
        keys={"zero": "0", "dois": "2", "três": "3", "tres": "3", "quatro": "4", "cinco": "5"}
        | {"seis": "6", "sete": "7", "oito": "8", "nove": "9", "asterisco": "*", "estrela": "*", "cerquilha": "#"},
        joins=("ou", "e"),
    ),
    "it": Words(
        press=("premi", "premere", "prema", "digita", "digiti", "digitare", "selezioni", "scegli", "componi"),
        key=("il", "la", "tasto", "numero", "cifra"),
        then=("per", "se"),
        keys={"zero": "0", "uno": "1", "due": "2", "tre": "3", "quattro": "4", "cinque": "5", "sei": "6"}
        | {"sette": "7", "otto": "8", "nove": "9", "asterisco": "*", "stella": "*", "cancelletto": "#"},
        joins=("o", "oppure", "e"),
    ),
}


def _any(words: tuple[str, ...] | list[str]) -> str:
    # Longest first, so that "drücken sie" wins over "drücken" and "oppure" over "o".
    return "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in sorted(words, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class _Reader:
    press: re.Pattern[str]  # "press 1, 2 or 3", "appuyez sur la touche 3"
    then: re.Pattern[str]  # "2 to cancel", "9 para repetir"
    key: re.Pattern[str]  # one key, as a digit or a word
    keys: dict[str, str]


def _reader(words: Words) -> _Reader:
    key = rf"(?:[0-9*#]|{_any(list(words.keys))})"
    keys = rf"({key}(?:\s*(?:,\s*(?:{_any(words.joins)})|,|{_any(words.joins)})\s*{key})*)"
    filler = rf"(?:(?:{_any(words.key)})\s+)*"
    return _Reader(
        press=re.compile(rf"(?<!\w)(?:{_any(words.press)})\s+{filler}{keys}(?!\w)", re.IGNORECASE),
        then=re.compile(rf"(?<![\w.:/$-]){keys},?\s+(?:{_any(words.then)})(?!\w)", re.IGNORECASE),
        key=re.compile(rf"(?<!\w){key}(?!\w)", re.IGNORECASE),
        keys=words.keys,
    )


_READERS = {code: _reader(words) for code, words in WORDS.items()}


def knows(language: str) -> bool:
    """Whether the key rules can read `language` (a tag such as es-MX)."""
    return language[:2].lower() in _READERS


def mentioned_digits(text: str, language: str = "en-US") -> set[str]:
    """The keys a message in `language` tells the caller to press (none for a language with no
    words here: see `knows`)."""
    reader = _READERS.get(language[:2].lower())
    if reader is None:
        return set()
    text = VARIABLE.sub(" ", text)
    found: set[str] = set()
    for pattern in (reader.press, reader.then):
        for match in pattern.finditer(text):
            found.update(reader.keys.get(word.lower(), word) for word in reader.key.findall(match.group(1)))
    return found
