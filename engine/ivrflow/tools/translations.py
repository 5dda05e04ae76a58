"""`ivrflow translations`: a flow's texts out to a gettext PO file for translators, and their
translations back into the flow file.

PO is what translators' tools read and write (Poedit, Weblate, Crowdin, Lokalise, OmegaT, the
gettext tools themselves). One entry per text: its context names the node and key
(`menu.no_input`), its msgid is the source-language text, its msgstr the translation. polib
reads and writes the format, so the quoting, wrapping and escaping are gettext's own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polib

from ivrflow import __version__
from ivrflow.errors import FlowError, UsageError
from ivrflow.language.diagnostics import suggestion
from ivrflow.language.loader import Checked, check_bytes, display_path
from ivrflow.language.presses import mentioned_digits
from ivrflow.language.texts import VARIABLE
from ivrflow.language.translations import Text, Texts, read_texts, text_hash
from ivrflow.language.yamlstrict import Document, parse
from ivrflow.telesign.facts import LANGUAGES
from ivrflow.tools.translation_edits import FlowText, Unsafe

_BOM = "\ufeff"
# What each key is, for the translator's notes.
_WHAT = {
    "message": "what the caller hears at node `{node}`",
    "no_input": "what the caller hears at node `{node}` when they press no key in time",
    "invalid": "what the caller hears at node `{node}` when the keys they pressed are not accepted",
    "confirm": "the read-back at node `{node}`: what the caller typed, said back for them to confirm",
    "hold": "what the caller hears at node `{node}` while they wait for an answer from a web service",
}


@dataclass(frozen=True, slots=True)
class FlowFile:
    """A flow file as read for translation: its text, its parsed form, and its texts."""

    path: Path
    shown: str  # the path as messages show it
    bom: str  # a byte order mark the file starts with, kept when it is written again
    document: Document
    checked: Checked
    texts: Texts


def read_flow_file(path: Path, command: str) -> FlowFile:
    """The flow at `path`, read as the loader reads it; UsageError when there is no such file,
    FlowError when it is not a flow at all (missing translations do not stop it: they are what
    a translator is for)."""
    if not path.is_file():
        raise UsageError(f"ivrflow translations {command}: {path}: no such file")
    data = path.read_bytes()
    checked = check_bytes(data, display_path(path))
    if checked.flow is None:
        raise FlowError(checked.path, [d for d in checked.diagnostics if d.level == "error"])
    text = data.decode("utf-8")
    bom = _BOM if text.startswith(_BOM) else ""
    document = parse(text.removeprefix(_BOM))
    texts = read_texts(checked.flow, document.source, document.text.splitlines())
    return FlowFile(path, checked.path, bom, document, checked, texts)


def target_language(language: str, texts: Texts, command: str, where: str = "--to") -> str:
    """`language` when a flow can be translated into it: a Telesign voice, not the source language."""
    if language == texts.source:
        raise UsageError(
            f"ivrflow translations {command}: {where} {language} is the language the flow is written in; name the language to translate it into"
        )
    if language not in LANGUAGES:
        close = [tag for tag in LANGUAGES if tag.split("-")[0] == language.split("-")[0].split("_")[0].lower()]
        hint = f"did you mean {' or '.join(close)}? " if close else suggestion(language, LANGUAGES)
        raise UsageError(
            f"ivrflow translations {command}: {where} {language}: Telesign has no voice for that language. {hint[:1].upper() + hint[1:]}"
            f"The languages Telesign speaks: {', '.join(LANGUAGES)}"
        )
    return language


def export_po(flow: FlowFile, language: str) -> str:
    """The PO file a translator fills in for `language`: every text, with the translation the
    flow already has (fuzzy when its source text changed since)."""
    language = target_language(language, flow.texts, "export")
    catalog = polib.POFile(wrapwidth=78)
    catalog.header = (
        f"The texts of the flow {flow.texts.flow} ({flow.shown}) to translate from {flow.texts.source} into {language}.\n"
        f"Put them back with: ivrflow translations import {flow.shown} FILE.po"
    )
    catalog.metadata = {
        "Project-Id-Version": flow.texts.flow,
        # Left empty for the translator's tool to fill in (msgfmt -c wants them present).
        "PO-Revision-Date": "",
        "Last-Translator": "",
        "Language-Team": "",
        "Language": language.replace("-", "_"),  # gettext writes ll_CC
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "X-Generator": f"ivrflow {__version__}",
        "X-Source-Language": flow.texts.source.replace("-", "_"),
    }
    for text in flow.texts.texts:
        source = text.entries.get(flow.texts.source)
        if source is None:  # the loader says the source text is missing; nothing to translate from
            continue
        existing = text.entries.get(language)
        entry = polib.POEntry(
            msgctxt=text.context,
            msgid=source.text,
            msgstr=existing.text if existing else "",
            occurrences=[(flow.shown, str(source.span.line))],
            comment="\n".join(notes(text, source.text, flow.texts.source)),
        )
        if existing is not None and existing.mark is not None and existing.mark != text_hash(source.text):
            entry.flags.append("fuzzy")
        catalog.append(entry)
    return str(catalog)


def notes(text: Text, source: str, language: str) -> list[str]:
    """What a translator needs to know about one text, in plain words."""
    said = [_WHAT[text.key].format(node=text.node).capitalize() + "."]
    for written in dict.fromkeys(match.group(0) for match in VARIABLE.finditer(source)):
        said.append(f"Keep {written} as it is: it is filled in during the call.")
    keys = sorted(mentioned_digits(source, language))
    if keys:
        said.append(
            f"The caller is told to press {', '.join(keys)}: the translation must name the same keys, as digits."
        )
    return said


@dataclass(slots=True)
class Imported:
    """What `import` did: the texts put in, those already in, those skipped and why."""

    language: str
    put: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    written: bool = False


def read_po(path: Path) -> polib.POFile:
    """A PO file; UsageError when it is missing or not a PO file."""
    if not path.is_file():
        raise UsageError(f"ivrflow translations import: {path}: no such file")
    try:
        content = path.read_bytes().decode("utf-8").removeprefix(_BOM)
        return polib.pofile(content, wrapwidth=78)
    except UnicodeDecodeError:
        raise UsageError(
            f"ivrflow translations import: {path} is not UTF-8 text; save it as UTF-8 (charset=UTF-8)"
        ) from None
    except (OSError, ValueError) as problem:
        raise UsageError(f"ivrflow translations import: {path} is not a PO file that can be read: {problem}") from None


def import_po(flow: FlowFile, po_path: Path, language: str | None) -> Imported:
    """Put the translations of the PO file at `po_path` into the flow file; write it only when
    something changed and the result loads with no error the flow did not have before."""
    catalog = read_po(po_path)
    shown_po = display_path(po_path)
    written_for = catalog.metadata.get("Project-Id-Version", "").strip()
    if written_for != flow.texts.flow:
        named = f"the flow `{written_for}`" if written_for else "no flow (no Project-Id-Version)"
        raise UsageError(
            f"ivrflow translations import: {shown_po} is for {named}, but {flow.shown} is the flow `{flow.texts.flow}`; "
            f"import it into that flow's file, or export this flow's texts with `ivrflow translations export {flow.shown}`"
        )
    header = catalog.metadata.get("Language", "").strip().replace("_", "-")
    if not language and not header:
        raise UsageError(
            f"ivrflow translations import: {shown_po} does not say its language (no Language header); name it with --language"
        )
    language = target_language(language or header, flow.texts, "import", "--language" if language else "Language")
    outcome = Imported(language)
    edits = FlowText(flow.document)
    wanted: dict[str, str] = {}
    by_context = flow.texts.by_context()
    for entry in catalog:
        if entry.obsolete or not (entry.msgctxt or entry.msgid):
            continue
        where = f"{shown_po}:{entry.linenum}"
        text = by_context.get(entry.msgctxt or "")
        source = text.entries.get(flow.texts.source) if text else None
        if text is None or source is None:
            outcome.skipped.append(f"{where}: `{entry.msgctxt}` names no text of {flow.shown}")
            continue
        at = f"{where} ({text.context}, {flow.shown}:{source.span.line})"
        if not entry.msgstr:
            outcome.skipped.append(f"{at}: not translated yet")
        elif "fuzzy" in entry.flags:
            outcome.skipped.append(f"{at}: marked fuzzy; check the translation, remove the fuzzy mark, import again")
        elif entry.msgid != source.text:
            outcome.skipped.append(
                f"{at}: the {flow.texts.source} text has changed since this file was made; export again and have it translated"
            )
        else:
            existing = text.entries.get(language)
            if existing is not None and existing.text == entry.msgstr and existing.mark == text_hash(source.text):
                outcome.unchanged += 1
                continue
            try:
                edits.put(text, language, entry.msgstr, flow.texts.source)
            except Unsafe as problem:
                outcome.skipped.append(f"{at}: {problem}")
                continue
            wanted[text.context] = entry.msgstr
            outcome.put.append(at)
    if not wanted:
        return outcome
    untranslated = [text for text in flow.texts.texts if language not in text.entries and text.context not in wanted]
    if language not in flow.texts.languages and untranslated:
        listed = "\n".join(f"  {flow.shown}:{text.span.line}: {text.context}" for text in untranslated)
        raise UsageError(
            f"ivrflow translations import: nothing was written: {language} would be a new language of {flow.shown}, "
            f"but {shown_po} does not translate {len(untranslated)} of its {len(flow.texts.texts)} texts:\n{listed}\n"
            "A caller would hear silence there: translate every text, then import again."
        )
    edits.add_language(flow.document.data, flow.texts.source, language)
    try:
        result = edits.result()
    except Unsafe:
        raise UsageError(
            f"ivrflow translations import: nothing was written: two texts of {flow.shown} that are on one line cannot both be changed; "
            "write them on lines of their own, then import again"
        ) from None
    _check(flow, result, language, wanted, shown_po)
    flow.path.write_bytes((flow.bom + result).encode("utf-8"))
    outcome.written = True
    return outcome


def _check(flow: FlowFile, result: str, language: str, wanted: dict[str, str], shown_po: str) -> None:
    """UsageError, and nothing written, unless `result` holds exactly the translations wanted, the
    other texts as they were, and loads with no error the flow did not have before."""
    checked = check_bytes((flow.bom + result).encode("utf-8"), flow.shown)
    before = Counter((d.rule, d.message) for d in flow.checked.diagnostics if d.level == "error")
    new = [d for d in checked.diagnostics if d.level == "error" and not _seen(before, d.rule, d.message)]
    if checked.flow is None or new:
        lines = "\n".join(f"  {flow.shown}:{d.span.line}: {d.rule}: {d.message}" for d in new)
        raise UsageError(
            f"ivrflow translations import: nothing was written: with the translations of {shown_po}, {flow.shown} would not load:\n"
            f"{lines}\n(lines as they would be after the import) Fix those translations in the PO file, then import again."
        )
    document = parse(result)
    after = read_texts(checked.flow, document.source, document.text.splitlines()).by_context()
    for text in flow.texts.texts:
        now = after.get(text.context)
        expected = {lang: entry.text for lang, entry in text.entries.items()}
        if text.context in wanted:
            expected[language] = wanted[text.context]
        if now is None or {lang: entry.text for lang, entry in now.entries.items()} != expected:
            raise UsageError(
                f"ivrflow translations import: nothing was written: {text.context} of {flow.shown} could not be changed "
                "without changing other text; put its translation in by hand"
            )


def _seen(before: Counter[tuple[str, str]], rule: str, message: str) -> bool:
    if before[(rule, message)] > 0:
        before[(rule, message)] -= 1
        return True
    return False
