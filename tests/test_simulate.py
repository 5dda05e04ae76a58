"""The simulator, journeys, flow tests and diagrams: `ivrflow simulate`, `journeys`, `test` and
`graph` as a user runs them (real subprocesses), the three ways of playing a flow against each
other (live, v1, a real `ivrflow serve` over HTTP), and Hypothesis over generated flows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FLOWS, OPEN, ROOT
from ivrflow.language.loader import check_bytes, load_flow
from ivrflow.language.v1plan import plan_v1
from ivrflow.tools.flowtests import FlowResult, check_flow, live_matches_v1
from ivrflow.tools.journeys import Journey, journeys_path, walk_all
from ivrflow.tools.simulate import live, over_http, parse_keys, v1
from live_server import Server, start, stop

APPOINTMENT_MENU = "Hello, this is Riverside Clinic with a reminder of your appointment tomorrow at 9 in the morning. Press 1 to confirm, press 2 to cancel, or press 9 to hear this message again."
SUPPORT_MENU = "Thanks for calling Acme support. For billing, press 1. For technical support, press 2. To hear our opening hours, press 3. To hear these options again, press 9."


def ivrflow(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELESIGN_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=60,
    )


# --- ivrflow simulate: the bundled flows, literally -------------------------------------------------


@pytest.mark.parametrize("mode", ["live", "v1"])
def test_appointment_reminder_repeat_then_confirm(mode: str) -> None:
    result = ivrflow("simulate", "flows/appointment-reminder.yaml", "--keys", "91", "--json", "--mode", mode)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"say": APPOINTMENT_MENU},
        {"press": "9"},
        {"say": "Here is that message again."},
        {"say": APPOINTMENT_MENU},
        {"press": "1"},
        {"say": "Thank you. Your appointment is confirmed. We look forward to seeing you."},
        {"hangup": True},
    ]


def test_support_menu_silence_then_billing_in_words() -> None:
    result = ivrflow("simulate", "flows/support-menu.yaml", "--keys", "_1a4")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"says: {SUPPORT_MENU}\n"
        "  (no key)\n"
        "says: Sorry, I did not hear a choice.\n"
        f"says: {SUPPORT_MENU}\n"
        "  pressed 1\n"
        "puts the call through to 15550001111\n"
        "says: Before you go: how would you rate your call today? Press a key from 1 for poor to 5 for excellent.\n"
        "  pressed 4\n"
        "says: Thank you for your rating. Goodbye.\n"
        "hangs up\n"
    )


def test_refill_reminder_with_variables() -> None:
    result = ivrflow("simulate", "flows/refill-reminder.yaml", "--keys", "72", "--var", "drug=insulin", "--json")
    assert json.loads(result.stdout) == [
        {"say": "Press 7 to hear a message from City Pharmacy."},
        {"press": "7"},
        {"say": "Your refill of insulin is ready. Press 1 to confirm pickup, 2 to cancel, or 9 to hear this again."},
        {"press": "2"},
        {"say": "Your refill has been cancelled. Goodbye."},
        {"hangup": True},
    ]


def test_otp_gate_twice_wrong_hangs_up_on_both_modes() -> None:
    expected = [
        {"say": "This is Acme Bank with your sign-in code. Press 5 to hear it."},
        {"press": "1"},
        {"say": "This is Acme Bank with your sign-in code. Press 5 to hear it."},
        {"no_input": True},
        {"hangup": True},
    ]
    for mode in ("live", "v1"):
        assert (
            json.loads(ivrflow("simulate", "flows/otp-delivery.yaml", "--keys", "1_", "--json", "--mode", mode).stdout)
            == expected
        )


def test_terminal_asks_for_each_key() -> None:
    result = ivrflow("simulate", "flows/support-menu.yaml", stdin="3\nx\n\n2\n4\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Calling support-menu (en-US). Press a key and Enter when asked; Enter alone presses nothing."
    heard = "\n".join(lines[1:])
    assert "pressed 3" in heard and "We are open Monday to Friday" in heard
    assert "(keys: 0-9, * or #; Enter alone for none)" in heard  # `x` was refused and asked again
    assert heard.count("(no key)") == 1 and "puts the call through to 15550002222\nsays: Before you go" in heard
    assert heard.endswith("pressed 4\nsays: Thank you for your rating. Goodbye.\nhangs up")  # the agent hung up first


def test_simulate_refuses_what_it_cannot_do() -> None:
    not_v1 = ivrflow("simulate", "flows/support-menu.yaml", "--mode", "v1", "--keys", "1")
    assert (
        not_v1.returncode == 1
        and "error v1-live-only" in not_v1.stderr
        and "simulate it with --mode live" in not_v1.stderr
    )
    bad_keys = ivrflow("simulate", "flows/support-menu.yaml", "--keys", "1x")
    assert bad_keys.returncode == 2 and "not 'x'" in bad_keys.stderr
    no_numbers = ivrflow("simulate", "flows/appointment-reminder.yaml", "--server", "http://127.0.0.1:9", "--keys", "1")
    assert no_numbers.returncode == 1 and "has no `numbers`" in no_numbers.stderr
    assert ivrflow("simulate", "flows/nope.yaml").returncode == 2


SILENT_LOOP = """flow: silent-loop
nodes:
  menu:
    type: select_digits
    message: "Press 1 to hang up."
    choices:
      "1": bye
    on_fail: sorry
  sorry:
    type: tts_message
    message: "Sorry."
    next: menu
  bye:
    type: hangup
