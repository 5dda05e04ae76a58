"""The strict YAML loader: only the readings nobody is surprised by."""

from __future__ import annotations

import pytest

from ivrflow.language.yamlstrict import parse


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("NO", "NO"),
        ("no", "no"),
        ("on", "on"),
        ("Yes", "Yes"),
        ("True", "True"),
        ("0123", "0123"),
        ("0o17", "0o17"),
        ("0x1F", "0x1F"),
        ("12:30", "12:30"),
        ("2024-01-05", "2024-01-05"),
        ("1_000", "1_000"),
        (".5", ".5"),
        ("true", True),
        ("false", False),
        ("0", 0),
        ("-7", -7),
        ("15", 15),
        ("1.10", 1.1),
        ("1e3", 1000.0),
        ("null", None),
        ("~", None),
        ("", None),
        ('"0123"', "0123"),
        ("'on'", "on"),
    ],
)
def test_values_stay_as_typed(written: str, value: object) -> None:
    document = parse(f"key: {written}\n")
    assert document.diagnostics == []
    assert document.data == {"key": value}
    assert type(document.data["key"]) is type(value)


@pytest.mark.parametrize("key", ["1", "0", "on", "NO", "true", "null", "12:30"])
def test_keys_are_always_the_typed_text(key: str) -> None:
    assert parse(f"{key}: x\n").data == {key: "x"}


def test_typed_text_and_positions_are_kept() -> None:
    document = parse("flow: x\nnodes:\n  menu:\n    digit: 05\n")
    path = ("nodes", "menu", "digit")
    assert document.source.typed[path] == "05"
    value = document.source.values[path]
    assert (value.line, value.column) == (4, 12)
    key = document.source.keys[path]
    assert (key.line, key.column, key.end_column) == (4, 5, 10)


def test_duplicate_key_names_both_lines_and_keeps_the_first() -> None:
    document = parse("a: 1\nb: 2\na: 3\n")
    assert document.data == {"a": 1, "b": 2}
    [problem] = document.diagnostics
    assert problem.rule == "duplicate-key"
    assert (problem.span.line, problem.span.column) == (3, 1)
    assert "line 1" in problem.message and "line 3" in problem.message


def test_duplicate_digit_key_quoted_and_unquoted() -> None:
    [problem] = parse('choices:\n  1: a\n  "1": b\n').diagnostics
    assert problem.rule == "duplicate-key" and problem.span.line == 3


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a:\n\tb: 1\n", 2, "tabs"),
        ("a: b: c\n", 1, "quotes"),
        ("a: 'open\n", 1, "quote opened on line 1 is never closed"),
        ("a: 1\n---\nb: 2\n", 2, "one flow per file"),
        ("a: *nothing\n", 1, "anchor"),
        ("a: !custom 1\n", 1, "tag"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", 3, "merge keys"),
        ("a: &x [*x]\n", 1, "aliases"),
        ("? [a, b]\n: 1\n", 1, "plain word"),
    ],
)
def test_bad_yaml_is_a_diagnostic_never_an_exception(text: str, line: int, words: str) -> None:
    document = parse(text)
    [problem] = document.diagnostics
    assert problem.rule == "yaml-syntax"
    assert problem.span.line == line
    assert words in problem.message + problem.hint


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (
            'flow: x\nnodes:\n  bye:\n    type: hangup\n     message: "Hi"\n',
            5,
            6,
            "`message:` is indented 1 space more than `type:` on line 4",
        ),
        (
            "flow: x\nnodes:\n  bye:\n    type: hangup\n      message: Hi\n",
            5,
            7,
            "`message:` is indented 2 spaces more than `type:` on line 4",
        ),
        (
            'flow: x\nnodes:\n  bye:\n    type: hangup\n   message: "Hi"\n',
            5,
            4,
            "`message:` is indented 1 space less than `type:` on line 4",
        ),
        (
            "flow: x\n nodes:\n  a:\n    type: hangup\n",
            2,
            2,
            "`nodes:` is indented 1 space more than `flow:` on line 1",
        ),
        (
            "flow: x\nnodes:\n  a:\n    type: hangup\n    message: >\n      hi\n     next: b\n",
            7,
            6,
            "`next:` is indented 1 space more than `message:` on line 5",
        ),
        (
            'flow: x\nnodes:\n  a:\n    choices:\n      "1": a\n       "2": a\n',
            6,
            8,
            '`"2":` is indented 1 space more than `"1":` on line 5',
        ),
    ],
)
def test_a_key_indented_wrongly_is_said_to_be_indented_wrongly(text: str, line: int, column: int, words: str) -> None:
    [problem] = parse(text).diagnostics
    assert (problem.rule, problem.span.line, problem.span.column) == ("yaml-syntax", line, column)
    assert words in problem.message
    assert "quotes" not in problem.hint and "mapping values" not in problem.message


def test_a_colon_inside_a_value_still_asks_for_quotes() -> None:
    [problem] = parse("flow: x\nnodes:\n  bye:\n    message: Press 1: to confirm\n    type: hangup\n").diagnostics
    assert "quotes" in problem.hint and "indented" not in problem.message
