"""The linter's rules about what a call takes and keeps (collect_digits entries, the variables they
set, sensitive values, transfers that fail), in the words of the catalog (catalog.py adds them to
its table; kept here so that the table stays one screenful per subject)."""

from __future__ import annotations

from ivrflow.language.catalog_http import Fields

CALL_RULES: list[Fields] = [
    (
        "collect-length",
        "error",
        "Meaning",
        "A `collect_digits` node that does not say clearly how many digits it takes",
        "No `length` and no `min_length`/`max_length`; `length` together with either; only one of "
        "`min_length` and `max_length`; or a `min_length` larger than `max_length`.",
        "The engine asks Telesign for the longest entry and refuses shorter ones: without a clear "
        "length, every caller would be told their number is not valid.",
        "Write `length: 7` for exactly 7 digits, or `min_length: 4` and `max_length: 8` for a range.",
        "rx:\n  type: collect_digits\n  length: 7\n  max_length: 9   # bad: which one?",
    ),
    (
        "collect-valid",
        "error",
        "Meaning",
        "A `valid` check that no entry can pass, or that cannot be read",
        "A `pattern` that is not a regular expression, a `between` whose low number is above its "
        "high one or has more digits than the entry may have, a `luhn` check on a one-digit entry.",
        "Every caller would be told their entry is not valid until their attempts run out.",
        "Fix the check as the message says, or remove `valid`.",
        "valid:\n  between: [100, 1]    # bad\nvalid:\n  between: [1, 100]    # good",
    ),
    (
        "unset-variable",
        "error",
        "Meaning",
        "A variable set during the call is used where it may have no value",
        "A `{{ name }}` whose `name` is saved by a `collect_digits` node (`save_as`), used at a node "
        "that some way through the flow reaches without passing that node's `next` (for example its "
        "`on_fail` way, or a menu choice that skips it). The message names one such way.",
        "On that way the caller would hear a blank where the number should be.",
        "Use the variable only after the node that saves it on every way there, or say something "
        "else on the ways that skip it.",
        "rx:\n  type: collect_digits\n  save_as: rx\n  next: found\n  on_fail: sorry\nsorry:\n  type: hangup\n"
        '  message: "We could not find {{ rx }}."   # bad: on_fail saves nothing',
    ),
    (
        "save-as-name",
        "error",
        "Meaning",
        "`save_as` reuses the name of a declared variable or a built-in one",
        "A `save_as` that is also a name under `vars:`, or `caller` or `called`.",
        "Which value a message would say, the one given when the call started or the caller's entry, "
        "would depend on the way the call went.",
        "Give the entry a name of its own.",
        'vars:\n  rx: ""\n...\n  save_as: rx    # bad: `rx` is declared under vars',
    ),
    (
        "sensitive-spoken",
        "error",
        "Meaning",
        "A sensitive entry spoken outside its read-back",
        "A `collect_digits` node with `sensitive: true` whose variable is used in any message but a "
        "`confirm` (or in a dial number).",
        "A sensitive entry (a PIN, a card number) is masked everywhere the engine keeps or shows it; "
        "saying it again is what the flow author should decide once, in the read-back.",
        "Say it back only in `confirm`; elsewhere say something that does not contain it.",
        "",
    ),
    (
        "dial-no-on-fail",
        "warning",
        "Meaning",
        "A transfer without `on_fail` in a flow that is not in English",
        "A `dial` node without `on_fail` in a flow whose `language` is not English.",
        "When nobody answers, the line is busy or Telesign refuses the transfer, a `dial` without "
        "`on_fail` ends the call with the engine's own English words, so it never ends in silence; "
        "in another language's flow, those words are the wrong language.",
        "Add `on_fail:` naming a node that says, in the flow's language, that the call could not be put through.",
        "",
    ),
]
