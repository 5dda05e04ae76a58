"""The folders of good and bad example flows: each bad flow says, in `# expect:` comments, the
diagnostics it must produce (line, column, rule, and words the message or hint must contain)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES, FLOWS
from ivrflow.language.http_node import parse_hosts
from ivrflow.language.lint import flow_files, lint
from ivrflow.language.loader import Target, check_bytes

EXPECT = re.compile(r"^# expect: (\d+):(\d+) ([a-z0-9-]+)(?: (.*))?$", re.MULTILINE)

GOOD = sorted((EXAMPLES / "good").glob("*.yaml")) + sorted(flow_files([FLOWS]))
# A bad case is a file, or a folder whose files are checked together (rules across files).
BAD = sorted(
    p for p in (EXAMPLES / "bad").iterdir() if p.suffix == ".yaml" or (p.is_dir() and p.name != "v1")
) + sorted((EXAMPLES / "bad" / "v1").glob("*.yaml"))


def _id(path: Path) -> str:
    return path.relative_to(path.parents[1]).as_posix()


@pytest.mark.parametrize("path", GOOD, ids=_id)
def test_good_flow_lints_clean(path: Path) -> None:
    report = lint([path])
    assert [f"{d.span.line}:{d.span.column} {d.rule} {d.message}" for d in report.diagnostics] == []
    assert report.files[0].flow is not None


@pytest.mark.parametrize("case", BAD, ids=_id)
def test_bad_flow_gives_exactly_its_diagnostics(case: Path) -> None:
    files = list(flow_files([case]))
    target: Target = "v1" if any("# target: v1" in f.read_text() for f in files) else "live"
    allowed = [m for f in files for m in re.findall(r"^# allow-host: (.*)$", f.read_text(), re.MULTILINE)]
    report = lint([case], target=target, hosts=parse_hosts(",".join(allowed)) if allowed else None)

    expected = set()
    words = {}
    for file in files:
        name = file.relative_to(Path.cwd()).as_posix()
        for line, column, rule, text in EXPECT.findall(file.read_text()):
            key = (name, int(line), int(column), rule)
            expected.add(key)
            words[key] = text
    assert expected, f"{case} has no `# expect:` lines"

    found = {(d.file, d.span.line, d.span.column, d.rule): d for d in report.diagnostics}
    assert set(found) == expected
    for key, text in words.items():
        said = found[key].message + " " + found[key].hint
        assert text.lower() in said.lower(), f"{key}: {text!r} not in {said!r}"
    assert report.exit_code() == (1 if any(d.level == "error" for d in found.values()) else 0)


def test_load_flow_refuses_a_flow_with_errors_naming_the_first() -> None:
    from ivrflow.errors import FlowError
    from ivrflow.language.loader import load_flow

    with pytest.raises(
        FlowError, match=r"^tests/flows/bad/unknown-key\.yaml:7:5: error unknown-key `nxet` .* \(and 1 more\)$"
    ):
        load_flow("tests/flows/bad/unknown-key.yaml")


# What the YAML parser and JSON Schema say in their own words, which a flow author should never read.
PARSER_WORDS = re.compile(
    r"while scanning|while parsing|block mapping|block end|flow sequence|plain scalar|mapping values are not allowed|did not find expected|could not find expected"
    r"|found character|found unexpected|<document start>|<stream|<block|is not of type|does not match|Additional properties|is not valid under|is a required property"
    r"|\$\.|tag:yaml|<unicode string>|'\\t'"
)


def _broken(lines: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Many ways to break a working flow: delete a line, indent it wrongly, break its quotes, give a wrong value."""
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        before, after = lines[:i], lines[i + 1 :]
        yield f"delete line {i + 1}", before + after
        for changed in (
            " " + line,
            "  " + line,
            line[1:] if line.startswith(" ") else line,
            "\t" + line.lstrip(),
            line.replace(":", "", 1),
            line.replace('"', "", 1),
            line + "\n" + line,
        ):
            yield f"line {i + 1} as {changed!r}", [*before, changed, *after]
        key, colon, _ = line.partition(": ")
        for value in (
            "[]",
            "{}",
            "5",
            "true",
            "x y",
            "- a",
            "'",
            "1: 2",
            "[1, 2",
            "",
            "*a",
            "&",
            "!x y",
            "555",
            "@x",
            "`x`",
            "%x",
            '"a\\qb"',
        ):
            if colon:
                yield f"line {i + 1} with the value {value!r}", [*before, f"{key}: {value}", *after]


@pytest.mark.parametrize("path", sorted(flow_files([FLOWS])), ids=lambda p: p.name)
def test_broken_flows_are_described_in_a_flow_authors_words(path: Path) -> None:
    leaks = set()
    for how, lines in _broken(path.read_text().splitlines()):
        for d in check_bytes(("\n".join(lines) + "\n").encode(), path.name).diagnostics:
            assert d.span.line >= 1 and d.span.column >= 1
            if PARSER_WORDS.search(d.message + " " + d.hint):
                leaks.add(f"{how}: {d.message} / {d.hint}")
    assert not leaks, "\n".join(sorted(leaks)[:20])
