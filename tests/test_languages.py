"""Flows in several languages: the model's texts per language, select_language on the interpreter,
the keys each language's words name, and the call's language in its stored record."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivrflow.calls.events import CallStarted, HangUp, Speak, SpeakDone, Transfer
from ivrflow.calls.interpreter import new_call, step
from ivrflow.calls.record import CallRecord
from ivrflow.language.loader import load_flow
from ivrflow.language.presses import knows, mentioned_digits

HERE = Path(__file__).parent
FRAUD = load_flow(HERE / "flows" / "languages" / "fraud-alert.yaml")
SIX = load_flow(HERE / "flows" / "good" / "six-languages.yaml")


@pytest.mark.parametrize(
    ("language", "text", "keys"),
    [
        ("en-US", "Press 1 to confirm, 2 to cancel, or press star to go back.", {"1", "2", "*"}),
        ("es-MX", "Para español, oprima 2. Marque el número 3 o 4; 9 para repetir.", {"2", "3", "4", "9"}),
        ("es-ES", "Pulse la tecla asterisco para volver.", {"*"}),
        (
            "fr-FR",
            "Pour le français, appuyez sur la touche 3. Tapez 4 ou 5; dièse pour finir: appuyez sur dièse.",
            {"3", "4", "5", "#"},
        ),
        ("fr-CA", "Faites le 7 pour un agent.", {"7"}),
        (
            "de-DE",
            "Für Deutsch drücken Sie die 4. Wählen Sie die Taste Raute, oder 2, um zu wiederholen.",
            {"4", "#", "2"},
        ),
        ("pt-BR", "Para português, digite 5; tecle 1 ou 2. Digite um número de pedido.", {"5", "1", "2"}),
        ("pt-PT", "Prima a tecla estrela.", {"*"}),
        ("it-IT", "Per l'italiano, premi 6, oppure premere il tasto cancelletto.", {"6", "#"}),
        ("en-US", "It costs $120.00 for you, 3.5 to 4 times a year.", set()),
        ("es-MX", "Su saldo es de 250 pesos.", set()),
    ],
)
def test_each_language_names_keys_with_its_own_words(language: str, text: str, keys: set[str]) -> None:
    assert mentioned_digits(text, language) == keys


def test_a_language_without_words_reads_no_keys() -> None:
    assert not knows("ja-JP") and mentioned_digits("1を押してください", "ja-JP") == set()
    assert all(knows(tag) for tag in ("en-GB", "es-MX", "fr-CA", "de-DE", "pt-PT", "it-IT"))


def test_the_model_keeps_the_first_language_and_speaks_the_others() -> None:
    assert FRAUD.languages == ("en-US", "es-MX") and FRAUD.language == "en-US"
    thanks = FRAUD.nodes["thanks"]
    spanish = FRAUD.speaking("es-MX")
    assert spanish.language == "es-MX" and spanish.speaking("es-MX") is spanish
    assert FRAUD.speaking("es-MX") is spanish  # built once
    assert FRAUD.speaking("en-US") is FRAUD and FRAUD.speaking("fr-FR") is FRAUD and FRAUD.speaking("") is FRAUD
    assert thanks.message == "Thank you. Your card stays active. Goodbye."
    assert spanish.nodes["thanks"].message == "Gracias. Su tarjeta sigue activa. Adiós."
    # each language's text is found where it is written, for lint's carets
    assert thanks.value_span("message").line + 1 == spanish.nodes["thanks"].value_span("message").line
    assert FRAUD.number_languages == {"15558670011": "es-MX"} and FRAUD.numbers == ("15558670010", "15558670011")


def _said(flow_state: tuple[object, object]) -> Speak:
    action = flow_state[1]
    assert isinstance(action, Speak)
    return action


def test_select_language_says_each_line_in_its_voice_and_the_call_goes_on_in_the_choice() -> None:
    state, first = step(FRAUD, new_call(FRAUD), CallStarted({}))
    assert isinstance(first, Speak) and (first.language, first.collect) == ("en-US", False)
    state, second = step(FRAUD, state, SpeakDone())
    assert isinstance(second, Speak) and (second.language, second.collect) == ("es-MX", True)
    assert "oprima 2" in second.text
    state, alert = step(FRAUD, state, SpeakDone("2"))
    assert isinstance(alert, Speak) and alert.language == "es-MX" and alert.text.startswith("Detectamos una compra")
    assert state.language == "es-MX"
    state, blocked = step(FRAUD, state, SpeakDone("2"))
    assert isinstance(blocked, Speak) and blocked.text.startswith("Hemos bloqueado") and blocked.language == "es-MX"
    state, dial = step(FRAUD, state, SpeakDone())
    assert isinstance(dial, Transfer)


def test_no_choice_goes_on_in_the_language_the_call_is_in() -> None:
    state, _ = step(FRAUD, new_call(FRAUD), CallStarted({}))
    state, _ = step(FRAUD, state, SpeakDone())
    state, alert = step(FRAUD, state, SpeakDone(""))  # attempts: 1, so on in the first language
    assert isinstance(alert, Speak) and alert.language == "en-US" and alert.text.startswith("We noticed")
    started_in_spanish = new_call(FRAUD, language="es-MX")
    state, _ = step(FRAUD, started_in_spanish, CallStarted({}))
    state, _ = step(FRAUD, state, SpeakDone())
    state, alert = step(FRAUD, state, SpeakDone("5"))  # not a choice
    assert isinstance(alert, Speak) and alert.language == "es-MX" and alert.text.startswith("Detectamos")


def test_a_call_started_in_a_language_speaks_it_from_the_start() -> None:
    state, menu = step(SIX, new_call(SIX, language="de-DE"), CallStarted({}))
    assert isinstance(menu, Speak) and menu.language == "en-US"  # the language lines are each in their own
    for _ in range(5):
        state, menu = step(SIX, state, SpeakDone())
    assert isinstance(menu, Speak) and menu.language == "it-IT" and menu.collect
    state, menu = step(SIX, state, SpeakDone())  # no key: on in the call's language
    assert isinstance(menu, Speak) and menu.language == "de-DE" and menu.text.startswith("Willkommen bei Main Street")
    state, hours = step(SIX, state, SpeakDone("1"))  # a message and the last words: one text
    assert isinstance(hours, Speak) and hours.text == "Wir haben täglich von 9 bis 17 Uhr geöffnet. Auf Wiederhören."
    state, end = step(SIX, state, SpeakDone())
    assert isinstance(end, HangUp) and state.outcome == "completed" and state.language == "de-DE"


def test_the_language_is_kept_in_the_stored_record_and_old_records_still_load() -> None:
    state, _ = step(FRAUD, new_call(FRAUD, language="es-MX"), CallStarted({}))
    record = CallRecord("c1", state, updated=1.0, created=1.0)
    again = CallRecord.from_json(record.to_json())
    assert again.state.language == "es-MX" and again.state == state
    old = record.to_json().replace(',"language":"es-MX"', "").replace(',"line":0', "")
    assert '"language"' not in old and CallRecord.from_json(old).state.language == ""
