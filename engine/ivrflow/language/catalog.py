"""Every rule the linter can report, with the words that explain it to a flow author.

This table is the one source for rule ids, default severities and rule documentation:
docs/rules.md, `ivrflow explain RULE` and the SARIF rule help are all generated from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from ivrflow.language.catalog_branches import BRANCH_RULES, BRANCH_UNSILENCEABLE
from ivrflow.language.catalog_calls import CALL_RULES
from ivrflow.language.catalog_http import HTTP_RULES
from ivrflow.language.catalog_languages import LANGUAGE_RULES
from ivrflow.language.catalog_translations import TRANSLATION_RULES
from ivrflow.telesign.facts import LANGUAGES, MAX_MESSAGE, PHONE_DIGITS_MAX, PHONE_DIGITS_MIN

# Where docs/ is published, for links in SARIF and JSON output. Set IVRFLOW_DOCS_URL to your
# copy (say, your fork's docs folder on GitHub) so that code-scanning links open there.
DOCS_URL = os.environ.get("IVRFLOW_DOCS_URL", "https://github.com/ivrflow/ivrflow/blob/main/docs/")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Literal["error", "warning", "info"]
    group: Literal["YAML", "Shape", "Meaning", "Project", "Telesign v1"]
    title: str
    catches: str
    why: str
    fix: str
    example: str = ""

    @property
    def doc_anchor(self) -> str:
        return f"rules.md#{self.id}"

    @property
    def help_uri(self) -> str:
        return DOCS_URL + self.doc_anchor


_RULES = [
    Rule(
        "yaml-syntax",
        "error",
        "YAML",
        "The file is not valid YAML",
        "A missing colon, a tab used for indenting, an unclosed quote, two documents in one file, "
        "or a YAML feature flows do not use (tags such as `!foo`, merge keys `<<`).",
        "The engine cannot read the flow at all, so no caller would hear anything.",
        "Look at the line shown and the line above it. Indent with spaces, put a space after each "
        "colon, and put quotes around text that contains `: ` or starts with a special character.",
        'message: Press 1: to confirm      # bad: a second ": " inside the text\n'
        'message: "Press 1: to confirm"    # good',
    ),
    Rule(
        "duplicate-key",
        "error",
        "YAML",
        "A key is written twice in the same place",
        "The same key twice in one node, or the same choice digit twice in one menu.",
        "Plain YAML keeps only the last one without a word, so the caller would hear something "
        "other than what the first line says. ivrflow refuses the file instead and names both lines.",
        "Delete one of the two lines, or merge what they say.",
        'choices:\n  "1": confirmed\n  "1": cancelled   # bad: which one should key 1 do?',
    ),
    Rule(
        "not-a-flow",
        "error",
        "Shape",
        "The file is not a flow",
        "An empty file, or a file whose top level is a list or a single value instead of `key: value` lines.",
        "A flow starts with `flow:` and `nodes:`; anything else cannot be run.",
        "Start from one of the bundled flows in `flows/` and change it.",
    ),
    Rule(
        "unknown-key",
        "error",
        "Shape",
        "A key that the flow language does not have",
        "A misspelt key (`nxet` for `next`), or a key that belongs to another node type.",
        "An unknown key is ignored by nothing and understood by nobody: a misspelt `next` would silently end the call.",
        "Use the suggested spelling, or remove the key. Each node type's keys are listed in docs/flows.md.",
        "gate:\n  type: prompt\n  nxet: menu     # bad\n  next: menu     # good",
    ),
    Rule(
        "missing-key",
        "error",
        "Shape",
        "A key that must be there is missing",
        "A node without `type`, a `prompt` without `digit`, a menu without `choices`, a flow without `nodes`.",
        "Without it the engine cannot know what to say or where to go.",
        "Add the key named in the message. The hint says what it is for.",
    ),
    Rule(
        "wrong-type",
        "error",
        "Shape",
        "A value of the wrong kind",
        "Text where a number is needed (`timeout: five`), a number where text is needed, a list where "
        "one value is expected.",
        "The engine would not know how long to wait, or what to say.",
        "Write the kind of value the message asks for. If you meant text that looks like a number "
        "(`1.10`, `007`), put it in quotes.",
        "timeout: five   # bad\ntimeout: 5      # good",
    ),
    Rule(
        "invalid-value",
        "error",
        "Shape",
        "A value that is not one of the allowed ones",
        "A node `type`, `message_type` or `lifecycle_event` that does not exist, a number out of its "
        "range (`attempts: 0`), an empty message, or a name with characters that are not allowed.",
        "Telesign and the engine accept only these values; anything else fails when the call is placed.",
        "Pick one of the values listed in the hint.",
        "type: select_digit    # bad\ntype: select_digits   # good",
    ),
    Rule(
        "bad-digit",
        "error",
        "Shape",
        "A key the caller presses that is not a single digit",
        "A menu choice that is not one key of 0 to 9, `*` or `#`, or a prompt `digit` that is not "
        "one of 0 to 9, such as `10` or `one`.",
        "A phone keypad sends one key at a time; a choice of `10` can never be pressed.",
        "Use one key: a digit from 0 to 9, or `*` or `#` for a menu on a live call (quote those: "
        '`"#":`). Quotes are optional for digits: `1:` and `"1":` mean the same.',
    ),
    Rule(
        "phone-number",
        "error",
        "Shape",
        "A phone number Telesign will not accept",
        f"A number with spaces, dashes or brackets, without its country code, or not {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits long.",
        "Telesign rejects the call, or dials somebody else.",
        "Write the country code and the number as digits only, optionally with a leading `+`: "
        "`+15554441313` or `15554441313`.",
        'caller_id: "(555) 444-1313"   # bad\ncaller_id: "15554441313"       # good',
    ),
    Rule(
        "unknown-language",
        "error",
        "Shape",
        "A language Telesign has no voice for",
        f"A `language` that is not one of Telesign's {len(LANGUAGES)} text-to-speech languages, such as `en` or `english`.",
        'Telesign refuses the call (v1 error 11018 "invalid voice") instead of reading the message.',
        "Use a language tag from the list in the hint, such as `en-US`, `en-GB`, `es-MX` or `fr-FR`.",
    ),
    Rule(
        "message-too-long",
        "error",
        "Meaning",
        "A message longer than Telesign speaks",
        f"A message over {MAX_MESSAGE} characters, or a straight run of messages said as one text over it, counted after `{{{{ variables }}}}` are filled in with their defaults.",
        "Telesign refuses a longer message; callers also stop listening long before that.",
        "Shorten the message, or split it in two with a `prompt` between the parts: a straight run of `tts_message` nodes is said as one text, so the limit holds for the run as a whole.",
    ),
    Rule(
        "unknown-target",
        "error",
        "Meaning",
        "A `next`, `on_fail` or menu choice that names a node that does not exist",
        "A misspelt node name, or a node that was renamed or deleted.",
        "The caller would reach a dead end and the call would fail.",
        "Use the suggested node name, or add the missing node under `nodes:`.",
        "next: mnu    # bad: there is no node `mnu`\nnext: menu   # good",
    ),
    Rule(
        "unknown-start",
        "error",
        "Meaning",
        "`start` names a node that does not exist",
        "A misspelt `start`, or a start node that was renamed.",
        "The call could not begin.",
        "Use the suggested node name, or remove `start` to begin with the first node listed.",
    ),
    Rule(
        "unreachable-node",
        "warning",
        "Meaning",
        "A node that no caller can ever reach",
        "A node that no `start`, `next`, `on_fail` or menu choice leads to.",
        "It is usually a sign of a missing choice or a typo in a target: a message you wrote that nobody will hear.",
        "Point a choice or a `next` at it, or delete it.",
    ),
    Rule(
        "endless-loop",
        "error",
        "Meaning",
        "Messages that lead to each other forever",
        "`tts_message` nodes whose `next` keys form a circle with no menu, prompt or hangup in it.",
        "The caller could never leave: the same messages would play until the call hits Telesign's "
        "four-hour limit, at your cost.",
        "Let one of the messages end the call (remove its `next`) or lead to a menu or a hangup.",
    ),
    Rule(
        "no-way-out",
        "error",
        "Meaning",
        "Callers who can never leave",
        "Nodes from which no path ends the call: a menu whose `on_fail` leads to a message that "
        "leads back to the menu, with no choice that ends the call, no repeat key and no hangup anywhere. "
        "A node can end the call when it is a `hangup`, a `dial` without `next` or without `on_fail`, a message without `next`, a prompt or "
        "menu without `on_fail` (its tries used up hang up), a menu with a repeat key (one press more "
        "than the repeat's `max` hangs up), or when it leads to such a node.",
        "The caller goes round the same words until they hang up, or until the call hits Telesign's "
        "four-hour limit, at your cost.",
        "Give callers one way out of the circle: a choice that leads to a `hangup`, a message without "
        "`next`, or remove `on_fail` so that running out of tries ends the call.",
        'menu:\n  type: select_digits\n  message: "Press 1 for our hours."\n  choices:\n    "1": hours\n'
        "  on_fail: sorry      # bad: sorry leads back to menu, and so does hours\n"
        'sorry:\n  type: tts_message\n  message: "Sorry."\n  next: menu\n'
        '# good: add a choice such as "2": goodbye (a hangup node), or remove on_fail',
    ),
    Rule(
        "repeat-outside-menu",
        "error",
        "Meaning",
        "A `repeat` node that is not a menu choice",
        "A `repeat` node reached through `start`, `next` or `on_fail`, or not reached by any menu choice.",
        "A `repeat` replays the menu whose key the caller pressed; reached any other way, there is no menu to replay.",
        'Make the `repeat` node the target of a menu choice, such as `"9": again`.',
    ),
    Rule(
        "too-many-keys",
        "error",
        "Meaning",
        "A menu with more than 10 keys",
        "A `select_digits` menu with more than 10 choices in all, its repeat key included.",
        "A keypad has ten digits, and Telesign accepts at most ten.",
        'Split the menu in two: put the rarer choices behind an "other options" key.',
    ),
    Rule(
        "menu-key-not-handled",
        "error",
        "Meaning",
        "The menu message names a key that is not a choice",
        'The message says "press 3" (or "3 for", "3 to") but the menu has no choice `"3"`.',
        'The caller does as told and hears "that is not one of the choices", or is hung up on.',
        "Add the missing choice, or change the message.",
        'message: "Press 1 to confirm or 3 to cancel."\nchoices:\n  "1": confirmed\n  "2": cancelled   # bad: the caller is told 3',
    ),
    Rule(
        "menu-key-not-mentioned",
        "warning",
        "Meaning",
        "A menu choice the message never mentions",
        'A choice digit that the menu message does not name ("press 2", "2 to", "2 for").',
        "Callers cannot guess a key nobody told them about.",
        'Name every key in the message, or remove the choice. Checked in English, Spanish, French, German, Portuguese and Italian, each with its own words for "press" (docs/flows.md).',
    ),
    Rule(
        "prompt-digit-mismatch",
        "error",
        "Meaning",
        "A prompt that says a different digit than it waits for",
        'A `prompt` whose message says "press 7" while its `digit` is `5` (an error), or whose message '
        "names no digit at all (a warning).",
        "The caller presses the key they were told and is hung up on.",
        "Make the message and `digit` agree.",
        'message: "Press 7 to hear your code."\ndigit: 5     # bad\ndigit: 7     # good',
    ),
    Rule(
        "undeclared-variable",
        "error",
        "Meaning",
        "A `{{ variable }}` that is not declared",
        "A name in `{{ }}` that is not under `vars:`, not saved by a `collect_digits` node "
        "(`save_as`) and not a built-in (`caller`, `called`).",
        "Found now, at lint time, instead of when a real caller hears a blank.",
        "Declare it under `vars:` with a default value, or fix the spelling.",
        'vars:\n  drug: your prescription\n...\nmessage: "Your {{ durg }} is ready"   # bad',
    ),
    Rule(
        "variable-syntax",
        "error",
        "Meaning",
        "A `{{ }}` that is not a variable name",
        "Braces that are not closed, a name with spaces or punctuation (`{{ first name }}`), or a "
        "filter that does not exist (`{{ rx | upper }}`; the one filter is `digits`).",
        "The caller would hear the braces read out.",
        "Write `{{ name }}` with a name of letters, digits and underscores.",
    ),
    Rule(
        "single-braces",
        "warning",
        "Meaning",
        "A name in single braces, which is spoken as typed",
        "`{drug}` in a message: one brace on each side of a name, as other template languages write a "
        "variable. ivrflow fills in `{{ drug }}` only. Braces around anything that is not a name (`{1 + 2}`) are left alone.",
        'The caller hears the word and perhaps the braces, not the value: "your refill of drug" instead of '
        '"your refill of insulin".',
        "Write `{{ drug }}`. If the name is not a variable yet, declare it under `vars:` with a default.",
        'message: "Your refill of {drug} is ready."      # bad: spoken as typed\n'
        'message: "Your refill of {{ drug }} is ready."  # good',
    ),
    Rule(
        "unused-variable",
        "warning",
        "Meaning",
        "A variable that no message uses",
        "A name under `vars:` that no `{{ }}` in the flow refers to.",
        "Often a sign of a typo in a message, where the intended variable is never filled in.",
        "Use it in a message, or remove it from `vars:`.",
    ),
    *(Rule(*row) for row in CALL_RULES),
    *(Rule(*row) for row in BRANCH_RULES),  # type: ignore[arg-type]
    *(Rule(*row) for row in TRANSLATION_RULES),
    *(Rule(*row) for row in LANGUAGE_RULES),  # type: ignore[arg-type]
    Rule(
        "disable-comment",
        "error",
        "Project",
        "A disable comment that names no rule, or a rule that cannot be silenced",
        "`# ivrflow: disable=rule-id` (on the line a problem is reported at) or `# ivrflow: disable-file=rule-id` "
        "(in the comments at the top of the file) naming a rule that does not exist, or one whose errors leave "
        "the flow unreadable or unrunnable (the YAML and Shape rules, `unknown-target`, `unknown-start`, "
        "`repeat-outside-menu`, `duplicate-flow-id`, `duplicate-number`). A disable comment that silences "
        "nothing is a warning.",
        "A misspelt rule id silences nothing, and the problem you meant to accept is still reported; a "
        "disable that silences nothing hides the next real problem of that kind.",
        "Use a rule id from this page (several separated by commas), fix the errors that cannot be silenced, "
        "and remove disable comments that are no longer needed.",
        'message: "Press 1."   # ivrflow: disable=menu-key-not-mentioned\n'
        "# ivrflow: disable-file=unused-variable, menu-key-not-mentioned   (at the top of the file)",
    ),
    Rule(
        "duplicate-flow-id",
        "error",
        "Project",
        "Two flow files with the same `flow` id",
        "The same `flow:` value in two files checked together.",
        "Calls and reports name flows by id; two flows with one id cannot be told apart.",
        "Give each flow its own id; the file name is a good choice.",
    ),
    Rule(
        "duplicate-number",
        "error",
        "Project",
        "One inbound number listed by two flows",
        "The same phone number under `numbers:` in two flow files checked together.",
        "An incoming call to that number could start either flow.",
        "Keep each number in exactly one flow.",
    ),
    Rule(
        "v1-live-only",
        "error",
        "Telesign v1",
        "Something only the live engine can do (with `--target v1`)",
        "A `dial` or `collect_digits` node, a `*` or `#` menu key, or a tuning key (`timeout`, `attempts` other than 1, `no_input`, `invalid`, "
        "`on_fail`, a repeat `max` other than 3) whose behaviour Telesign's one-request v1 call does not offer.",
        "A v1 call is one request with fixed behaviour; it cannot transfer a call or wait longer.",
        "Remove the key to get v1's fixed behaviour, or run the flow live with `ivrflow serve`.",
    ),
    Rule(
        "v1-shape",
        "error",
        "Telesign v1",
        "A flow shape one v1 request cannot express (with `--target v1`)",
        "More than one menu, a prompt that is not the first node, a message before the menu, a choice "
        "that leads to another menu, two repeat keys, or a choice with nothing to say.",
        "Telesign's v1 call is one level deep: an optional prompt, one menu or message, and one "
        "message per choice, after which the call ends.",
        "Simplify the flow to that shape, or run it live with `ivrflow serve`.",
    ),
]

_RULES += [Rule(*fields) for fields in HTTP_RULES]
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}

# Errors that leave a flow unreadable or unrunnable: a disable comment cannot silence them, since the
# engine would then load a flow it cannot run (a missing node, a call with two flows to start).
UNSILENCEABLE = frozenset(
    {rule.id for rule in _RULES if rule.group in ("YAML", "Shape")}
    | {
        "unknown-target",
        "unknown-start",
        "repeat-outside-menu",
        "duplicate-flow-id",
        "duplicate-number",
        "disable-comment",
    }
    | BRANCH_UNSILENCEABLE
)
