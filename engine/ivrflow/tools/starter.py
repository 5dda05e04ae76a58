"""`ivrflow new`: a starting flow that explains itself, lints clean, and comes with its journeys
and a test case, so that a new author begins from something that works."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ivrflow.language.loader import load_flow
from ivrflow.language.schema_files import SCHEMA_DIR
from ivrflow.tools.journeys import journeys_path, render, tests_path, walk_all

FLOW_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_FLOW = """\
# yaml-language-server: $schema={schema}
# {flow}: a starting flow written by `ivrflow new`. Change the words, add nodes, then run
#   ivrflow lint {path}        (are there mistakes?)
#   ivrflow simulate {path}    (hear it, pressing keys in the terminal)
#   ivrflow journeys {path}    (write every path a caller can take, to review and commit)
#   ivrflow test {path}        (the journeys file and the cases in {tests} still hold)
# The flow language: docs/flows.md. Lint rules: docs/rules.md.
flow: {flow}                       # the flow's id: lowercase letters, digits and hyphens
description: A menu that confirms or cancels, and can be heard again.
language: en-US                    # the voice Telesign reads the messages in
message_type: ARN                  # OTP, ARN (alerts, reminders, notifications) or MKT
# vars:                            # call variables, said as {{{{ name }}}} in messages
#   name: "there"                  # each with the default used when a call gives none
nodes:                             # the steps of the call; the first one listed starts it
  menu:
    type: select_digits            # a menu: the caller presses one key
    message: "Hello. Press 1 to confirm, press 2 to cancel, or press 9 to hear this again."
    choices:                       # each key the message names, and the node it leads to
      "1": confirmed
      "2": cancelled
      "9": again
  again:
    type: repeat                   # plays the menu again (3 times at most, then the call ends)
    message: "Here it is again."
  confirmed:
    type: tts_message              # a message; without `next` the call ends after it
    message: "Thank you, that is confirmed."
  cancelled:
    type: tts_message
    message: "That is cancelled."
    next: goodbye
  goodbye:
    type: hangup                   # the end of the call, with optional last words
    message: "Goodbye."
"""

_TESTS = """\
# Hand-written cases for {name}: `ivrflow test` runs them (docs/testing.md).
tests:
  - name: the caller confirms
    keys: "1"                      # the keys pressed, one per question; _ lets a question time out
    says: ["Press 1 to confirm", "Thank you, that is confirmed."]
    ends_at: confirmed
  - name: the caller cancels
    keys: "2"
    says: ["That is cancelled.", "Goodbye."]
    never_says: ["confirmed."]
    ends_at: goodbye
"""


def target(name: str) -> Path:
    """The file `ivrflow new NAME` writes: NAME.yaml (NAME may include folders)."""
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml") else path.with_name(path.name + ".yaml")


def problem_with(path: Path) -> str:
    """Why `path` cannot be written (empty: it can)."""
    flow_id = path.name.removesuffix(path.suffix)
    if not FLOW_ID.match(flow_id):
        return f"`{flow_id}` cannot be a flow id: use lowercase letters, digits and hyphens, like `refill-line`"
    if not path.parent.is_dir():
        return f"{path.parent}: no such folder"
    taken = [p for p in (path, tests_path(path), journeys_path(path)) if p.exists()]
    if taken:
        return f"{taken[0]} already exists; nothing was written (choose another name, or delete it first)"
    return ""


def write(path: Path) -> list[Path]:
    """Write the starting flow, its tests file and its journeys; the files written."""
    local = Path("schemas") / "flow.schema.json"  # a project's own copy, as the bundled flows use
    schema = local if local.is_file() else SCHEMA_DIR / "flow.schema.json"
    modeline = Path(os.path.relpath(schema.resolve(), path.parent.resolve())).as_posix()
    flow_id = path.name.removesuffix(path.suffix)
    shown = path.as_posix()
    tests = tests_path(path)
    path.write_text(_FLOW.format(schema=modeline, flow=flow_id, path=shown, tests=tests.name), encoding="utf-8")
    tests.write_text(_TESTS.format(name=path.name), encoding="utf-8")
    journeys = journeys_path(path)
    flow = load_flow(path)  # the written flow, read as every command reads it
    journeys.write_text(render(flow, walk_all(flow)), encoding="utf-8")
    return [path, tests, journeys]
