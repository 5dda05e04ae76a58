"""`ivrflow translations export/import` and the lint rule translation-outdated, as a flow author and a
translator use them: the real command in its own process, PO files checked and rewritten by
gettext's own tools (msgfmt, msgcat, msgmerge) and by polib, as translators' tools do."""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from conftest import ROOT
from ivrflow.language.loader import check_file

BILINGUAL = """\
# A bank's fraud alert, in English and Spanish.
flow: fraud-alert
languages: [en-US, es-MX]   # English first: the language translators work from
vars:
  name: "customer"
nodes:
  menu:
    type: select_digits
    message:
      en-US: "Press 1 if you made this purchase, or press 2 if you did not, {{ name }}."
      es-MX: "Oprima 1 si hizo esta compra, o 2 si no la hizo, {{ name }}."
    no_input: { en-US: "We did not hear a key.", es-MX: 'No escuchamos ninguna tecla.' }   # short on purpose
    choices: { "1": ok, "2": fraud }

  ok:
    type: hangup
    message:
      en-US: >-
        Thank you. Your card
        stays open.
      es-MX: |-
        Gracias.
  fraud:
    type: hangup
    message: { es-MX: "Hemos bloqueado su tarjeta.", en-US: "We have blocked your card." }
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command, in a new process, as a user types it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "engine")}
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def gettext(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, check=False)


def sha8(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@pytest.fixture
def bilingual(tmp_path: Path) -> Path:
    path = tmp_path / "fraud-alert.yaml"
    path.write_text(BILINGUAL, encoding="utf-8")
    return path


@pytest.fixture
def one_language(tmp_path: Path) -> Path:
    path = tmp_path / "refill-reminder.yaml"
    path.write_bytes((ROOT / "flows" / "refill-reminder.yaml").read_bytes())
    return path


def export(flow: Path, language: str = "es-MX") -> Path:
    po = flow.with_suffix(f".{language}.po")
    result = run("translations", "export", flow.name, "--to", language, "-o", po.name, cwd=flow.parent)
    assert result.returncode == 0, result.stderr
    checked = gettext("msgfmt", "--check-format", "-c", "-o", "/dev/null", po.name, cwd=flow.parent)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    return po


def translate(po: Path, words: dict[str, str]) -> None:
    """What a translator's tool does: fill in msgstr by context, save (polib), then the gettext
    tools re-wrap the file (msgcat at 40 columns)."""
    catalog = polib.pofile(str(po))
    for entry in catalog:
        if entry.msgctxt in words:
            entry.msgstr = words[entry.msgctxt]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    catalog.save()
    rewrapped = gettext("msgcat", "--width=40", "-o", po.name, po.name, cwd=po.parent)
    assert rewrapped.returncode == 0, rewrapped.stderr


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added) from `before` to `after`."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def lint(flow: Path) -> subprocess.CompletedProcess[str]:
    return run("lint", "--strict", flow.name, cwd=flow.parent)


def test_export_of_a_bilingual_flow_is_a_po_file_with_what_a_translator_needs(bilingual: Path) -> None:
    catalog = polib.pofile(str(export(bilingual)))
    assert catalog.metadata["Project-Id-Version"] == "fraud-alert"
    assert catalog.metadata["Language"] == "es_MX"
    assert catalog.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert catalog.metadata["X-Generator"].startswith("ivrflow ")
    entries = {entry.msgctxt: entry for entry in catalog}
    assert list(entries) == ["menu.message", "menu.no_input", "ok.message", "fraud.message"]
    menu = entries["menu.message"]
    assert menu.msgid == "Press 1 if you made this purchase, or press 2 if you did not, {{ name }}."
    assert menu.msgstr == "Oprima 1 si hizo esta compra, o 2 si no la hizo, {{ name }}."
    assert menu.occurrences == [("fraud-alert.yaml", "10")]
    assert "Keep {{ name }} as it is" in menu.comment and "press 1, 2" in menu.comment
    assert entries["ok.message"].msgid == "Thank you. Your card stays open."
    assert entries["ok.message"].msgstr == "Gracias."
    assert not any(entry.fuzzy for entry in catalog)  # no marks yet: nothing known to be outdated


def test_round_trip_puts_translations_back_and_changes_nothing_else(bilingual: Path) -> None:
    before = bilingual.read_text(encoding="utf-8")
    po = export(bilingual)
    new = {
        "menu.message": "Oprima 1 si usted hizo esta compra, o 2 si no, {{ name }}.",
        "menu.no_input": 'No escuchamos ninguna tecla "de" su teléfono.',
        "ok.message": "Gracias. Su tarjeta sigue abierta.",
        "fraud.message": "Hemos bloqueado su tarjeta de crédito.",
    }
    translate(po, new)
    result = run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent)
    assert result.returncode == 0, result.stderr
    assert "4 es-MX translations put in" in result.stdout
    after = bilingual.read_text(encoding="utf-8")
    removed, added = changed_lines(before, after)
    # Only the lines of the Spanish texts changed (a block scalar's lines went with it).
    assert removed == [
        '      es-MX: "Oprima 1 si hizo esta compra, o 2 si no la hizo, {{ name }}."',
        "    no_input: { en-US: \"We did not hear a key.\", es-MX: 'No escuchamos ninguna tecla.' }   # short on purpose",
        "      es-MX: |-",
        "        Gracias.",
        '    message: { es-MX: "Hemos bloqueado su tarjeta.", en-US: "We have blocked your card." }',
    ]
    assert all("# translated from " in line for line in added) and len(added) == 4
    assert "# short on purpose  # translated from" in after
    checked = check_file(bilingual)
    assert checked.ok and checked.flow is not None
    spanish = checked.flow.speaking("es-MX").nodes
    assert [getattr(spanish[name], "message", None) for name in ("menu", "ok", "fraud")] == [
        new["menu.message"],
        new["ok.message"],
        new["fraud.message"],
    ]
    assert getattr(spanish["menu"], "no_input", None) == new["menu.no_input"]
    assert lint(bilingual).returncode == 0
    # Exported again, the file shows the translations, none of them fuzzy.
    again = {entry.msgctxt: entry for entry in polib.pofile(str(export(bilingual)))}
    assert {context: entry.msgstr for context, entry in again.items()} == new
    assert not any(entry.fuzzy for entry in again.values())
    # The same file imported twice changes nothing the second time.
    twice = run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent)
    assert twice.returncode == 0 and "unchanged: 0 es-MX translations put in, 4 already in" in twice.stdout
    assert bilingual.read_text(encoding="utf-8") == after


def test_a_changed_source_text_is_outdated_for_lint_fuzzy_for_export_and_skipped_by_import(bilingual: Path) -> None:
    po = export(bilingual)
    translate(po, {"menu.message": "Oprima 1 si hizo esta compra, o 2 si no, {{ name }}."})
    assert run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent).returncode == 0
    translated = po.read_bytes()
    assert lint(bilingual).returncode == 0
    old = "Press 1 if you made this purchase, or press 2 if you did not, {{ name }}."
    new = "Press 1 if you made this purchase today, or press 2 if you did not, {{ name }}."
    bilingual.write_text(bilingual.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    lines = bilingual.read_text(encoding="utf-8").splitlines()
    spanish_line = next(n for n, line in enumerate(lines, 1) if line.startswith('      es-MX: "Oprima 1'))
    linted = lint(bilingual)
    assert linted.returncode == 1  # a warning, failing --strict
    first = linted.stdout.splitlines()[0]
    assert first.startswith(
        f"fraud-alert.yaml:{spanish_line}:14: warning translation-outdated the es-MX message of node `menu`"
    )
    assert f"mark {sha8(old)}, the text now {sha8(new)}" in first
    entries = {entry.msgctxt: entry for entry in polib.pofile(str(export(bilingual)))}
    assert entries["menu.message"].fuzzy and entries["menu.message"].msgid == new
    assert not entries["menu.no_input"].fuzzy
    # The PO file translated from the old text is not put in over the new one.
    po.write_bytes(translated)
    before = bilingual.read_bytes()
    stale = run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent)
    assert stale.returncode == 0
    assert "(menu.message, fraud-alert.yaml:10): the en-US text has changed since this file was made" in stale.stdout
    assert bilingual.read_bytes() == before


def test_a_one_language_flow_becomes_two_languages_keeping_its_layout(one_language: Path) -> None:
    before = one_language.read_text(encoding="utf-8")
    po = export(one_language)
    template = one_language.parent / "template.pot"
    template.write_bytes(po.read_bytes())
    catalog = polib.pofile(str(po))
    spanish = {
        entry.msgctxt: "ES " + entry.msgid.replace("Press", "Oprima").replace(" to ", " para ") for entry in catalog
    }
    translate(po, spanish)
    # A translator's file brought up to date with the template, as gettext's msgmerge does.
    merged = gettext("msgmerge", "--quiet", "-o", po.name, po.name, template.name, cwd=po.parent)
    assert merged.returncode == 0, merged.stderr
    result = run("translations", "import", one_language.name, po.name, cwd=one_language.parent)
    assert result.returncode == 0, result.stderr
    after = one_language.read_text(encoding="utf-8")
    removed, added = changed_lines(before, after)
    assert removed[0] == "language: en-US" and added[0] == "languages: [en-US, es-MX]"
    # Each text line became its key, the same text under en-US, and the Spanish under es-MX.
    at = 0
    for old in removed[1:]:
        key, _, value = old.partition(": ")
        at = added.index(key + ":", at)
        indent = " " * (len(key) - len(key.lstrip()) + 2)
        assert added[at + 1] == f"{indent}en-US: {value}"
        assert added[at + 2].startswith(f'{indent}es-MX: "ES ') and added[at + 2].endswith(
            f"  # translated from {sha8(polib.unescape(value[1:-1]))}"
        )
        at += 3
    assert len(added) == 1 + 3 * (len(removed) - 1)
    assert lint(one_language).returncode == 0
    checked = check_file(one_language)
    assert checked.flow is not None and checked.flow.languages == ("en-US", "es-MX")


def test_a_partial_translation_of_a_new_language_is_refused(one_language: Path) -> None:
    po = export(one_language)
    translate(po, {"gate.message": "Oprima 7 para oír un mensaje de {{ pharmacy }}."})
    before = one_language.read_bytes()
    result = run("translations", "import", one_language.name, po.name, cwd=one_language.parent)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nothing was written" in result.stderr and "es-MX" in result.stderr
    assert one_language.read_bytes() == before


@pytest.mark.parametrize(
    ("translation", "said"),
    [
        ("Oprima 1 si hizo esta compra. " * 60, "1600"),  # over Telesign's limit
        ("Oprima 1 si hizo esta compra, o oprima 2 si no, {{ balance }}.", "balance"),  # not its siblings' variable
    ],
)
def test_a_translation_that_would_break_the_flow_is_refused(bilingual: Path, translation: str, said: str) -> None:
    po = export(bilingual)
    translate(po, {"menu.message": translation})
    before = bilingual.read_bytes()
    result = run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("ivrflow translations import: nothing was written:")
    assert said in result.stderr
    assert bilingual.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["export", "fraud-alert.yaml", "--to", "xx-XX"], "--to xx-XX: Telesign has no voice for that language"),
        (["export", "fraud-alert.yaml", "--to", "es"], "Did you mean es-ES or es-MX?"),
        (["export", "fraud-alert.yaml", "--to", "en-US"], "is the language the flow is written in"),
        (["export", "missing.yaml", "--to", "es-MX"], "missing.yaml: no such file"),
        (["import", "fraud-alert.yaml", "missing.po"], "missing.po: no such file"),
    ],
)
def test_bad_arguments_say_what_is_wrong(bilingual: Path, args: list[str], said: str) -> None:
    before = bilingual.read_bytes()
    result = run("translations", *args, cwd=bilingual.parent)
    assert result.returncode == 2 and said in result.stderr and "Traceback" not in result.stderr
    assert bilingual.read_bytes() == before


def test_a_po_file_for_another_flow_or_not_a_po_file_is_refused(bilingual: Path, one_language: Path) -> None:
    other = export(one_language)
    garbled = bilingual.parent / "garbled.po"
    garbled.write_text('msgid "a"\nmsgstr "b\nnot po at all\n', encoding="utf-8")
    before = bilingual.read_bytes()
    for po, said in (
        (other, "is for the flow `refill-reminder`, but fraud-alert.yaml is the flow `fraud-alert`"),
        (garbled, "garbled.po is not a PO file that can be read"),
    ):
        result = run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent)
        assert result.returncode == 2 and said in result.stderr and "Traceback" not in result.stderr
        assert bilingual.read_bytes() == before


def test_entries_that_name_no_text_are_skipped_and_said(bilingual: Path) -> None:
    po = export(bilingual)
    catalog = polib.pofile(str(po))
    catalog.append(polib.POEntry(msgctxt="nowhere.message", msgid="Hello.", msgstr="Hola."))
    catalog.save()
    result = run("translations", "import", bilingual.name, po.name, cwd=bilingual.parent)
    assert result.returncode == 0
    assert "`nowhere.message` names no text of fraud-alert.yaml" in result.stdout
