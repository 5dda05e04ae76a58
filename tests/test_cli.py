"""`ivrflow lint` and `ivrflow explain` as a user and a CI system run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLES, ROOT
from ivrflow.cli import main
from ivrflow.language.catalog import RULES
from ivrflow.language.rulesdoc import rules_markdown

BAD = "tests/flows/bad/unknown-key.yaml"
WARN_ONLY = "tests/flows/bad/unused-variable.yaml"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in a new process, as a user types it."""
    full_env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args], capture_output=True, text=True, env=full_env, cwd=ROOT, check=False
    )


def test_bundled_flows_lint_clean_exit_0() -> None:
    result = run("lint", "flows/")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "6 flow files checked: no problems."


def test_text_format_shows_location_source_caret_hint_and_summary() -> None:
    result = run("lint", BAD)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{BAD}:7:5: error unknown-key `nxet` is not a key of a `tts_message` node"
    assert lines[1] == " 7 |     nxet: bye"
    assert lines[2] == "   |     ^^^^"
    assert lines[3].startswith("  = hint: did you mean `next`?")
    assert "docs/rules.md#unknown-key" in lines[4] and "ivrflow explain unknown-key" in lines[4]
    assert lines[-1] == "1 flow file checked: 2 errors."
    assert "Traceback" not in result.stdout + result.stderr


def test_warnings_pass_unless_strict() -> None:
    assert run("lint", WARN_ONLY).returncode == 0
    assert run("lint", "--strict", WARN_ONLY).returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ["lint", "no/such/flow.yaml"],
        ["lint", "--format", "xml", "flows/"],
        ["lint"],
        ["explain", "no-such-rule"],
        ["frobnicate"],
    ],
)
def test_tool_failures_exit_2_with_a_reason(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr


def test_json_format() -> None:
    result = run("lint", "--format", "json", BAD, "flows/")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["summary"] == {"files": 7, "errors": 2, "warnings": 0, "infos": 0}
    first = report["diagnostics"][0]
    assert {k: first[k] for k in ("file", "line", "column", "severity", "rule")} == {
        "file": "tests/flows/bad/unknown-key.yaml",
        "line": 7,
        "column": 5,
        "severity": "error",
        "rule": "unknown-key",
    }
    assert first["message"] and first["hint"]


def test_github_format_is_chosen_under_github_actions_and_escaped() -> None:
    result = run("lint", BAD, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1
    annotation = result.stdout.splitlines()[0]
    assert annotation.startswith(f"::error file={BAD},line=7,col=5,endLine=7,endColumn=9,title=ivrflow unknown-key::")
    assert "%0Ahint: did you mean `next`?" in annotation
    assert "\n" not in annotation


def test_github_escapes_property_separators(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "a,b:c.yaml"
    odd.write_text("flow: x\nnodes: {}\n")
    assert main(["lint", "--format", "github", str(odd)]) == 1
    annotation = capsys.readouterr().out.splitlines()[0]
    assert f"file={odd.as_posix().replace(':', '%3A').replace(',', '%2C')},line=2," in annotation


# What SARIF 2.1.0 requires of the parts we emit (OASIS SARIF 2.1.0, sections 3.13-3.30), and
# what GitHub code scanning reads: ids, levels, 1-based regions, rule help.
SARIF_SHAPE = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "helpUri", "help"],
                                            "properties": {
                                                "helpUri": {"type": "string", "format": "uri", "pattern": "^https://"}
                                            },
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            k: {"type": "integer", "minimum": 1}
                                                            for k in (
                                                                "startLine",
                                                                "startColumn",
                                                                "endLine",
                                                                "endColumn",
                                                            )
                                                        },
                                                    }
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_format() -> None:
    result = run("lint", "--format", "sarif", "tests/flows/bad/")
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, SARIF_SHAPE)
    run_ = sarif["runs"][0]
    rule_ids = [rule["id"] for rule in run_["tool"]["driver"]["rules"]]
    assert rule_ids == list(RULES)
    for result_ in run_["results"]:
        assert rule_ids[result_["ruleIndex"]] == result_["ruleId"]
    levels = {r["level"] for r in run_["results"]}
    assert levels == {"error", "warning"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]}
    assert all(not uri.startswith("/") for uri in uris)


