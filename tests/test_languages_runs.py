"""A flow in several languages as flow authors run it: `ivrflow simulate`, `compile`, `journeys`,
`test` and `graph` with `--language` (real subprocesses), the journeys walked from each language,
flow test cases that start in one, and live held equal to v1 in each language."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from conftest import EXAMPLES, FLOWS, ROOT
from ivrflow.language.loader import load_flow
from ivrflow.tools.flowtests import check_flow, live_matches_v1
from ivrflow.tools.graph import dot, mermaid
from ivrflow.tools.journeys import render, walk_all
from test_simulate import ivrflow

FRAUD = FLOWS / "fraud-alert.yaml"
BILINGUAL = EXAMPLES / "good" / "appointment-bilingual.yaml"
PICK_EN = "This is City Bank's fraud department. For English, press 1."
PICK_ES = "Le llama el departamento de fraudes de City Bank. Para español, oprima 2."
ALERT_ES = "Detectamos una compra de $120.00 en Northside Electronics con su tarjeta terminada en 4 8 2 1. Oprima 1 si usted hizo esta compra, oprima 2 si no la hizo, u oprima 9 para escuchar de nuevo."


def _json(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    steps: list[dict[str, object]] = json.loads(result.stdout)
    return steps


# --- ivrflow simulate --language -----------------------------------------------------------------


def test_simulate_starts_in_the_language_and_shows_each_ones_language() -> None:
    """Started in Spanish, silence at pick-language keeps the call in Spanish; each line of the
    select_language is said in its own language."""
    steps = _json(ivrflow("simulate", str(FRAUD), "--keys", "_1", "--language", "es-MX", "--json"))
    assert steps == [
        {"say": PICK_EN, "language": "en-US"},
        {"say": PICK_ES, "language": "es-MX"},
        {"no_input": True},
        {"say": ALERT_ES, "language": "es-MX"},
        {"press": "1"},
        {"say": "Gracias. Su tarjeta sigue activa. Adiós.", "language": "es-MX"},
        {"hangup": True},
    ]
    english = _json(ivrflow("simulate", str(FRAUD), "--keys", "_1", "--json"))  # the first language
    assert english[3] == {
        "say": "We noticed a purchase of $120.00 at Northside Electronics with your card ending in 4 8 2 1. Press 1 if you made this purchase, press 2 if you did not, or press 9 to hear this again.",
        "language": "en-US",
    }
    text = ivrflow("simulate", str(FRAUD), "--keys", "21", "--language", "en-US")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[:4] == [
        f"says (en-US): {PICK_EN}",
        f"says (es-MX): {PICK_ES}",
        "  pressed 2",
        f"says (es-MX): {ALERT_ES}",
    ]


def test_simulate_of_a_one_language_flow_shows_no_language() -> None:
    """A flow in one language: its own language is accepted, and the output is what it always was."""
    plain = ivrflow("simulate", "flows/appointment-reminder.yaml", "--keys", "1")
    own = ivrflow("simulate", "flows/appointment-reminder.yaml", "--keys", "1", "--language", "en-US")
    assert plain.returncode == own.returncode == 0, plain.stderr + own.stderr
    assert plain.stdout == own.stdout
    assert plain.stdout.startswith("says: Hello, this is Riverside Clinic") and "(en-US)" not in plain.stdout
    steps = _json(ivrflow("simulate", "flows/appointment-reminder.yaml", "--keys", "1", "--json"))
    assert all(set(step) != {"say", "language"} for step in steps)


def test_simulate_in_a_language_the_flow_does_not_have_is_a_usage_error() -> None:
    wrong = ivrflow("simulate", str(FRAUD), "--keys", "1", "--language", "es-mx")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert (
        "ivrflow simulate: --language es-mx: the flow 'fraud-alert' has no language 'es-mx'. Did you mean `es-MX`? Its languages: en-US, es-MX."
        in wrong.stderr
    )
    one = ivrflow("simulate", "flows/appointment-reminder.yaml", "--language", "es-ES", "--keys", "1")
    assert one.returncode == 2
    assert "Its languages: en-US. To add one, list it in the flow's `languages:`" in one.stderr


def test_simulate_v1_in_a_language_plays_that_languages_call() -> None:
    live = _json(ivrflow("simulate", str(BILINGUAL), "--keys", "591", "--language", "es-MX", "--json"))
    v1 = _json(ivrflow("simulate", str(BILINGUAL), "--keys", "591", "--language", "es-MX", "--json", "--mode", "v1"))
    assert v1 == live
    assert v1[0] == {"say": "Le llama Riverside Clinic. Oprima 5 para escuchar su recordatorio.", "language": "es-MX"}
    assert v1[-2] == {"say": "Gracias. Su cita está confirmada.", "language": "es-MX"}
    not_v1 = ivrflow("simulate", str(FRAUD), "--keys", "2", "--language", "es-MX", "--mode", "v1")
    assert not_v1.returncode == 1 and "select_language node `pick-language`" in not_v1.stderr


# --- ivrflow compile --language ------------------------------------------------------------------


def test_compile_each_language_in_its_voice() -> None:
    def fields(*language: str) -> dict[str, str]:
        result = ivrflow("compile", str(BILINGUAL), "--to", "15550100200", *language)
        assert result.returncode == 0, result.stderr
        compiled: dict[str, str] = json.loads(result.stdout)
        return compiled

    english, spanish = fields(), fields("--language", "es-MX")
    assert english == fields("--language", "en-US")
    assert (english["voice"], spanish["voice"]) == ("f-en-US", "f-es-MX")
    assert spanish["message"].startswith("Su cita es mañana a las 9:00.")
    assert spanish["tts_repeat"] == "Se lo repetimos."
    assert set(english) == set(spanish)
    wrong = ivrflow("compile", str(BILINGUAL), "--to", "15550100200", "--language", "fr-FR")
    assert wrong.returncode == 2 and "Its languages: en-US, es-MX." in wrong.stderr


# --- journeys --------------------------------------------------------------------------------------


def test_journeys_walk_from_each_language_and_list_each_path_once() -> None:
    flow = load_flow(FRAUD)
    walked = walk_all(flow)
    starts = {journey.language for journey in walked.journeys}
    assert starts == {"en-US", "es-MX"}
    heard = [json.dumps([journey.keys, journey.steps]) for journey in walked.journeys]
    assert len(heard) == len(set(heard))
    # Choosing a language sounds the same whichever the call started in: listed once, under the first.
    chose = [journey for journey in walked.journeys if journey.keys[:1] in (("1",), ("2",))]
    assert chose and {journey.language for journey in chose} == {"en-US"}
    # No choice: the call goes on in the language it started in, so each language has its own paths.
    silent = {journey.language: journey for journey in walked.journeys if journey.keys == (None, "1")}
    assert silent["es-MX"].steps[3] == {"say": ALERT_ES, "language": "es-MX"}
    assert silent["en-US"].steps[3]["language"] == "en-US"
    assert ("pick-language", "1") in walked.choices and ("pick-language", "2") in walked.choices
    assert walked.uncovered(flow) == ([], [])


def test_journeys_file_of_a_flow_in_several_languages_reads_as_yaml() -> None:
    flow = load_flow(FRAUD)
    text = render(flow, walk_all(flow))
    assert text == (ROOT / "flows" / "fraud-alert.journeys.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["languages"] == ["en-US", "es-MX"] and data["journeys"] == len(data["paths"])
    first = data["paths"][0]
    assert first["language"] == "en-US"
    assert first["heard"][:3] == [
        {"language": "en-US", "say": PICK_EN},
        {"language": "es-MX", "say": PICK_ES},
        {"press": "1"},
    ]


def test_journeys_of_one_language_flows_have_no_language() -> None:
    flow = load_flow(FLOWS / "appointment-reminder.yaml")
    walked = walk_all(flow)
    assert {journey.language for journey in walked.journeys} == {""}
    assert "language" not in render(flow, walked)


# --- flow tests ------------------------------------------------------------------------------------


def test_bundled_bilingual_flow_passes_its_tests() -> None:
    result = check_flow(FRAUD)
    assert result.failures == [] and result.cases == 4


def _copy(tmp_path: Path, tests: str) -> Path:
    for suffix in (".yaml", ".journeys.yaml"):
        shutil.copy(FLOWS / f"fraud-alert{suffix}", tmp_path / f"fraud-alert{suffix}")
    (tmp_path / "fraud-alert.tests.yaml").write_text(tests, encoding="utf-8")
    return tmp_path / "fraud-alert.yaml"


def test_a_case_starts_in_its_language(tmp_path: Path) -> None:
    path = _copy(
        tmp_path,
        "tests:\n"
        "  - name: in Spanish\n"
        "    language: es-MX\n"
        '    keys: "_2n"\n'
        '    says: ["Hemos bloqueado su tarjeta.", "Nuestro equipo de fraudes está ocupado."]\n'
        "  - name: the same keys in English hear English\n"
        '    keys: "_2n"\n'
        '    says: ["Hemos bloqueado su tarjeta."]\n',
    )
    failures = [failure.message for failure in check_flow(path).failures if "journeys" not in failure.file]
    assert len(failures) == 1 and failures[0].startswith(
        "test 'the same keys in English hear English': expected to hear 'Hemos bloqueado su tarjeta.'"
    )


def test_a_case_in_a_language_the_flow_does_not_have_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _copy(tmp_path, 'tests:\n  - name: french\n    keys: "1"\n    language: fr-FR\n    says: ["Bonjour"]\n')
    (failure,) = [failure for failure in check_flow(path).failures if failure.file.endswith(".tests.yaml")]
    assert (failure.line, failure.column) == (4, 15)
    assert failure.message == (
        "test 'french': `language`: the flow 'fraud-alert' has no language 'fr-FR'. Its languages: en-US, es-MX."
    )


def test_a_v1_case_in_a_language_plays_that_languages_call(tmp_path: Path) -> None:
    shutil.copy(BILINGUAL, tmp_path / "bilingual.yaml")
    flow = load_flow(tmp_path / "bilingual.yaml")
    (tmp_path / "bilingual.journeys.yaml").write_text(render(flow, walk_all(flow)), encoding="utf-8")
    (tmp_path / "bilingual.tests.yaml").write_text(
        "tests:\n"
        "  - name: the Spanish v1 call\n"
        "    mode: v1\n"
        "    language: es-MX\n"
        '    keys: "52"\n'
        "    heard:\n"
        '      - {say: "Le llama Riverside Clinic. Oprima 5 para escuchar su recordatorio.", language: es-MX}\n'
        '      - press: "5"\n'
        '      - {say: "Su cita es mañana a las 9:00. Oprima 1 para confirmar, oprima 2 para cancelar, u oprima 9 para escuchar de nuevo.", language: es-MX}\n'
        '      - press: "2"\n'
        '      - {say: "Su cita ha sido cancelada. Adiós.", language: es-MX}\n'
        "      - hangup: true\n",
        encoding="utf-8",
    )
    result = check_flow(tmp_path / "bilingual.yaml")
    assert result.failures == [] and result.cases == 1


# --- live = v1, per language -----------------------------------------------------------------------


def test_live_matches_v1_in_the_language_each_journey_starts_in() -> None:
    flow = load_flow(BILINGUAL)
    walked = walk_all(flow)
    assert {journey.language for journey in walked.journeys} == {"en-US", "es-MX"}
    assert live_matches_v1(flow, walked) == []
    # A journey held against the other language's call differs, and says in which language.
    walked.journeys[:] = [
        type(journey)(journey.keys, journey.steps, journey.ends_at, at=journey.at, language="es-MX")
        for journey in walked.journeys
        if journey.language == "en-US"
    ][:1]
    (failure,) = live_matches_v1(flow, walked)
    assert "live and v1 differ in es-MX for keys" in failure.message


# --- graph -----------------------------------------------------------------------------------------


def test_graph_draws_one_language_and_each_keys_language() -> None:
    flow = load_flow(FRAUD)
    drawn = mermaid(flow)
    assert drawn.startswith(
        '---\ntitle: "fraud-alert: texts in en-US (the flow speaks en-US, es-MX)"\n---\nflowchart TD\n'
    )
    assert '  n_pick_language -->|"2: es-MX"| n_alert' in drawn
    assert '  n_pick_language -->|"1: en-US"| n_alert' in drawn
    assert "select_language: This is City Bank" in drawn
    spanish = ivrflow("graph", str(FRAUD), "--language", "es-MX", "--format", "dot")
    assert spanish.returncode == 0, spanish.stderr
    assert 'label="fraud-alert: texts in es-MX (the flow speaks en-US, es-MX)"' in spanish.stdout
    assert "Hemos bloqueado su tarjeta." in spanish.stdout and "We have blocked" not in spanish.stdout
    assert dot(flow.speaking("es-MX")) == spanish.stdout


def test_graph_of_a_one_language_flow_has_no_title() -> None:
    flow = load_flow(FLOWS / "appointment-reminder.yaml")
    assert mermaid(flow).startswith("flowchart TD\n") and "labelloc" not in dot(flow)


def test_v1_fits_only_when_every_language_fits(tmp_path: Path) -> None:
    """A branch on the call's language decides each language's v1 call: lint --target v1 reports
    what the Spanish call cannot do, and, as with any branch, the flow fits v1 only when every way
    fits: compile refuses the English call too."""
    path = tmp_path / "by-language.yaml"
    path.write_text(
        "flow: by-language\n"
        "languages: [en-US, es-MX]\n"
        "nodes:\n"
        "  which:\n"
        "    type: branch\n"
        "    cases:\n"
        "      - when: { language: es-MX }\n"
        "        go: agent\n"
        "    otherwise: news\n"
        "  news:\n"
        "    type: hangup\n"
        '    message: { en-US: "Your order has shipped.", es-MX: "Su pedido ha sido enviado." }\n'
        "  agent:\n"
        "    type: dial\n"
        '    to: "15554440199"\n',
        encoding="utf-8",
    )
    lint = ivrflow("lint", "--target", "v1", str(path))
    assert lint.returncode == 1 and "leads to the dial node `agent`" in lint.stdout
    english = ivrflow("compile", str(path), "--to", "15550100200", "--language", "en-US")
    assert english.returncode == 1 and "leads to the dial node `agent`" in english.stderr
    assert ivrflow("lint", str(path)).returncode == 0