"""


def test_simulate_says_why_it_stopped_when_the_call_never_ends(tmp_path: Path) -> None:
    # Pressing 1 ends this call, so it lints clean; a caller who never presses a key goes round for ever.
    flow = tmp_path / "silent-loop.yaml"
    flow.write_text(SILENT_LOOP)
    result = ivrflow("simulate", str(flow), "--keys", "")
    assert result.returncode == 1
    assert result.stdout.startswith("says: Press 1 to hang up.\n  (no key)\nsays: Sorry.\n")
    assert "stopped after" in result.stderr and "the call never ended" in result.stderr
    assert "`menu` → `sorry` → `menu`" in result.stderr
    assert "Traceback" not in result.stderr


# --- in process and over HTTP give the same call ---------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path_factory.mktemp("flows")
    for name in ("support-menu.yaml", "refill-reminder.yaml"):
        shutil.copy(FLOWS / name, folder / name)
    server = start(
        tmp_path_factory.mktemp("db") / "calls.db",
        flows=folder,
        options=("--watch", "0.1", "--duplicate-window", "0.3"),
    )
    yield server, folder
    stop(server)


def test_simulate_against_a_server_that_does_not_serve_the_number_fails_and_says_why(
    served: tuple[Server, Path], tmp_path: Path
) -> None:
    server, _ = served
    other = tmp_path / "other-line.yaml"
    other.write_text(
        (FLOWS / "support-menu.yaml")
        .read_text()
        .replace("flow: support-menu", "flow: other-line")
        .replace("+15558675309", "+15550009999")
    )
    result = ivrflow("simulate", str(other), "--server", server.url, "--keys", "1")
    assert result.returncode == 1
    assert "does not serve the number 15550009999" in result.stderr and "other-line" in result.stderr


@pytest.mark.parametrize("keys", ["1", "32", "9_93", "000", "___", "991"])
def test_server_plays_the_bundled_flow_as_in_process(served: tuple[Server, Path], keys: str) -> None:
    server, _ = served
    result = ivrflow("simulate", "flows/support-menu.yaml", "--keys", keys, "--json", "--server", server.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == list(live(load_flow(FLOWS / "support-menu.yaml"), parse_keys(keys), at=OPEN))


# --- generated flows: live against v1, in process against the server --------------------------------

WORDS = st.text(alphabet="abcdefghij klmnopqrstuvwxyz", min_size=1, max_size=20).map(str.strip).filter(bool)
KEYS = st.lists(st.sampled_from([*"0123456789", None]), max_size=7)


@st.composite
def flows(draw: st.DrawFn, *, live_only: bool = False) -> dict[str, Any]:
    """A flow of v1's shape (an optional prompt, then one menu or a run of messages); with
    `live_only`, also with what only runs live: attempts, no-input and invalid messages, a
    message back to the menu, a transfer."""
    nodes: dict[str, dict[str, Any]] = {}

    def chain(name: str) -> str:
        nodes[name] = {"type": "tts_message", "message": draw(WORDS)}
        ending = draw(st.sampled_from(["end", "more", "hangup"]))
        if ending == "more":
            nodes[name]["next"] = chain(name + "x")
        elif ending == "hangup":
            nodes[name + "h"] = {"type": "hangup", "message": draw(WORDS)}
            nodes[name]["next"] = name + "h"
        return name

    start = "body"
    if draw(st.booleans()):
        menu: dict[str, Any] = {"type": "select_digits", "message": draw(WORDS), "choices": {}}
        nodes["body"] = menu
        digits = draw(st.lists(st.sampled_from("0123456789"), min_size=1, max_size=4, unique=True))
        for index, digit in enumerate(digits):
            if index == 0 and len(digits) > 1 and draw(st.booleans()):
                nodes["again"] = {"type": "repeat", **({"message": draw(WORDS)} if draw(st.booleans()) else {})}
                menu["choices"][digit] = "again"
            elif live_only and draw(st.integers(0, 3)) == 0:
                nodes[f"agent{digit}"] = {"type": "dial", "to": f"1555000{digit}000"}
                menu["choices"][digit] = f"agent{digit}"
            elif live_only and draw(st.integers(0, 3)) == 0:
                nodes[f"loop{digit}"] = {"type": "tts_message", "message": draw(WORDS), "next": "body"}
                menu["choices"][digit] = f"loop{digit}"
            else:
                menu["choices"][digit] = chain(f"c{digit}")
        if live_only:
            menu["attempts"] = draw(st.integers(1, 3))
            for key in ("no_input", "invalid"):
                if draw(st.booleans()):
                    menu[key] = draw(WORDS)
    else:
        chain("body")
    if draw(st.booleans()):
        digit = draw(st.sampled_from("0123456789"))
        nodes["gate"] = {"type": "prompt", "message": draw(WORDS), "digit": digit, "next": "body"}
        start = "gate"
    return {"flow": "generated", "language": "en-US", "message_type": "ARN", "start": start, "nodes": nodes}


def _load(data: dict[str, Any], path: str = "generated.yaml") -> Any:
    checked = check_bytes(json.dumps(data).encode(), path)
    assert checked.flow is not None and checked.ok, [str(d) for d in checked.diagnostics]
    return checked.flow


@given(flows(), KEYS)
def test_live_and_v1_sound_the_same(data: dict[str, Any], keys: list[str | None]) -> None:
    flow = _load(data)
    assert plan_v1(flow)[0] is not None  # the generator makes v1-compilable flows only
    played = v1(flow, keys)
    assert not isinstance(played, list), played
    assert list(live(flow, keys)) == list(played)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flows(live_only=True), KEYS)
def test_server_and_in_process_give_the_same_transcript(
    served: tuple[Server, Path], data: dict[str, Any], keys: list[str | None]
) -> None:
    server, folder = served
    number = f"1555{time.monotonic_ns() % 10_000_000:07d}"
    data = {**data, "flow": f"generated-{number}", "numbers": [number]}
    flow = _load(data, str(folder / f"generated-{number}.yaml"))
    (folder / f"generated-{number}.yaml").write_text(json.dumps(data))
    for _ in range(100):  # the server picks the new file up within --watch
        if any(f["id"] == flow.id for f in httpx.get(f"{server.url}/flows", timeout=5).json()["flows"]):
            break
        time.sleep(0.05)
    assert over_http(flow, server.url, keys, gap=0.4) == list(live(flow, keys))


# --- ivrflow journeys and ivrflow test ------------------------------------------------------------


def test_committed_journeys_are_what_the_flows_do_and_stable() -> None:
    check = ivrflow("journeys", "flows", "--check")
    assert check.returncode == 0, check.stdout
    for path in sorted(FLOWS.glob("*.journeys.yaml")):
        flow = load_flow(FLOWS / path.name.replace(".journeys.yaml", ".yaml"))
        again = walk_all(flow)
        assert [j.keys for j in again.journeys] == [j.keys for j in walk_all(flow).journeys]  # deterministic
    result = ivrflow("test", "flows", "--coverage")
    assert result.returncode == 0, result.stdout
    assert (
        result.stdout.endswith("6 flows tested, 0 failed\n")
        and result.stdout.count("every node and menu choice is reached") == 6
    )


def test_journeys_reach_every_limit() -> None:
    keys = {"".join(k or "_" for k in j.keys): j for j in walk_all(load_flow(FLOWS / "support-menu.yaml")).journeys}
    assert {"11", "21", "3", "9999", "0001", "___1", "__11", "0_"} - set(keys) == {
        "0_"
    }  # detours are not mixed at one question
    assert keys["3"].loops_to == "welcome" and keys["0001"].steps[-5] == {"dial": "15550003333"}
    assert keys["9999"].steps[-2:] == ({"press": "9"}, {"hangup": True})  # after 3 repeats


def test_a_flow_change_fails_its_test_with_the_difference(tmp_path: Path) -> None:
    for name in ("appointment-reminder.yaml", "appointment-reminder.journeys.yaml", "appointment-reminder.tests.yaml"):
        shutil.copy(FLOWS / name, tmp_path / name)
    flow = tmp_path / "appointment-reminder.yaml"
    flow.write_text(flow.read_text().replace("We look forward to seeing you.", "See you soon."))
    result = ivrflow("test", str(tmp_path))
    assert result.returncode == 1
    assert (
        "appointment-reminder.journeys.yaml:" in result.stdout
        and "callers now hear something else than the journeys file says" in result.stdout
    )
    assert '-  - say: "Thank you. Your appointment is confirmed. We look forward to seeing you."' in result.stdout
    assert '+  - say: "Thank you. Your appointment is confirmed. See you soon."' in result.stdout
    updated = ivrflow("journeys", str(flow))
    assert updated.returncode == 0 and "11 journeys" in updated.stdout
    assert ivrflow("test", str(tmp_path)).returncode == 0
    journeys_path(flow).unlink()
    missing = ivrflow("test", str(tmp_path), "--format", "github")
    assert missing.returncode == 1 and missing.stdout.startswith(
        f"::error file={tmp_path}/appointment-reminder.journeys.yaml,line=1,col=1,title=ivrflow test::there is no journeys file"
    )


def test_failing_and_malformed_cases_name_their_line(tmp_path: Path) -> None:
    shutil.copy(FLOWS / "support-menu.yaml", tmp_path / "support-menu.yaml")
    ivrflow("journeys", str(tmp_path))
    cases = tmp_path / "support-menu.tests.yaml"
    cases.write_text(
        'tests:\n  - name: billing\n    keys: "1c"\n    dials: "15550002222"\n    ends_at: technical\n    at: "2026-06-02 10:00"\n  - name: fine\n    keys: "2"\n    at: "2026-06-02 10:00"\n'
    )
    result = ivrflow("test", str(tmp_path), "--format", "json")
    assert result.returncode == 1
    (found,) = json.loads(result.stdout)["flows"]
    assert [(f["line"], f["column"]) for f in found["failures"]] == [(2, 5), (2, 5)]
    assert [f["message"] for f in found["failures"]] == [
        "test 'billing': expected the call to be put through to 15550002222, but it was put through to 15550001111",
        "test 'billing': expected the call to end at `technical`, but it ended at `billing`",
    ]
    cases.write_text('tests:\n  - name: typo\n    keys: "1"\n    say: ["hello"]\n')
    malformed = ivrflow("test", str(tmp_path))
    assert malformed.returncode == 1
    assert (
        f"{tmp_path}/support-menu.tests.yaml:4:5: test 1 ('typo'): `say` is not a key of a test case. Did you mean `says`? The keys of a test case are: name, keys,"
        in malformed.stdout
    )
    cases.write_text('tests:\n  - name: fine\n    keys: "1"\n  - name: keys\n    keys: "1x"\n    mode: v2\n')
    wrong = ivrflow("test", str(tmp_path)).stdout
    assert (
        f"{tmp_path}/support-menu.tests.yaml:5:11: test 2 ('keys'): `keys` is `1x`, but keys are digits 0-9, * and #, and _ for letting a question time out"
        in wrong
    )
    assert (
        f"{tmp_path}/support-menu.tests.yaml:6:11: test 2 ('keys'): `mode` is `v2`, but it is one of: live, v1" in wrong
    )
    assert "does not match" not in wrong and "tests.1" not in wrong
    assert ivrflow("test", str(tmp_path / "nope")).returncode == 2


def test_live_against_v1_reports_the_first_difference() -> None:
    flow = load_flow(FLOWS / "appointment-reminder.yaml")
    walked = walk_all(flow)
    assert live_matches_v1(flow, walked) == []
    first = walked.journeys[0]
    walked.journeys[0] = Journey(
        first.keys, (*first.steps[:2], {"say": "something else"}, *first.steps[3:]), first.ends_at
    )
    (failure,) = live_matches_v1(flow, walked)
    assert failure.message.startswith(
        "live and v1 differ for keys '1' at step 3: live {'say': 'something else'}, v1 {'say': 'Thank you."
    )


def test_coverage_names_what_nothing_reaches(tmp_path: Path) -> None:
    text = (FLOWS / "otp-delivery.yaml").read_text() + '  spare:\n    type: tts_message\n    message: "Never said."\n'
    (tmp_path / "otp.yaml").write_text(text)
    ivrflow("journeys", str(tmp_path / "otp.yaml"))
    result: FlowResult = check_flow(tmp_path / "otp.yaml")
    assert result.failures == [] and result.uncovered_nodes == ["spare"]
    assert (
        "coverage: not reached by any journey or test: node `spare`"
        in ivrflow("test", str(tmp_path), "--coverage").stdout
    )


# --- ivrflow graph -----------------------------------------------------------------------------------


def test_mermaid_of_the_appointment_reminder() -> None:
    result = ivrflow("graph", "flows/appointment-reminder.yaml")
    assert result.stdout == (
        "flowchart TD\n"
        "  %% appointment-reminder: made by `ivrflow graph`\n"
        '  n_menu["start: menu — select_digits: Hello, this is Riverside Clinic with a…"]\n'
        '  n_again["again — repeat: Here is that message again."]\n'
        '  n_confirmed["confirmed — tts_message: Thank you. Your appointment is confirme…"]\n'
        '  n_cancelled["cancelled — tts_message: Your appointment has been cancelled. To…"]\n'
        '  n_goodbye["goodbye — hangup: Goodbye."]\n'
        '  call_end(("hang up"))\n'
        '  n_menu -->|"1"| n_confirmed\n'
        '  n_menu -->|"2"| n_cancelled\n'
        '  n_menu -->|"9"| n_again\n'
        '  n_menu -->|"after 1 attempt"| call_end\n'
        "  n_confirmed --> call_end\n"
        '  n_cancelled -->|"next"| n_goodbye\n'
        "  n_goodbye --> call_end\n"
        '  n_again -->|"repeat"| n_menu\n'
        '  n_again -->|"after 3 repeats"| call_end\n'
    )
    readme = (ROOT / "README.md").read_text()
    assert "```mermaid\n" + result.stdout + "```" in readme  # the README shows exactly this


@pytest.mark.parametrize("name", ["appointment-reminder", "otp-delivery", "refill-reminder", "support-menu"])
def test_dot_renders_with_graphviz(name: str, tmp_path: Path) -> None:
    dot = shutil.which("dot")
    assert dot is not None, "Graphviz's `dot` is needed to check the diagrams: apt-get install graphviz (.ci/run does)"
    graph = ivrflow("graph", f"flows/{name}.yaml", "--format", "dot")
    svg = subprocess.run([dot, "-Tsvg"], input=graph.stdout, capture_output=True, text=True, check=False)
    assert svg.returncode == 0 and svg.stderr == "" and "<svg" in svg.stdout
    flow = load_flow(FLOWS / f"{name}.yaml")
    assert all(f"<title>n_{node.replace('-', '_')}</title>" in svg.stdout for node in flow.nodes)


def test_an_entry_is_typed_whole_at_the_terminal_and_scripted_with_keys() -> None:
    typed = ivrflow("simulate", "flows/prescription-line.yaml", stdin="1\n1234567\n2\n7654321\n1\n")
    assert typed.returncode == 0, typed.stderr
    assert (
        "pressed 1234567" in typed.stdout
        and "You entered 7 6 5 4 3 2 1." in typed.stdout
        and typed.stdout.endswith("Goodbye.\nhangs up\n")
    )
    scripted = json.loads(
        ivrflow("simulate", "flows/prescription-line.yaml", "--keys", "1123_12345672", "--json").stdout
    )
    assert [step for step in scripted if "press" in step or "no_input" in step] == [
        {"press": "1"},
        {"press": "123"},
        {"press": "1234567"},
        {"press": "2"},
        {"no_input": True},
    ]
    assert {"say": "That is not a prescription number. It has 7 digits and does not start with 0."} in scripted


def test_an_entry_with_an_end_key_stops_there_and_a_sensitive_one_is_masked() -> None:
    steps = json.loads(
        ivrflow(
            "simulate", "tests/flows/good/collect-digits.yaml", "--keys", "1123456#4539148803436467", "--json"
        ).stdout
    )
    presses = [step["press"] for step in steps if "press" in step]
    assert presses == ["1", "123456#", "•••"]