def test_garbage_files_get_diagnostics_not_tracebacks(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\x00\xff\xfe garbage \x80")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "scalar.yaml").write_text("just words\n")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    result = run("lint", "--format", "json", str(tmp_path))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["summary"]["files"] == 4
    assert {d["file"].rsplit("/", 1)[1] for d in report["diagnostics"]} == {
        "binary.yaml",
        "empty.yaml",
        "scalar.yaml",
        "deep.yaml",
    }
    assert "Traceback" not in result.stderr


def test_folders_skip_journeys_and_tests_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("flow: a\nnodes:\n  bye:\n    type: hangup\n")
    (tmp_path / "a.journeys.yaml").write_text("- not a flow\n")
    (tmp_path / "a.tests.yaml").write_text("- not a flow\n")
    assert main(["lint", str(tmp_path)]) == 0


def test_explain_prints_the_rule() -> None:
    result = run("explain", "unknown-target")
    assert result.returncode == 0
    assert result.stdout.startswith("## unknown-target")
    assert "How to fix it" in result.stdout


def test_docs_rules_md_is_generated_from_the_catalog() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == rules_markdown(), "run `make docs`"


def test_every_rule_has_a_test_case() -> None:
    """Each rule id is produced by at least one bad example flow (or, for yaml-syntax, the loader tests)."""
    text = "\n".join(p.read_text(errors="replace") for p in (EXAMPLES / "bad").rglob("*.yaml"))
    for rule in RULES:
        assert f" {rule} " in text or f" {rule}\n" in text, f"no bad example flow expects {rule}"


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "lint" in result.stdout and "explain" in result.stdout
    lint_help = run("lint", "--help").stdout
    for word in ("--format", "--strict", "--target", "github", "sarif"):
        assert word in lint_help


def test_disable_comments_are_listed_as_suppressed_in_json_and_sarif() -> None:
    good = "tests/flows/good/disable-comments.yaml"
    text = run("lint", good)
    assert (
        text.returncode == 0
        and text.stdout.strip() == "1 flow file checked: no problems (2 silenced by disable comments)."
    )
    report = json.loads(run("lint", "--format", "json", good).stdout)
    assert report["summary"] == {"files": 1, "errors": 0, "warnings": 0, "infos": 0, "suppressed": 2}
    assert [(d["line"], d["rule"], d["suppressions"]) for d in report["diagnostics"]] == [
        (5, "unused-variable", [{"kind": "inSource", "justification": "# ivrflow: disable=unused-variable on line 5"}]),
        (
            12,
            "menu-key-not-mentioned",
            [{"kind": "inSource", "justification": "# ivrflow: disable-file=menu-key-not-mentioned on line 1"}],
        ),
    ]
    sarif = json.loads(run("lint", "--format", "sarif", good).stdout)
    results = sarif["runs"][0]["results"]
    assert [r["suppressions"][0]["kind"] for r in results] == ["inSource", "inSource"]
    assert "suppressions" not in json.loads(run("lint", "--format", "json", BAD).stdout)["diagnostics"][0]


def test_new_writes_a_starting_flow_that_lints_and_tests_clean(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "flow.schema.json").write_text((ROOT / "schemas" / "flow.schema.json").read_text())
    folder = tmp_path / "flows" / "pharmacy"
    folder.mkdir(parents=True)
    made = subprocess.run(
        [sys.executable, "-m", "ivrflow", "new", "flows/pharmacy/refill-line"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    flow = folder / "refill-line.yaml"
    text = flow.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../../schemas/flow.schema.json"
    assert "flow: refill-line" in text and text.count("\n#") + text.count("  #") > 5  # it explains itself
    assert (folder / "refill-line.tests.yaml").exists() and (folder / "refill-line.journeys.yaml").exists()
    for command in (["lint", "--strict"], ["test"], ["journeys", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ivrflow", *command, str(flow)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    again = subprocess.run(
        [sys.executable, "-m", "ivrflow", "new", "flows/pharmacy/refill-line"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert again.returncode == 2 and "already exists" in again.stderr and flow.read_text() == text
    assert run("new", "Bad Name").returncode == 2


def test_serve_on_a_port_in_use_says_so_before_serving() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--flows", "flows", "--store", "memory://", "--port", str(port))
    assert result.returncode == 2
    assert "serving" not in result.stdout
    assert (
        f"ivrflow serve: 127.0.0.1:{port} is already in use" in result.stderr
        and "--port" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_simulate_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    flow = tmp_path / "silent-loop.yaml"
    flow.write_text(
        'flow: silent-loop\nnodes:\n  menu:\n    type: select_digits\n    message: "Press 1 to hang up."\n    choices:\n      "1": bye\n    on_fail: sorry\n'
        '  sorry:\n    type: tts_message\n    message: "Sorry."\n    next: menu\n  bye:\n    type: hangup\n'
    )
    shell = f"{sys.executable} -m ivrflow simulate {flow} --keys '' | head -1; echo \"status ${{PIPESTATUS[0]}}\" >&2"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.stdout == "says: Press 1 to hang up.\n"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stderr.strip().endswith("status 141")
