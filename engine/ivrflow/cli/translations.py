"""`ivrflow translations export` and `import`: a flow's texts to translators and back, as gettext PO files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ivrflow.cli.common import EXIT_OK
from ivrflow.errors import UsageError
from ivrflow.tools.translations import export_po, import_po, read_flow_file

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def translations_parser(commands: Commands) -> None:
    translations = commands.add_parser(
        "translations",
        help="hand a flow's texts to translators and put their translations back",
        description=(
            "Translators work on a gettext PO file, the format their tools read (Poedit, Weblate, Crowdin, the gettext tools), "
            "never on the flow itself. `export` writes one, `import` puts the translations back into the flow file, changing nothing else in it. "
            "Each translation it puts in is marked `# translated from XXXXXXXX` (a hash of the text it was translated from): when that text "
            "changes, `ivrflow lint` warns translation-outdated and the next export marks the entry fuzzy."
        ),
    )
    actions = translations.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write a flow's texts to translate as a PO file",
        description=(
            "Write a PO file with every text of FLOW that a caller hears, in its first language (msgid), and its translation into LANG "
            "where the flow has one (msgstr; marked fuzzy when its source text changed since). Each entry's context is node.key "
            "(menu.no_input) and its notes tell the translator what it is and what to keep as it is. Exit 0: written; 1: FLOW "
            "cannot be read as a flow; 2: a bad argument."
        ),
    )
    export.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    export.add_argument(
        "--to", required=True, metavar="LANG", help="the language to translate into, one of Telesign's, like es-MX"
    )
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the PO file here (default: print it)")
    export.set_defaults(run=_export)
    imports = actions.add_parser(
        "import",
        help="put a PO file's translations back into a flow",
        description=(
            "Put every translated entry of PO (not empty, not fuzzy) into FLOW, changing nothing else in the file, and add the language to "
            "`languages:`. Entries are skipped, each with a line that says why, when their source text changed since the file was made, "
            "or they name no text of FLOW. Nothing is written when the flow would then not load, or gain an error (a missing translation "
            "included: a flow is translated whole). Importing the same file twice changes nothing. Exit 0: done (see the summary); "
            "1: FLOW cannot be read as a flow; 2: the PO file cannot be used."
        ),
    )
    imports.add_argument("flow", type=Path, metavar="FLOW", help="the flow file to put the translations in")
    imports.add_argument("po", type=Path, metavar="PO", help="the translated PO file")
    imports.add_argument(
        "--language", metavar="LANG", help="the language of the translations (default: the PO file's Language header)"
    )
    imports.set_defaults(run=_import)


def _export(args: argparse.Namespace) -> int:
    flow = read_flow_file(args.flow, "export")
    po = export_po(flow, args.to)
    if args.output is None:
        sys.stdout.write(po)
        return EXIT_OK
    try:
        args.output.write_text(po, encoding="utf-8")
    except OSError as problem:
        raise UsageError(f"ivrflow translations export: cannot write {args.output}: {problem.strerror}") from None
    print(f"wrote {args.output}: {po.count('msgctxt ')} texts of {flow.shown} to translate into {args.to}")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    flow = read_flow_file(args.flow, "import")
    outcome = import_po(flow, args.po, args.language)
    done = "written" if outcome.written else "unchanged"
    print(
        f"{flow.shown} {done}: {len(outcome.put)} {outcome.language} translations put in, "
        f"{outcome.unchanged} already in, {len(outcome.skipped)} skipped"
    )
    for line in outcome.put:
        print(f"  put in: {line}")
    for line in outcome.skipped:
        print(f"  skipped: {line}")
    return EXIT_OK
