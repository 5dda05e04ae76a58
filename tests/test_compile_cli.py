"""`ivrflow compile`: json, form and a curl command that really places the request."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl

import pytest

from conftest import ROOT


def ivrflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


class Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str], str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Recorder.seen.append(
            (self.path, self.headers["Authorization"], dict(parse_qsl(body)), self.headers["Content-Type"])
        )
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"reference_id": "0123456789ABCDEF0123456789ABCDEF", "status": {"code": 103}}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Recorder.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_json_format_is_the_compiled_fields() -> None:
    result = ivrflow("compile", "flows/otp-delivery.yaml", "--to", "+15550100200", "--var", "code=4 4 1")
    assert result.returncode == 0, result.stderr
    fields = json.loads(result.stdout)
    assert fields["phone_number"] == "15550100200"
    assert fields["message"].startswith("Your code is 4 4 1.")


def test_curl_command_places_exactly_the_compiled_request(server: str) -> None:
    env = {
        "TELESIGN_BASE_URL": server,
        "TELESIGN_CUSTOMER_ID": "FFFFFFFF-EEEE-DDDD-1234-AB1234567890",
        "TELESIGN_API_KEY": "c2VjcmV0LWtleQ==",
    }
    expected = json.loads(ivrflow("compile", "flows/appointment-reminder.yaml", "--to", "15550100200", env=env).stdout)
    curl = ivrflow("compile", "flows/appointment-reminder.yaml", "--to", "15550100200", "--format", "curl", env=env)
    assert curl.returncode == 0
    assert env["TELESIGN_API_KEY"] not in curl.stdout  # the secret is referenced, never printed
    subprocess.run(["bash", "-c", curl.stdout], check=True, capture_output=True, env={**os.environ, **env})
    [(path, authorization, fields, content_type)] = Recorder.seen
    assert path == "/v1/voice"
    assert content_type == "application/x-www-form-urlencoded"
    assert (
        authorization
        == "Basic " + base64.b64encode(f"{env['TELESIGN_CUSTOMER_ID']}:{env['TELESIGN_API_KEY']}".encode()).decode()
    )
    assert fields == expected


def test_curl_without_credentials_prints_placeholders() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELESIGN_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivrflow",
            "compile",
            "flows/appointment-reminder.yaml",
            "--to",
            "15550100200",
            "--format",
            "curl",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert "YOUR_CUSTOMER_ID:YOUR_API_KEY" in result.stdout


def test_form_format_is_url_encoded() -> None:
    result = ivrflow("compile", "flows/appointment-reminder.yaml", "--to", "15550100200", "--format", "form")
    assert result.stdout.startswith("phone_number=15550100200&message=Hello%2C+this+is+Riverside")


def test_flow_that_does_not_fit_exits_1_with_reasons() -> None:
    result = ivrflow("compile", "flows/support-menu.yaml", "--to", "15550100200")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "flows/support-menu.yaml:34:12: error v1-live-only" in result.stderr
    assert "run it live with `ivrflow serve` instead" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["compile", "flows/nope.yaml", "--to", "15550100200"],
        ["compile", "flows/otp-delivery.yaml", "--to", "15550100200", "--var", "novalue"],
        ["compile", "flows/otp-delivery.yaml"],
    ],
)
def test_usage_problems_exit_2(args: list[str]) -> None:
    result = ivrflow(*args)
    assert result.returncode == 2 and result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["compile", "simulate", "send"])
def test_an_undeclared_var_is_refused_as_the_calls_api_refuses_it(command: str) -> None:
    args = [command, "flows/refill-reminder.yaml", "--var", "durg=insulin"] + (
        ["--to", "15550100200"] if command != "simulate" else ["--keys", "7"]
    )
    result = ivrflow(
        *args, env={"TELESIGN_CUSTOMER_ID": "C", "TELESIGN_API_KEY": "a2V5", "TELESIGN_BASE_URL": "http://127.0.0.1:9"}
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert (
        f"ivrflow {command}: --var durg: the flow 'refill-reminder' has no variable 'durg'. Did you mean `drug`? Its variables: drug, pharmacy"
        in result.stderr
    )


@pytest.mark.parametrize("command", ["compile", "send"])
def test_a_number_that_is_no_phone_number_is_an_argument_error(command: str) -> None:
    result = ivrflow(
        command,
        "flows/appointment-reminder.yaml",
        "--to",
        "555",
        env={"TELESIGN_CUSTOMER_ID": "C", "TELESIGN_API_KEY": "a2V5", "TELESIGN_BASE_URL": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"ivrflow {command}: --to 555 is not a phone number Telesign accepts: write")
    assert "--to 15554441313" in result.stderr
    assert "line" not in result.stderr and "run it live" not in result.stderr and "Traceback" not in result.stderr


def test_compile_lists_every_reason_at_once_in_line_order(tmp_path: Path) -> None:
    # A flow error (an undeclared variable) and the reasons it does not fit v1, in one run.
    flow = tmp_path / "both.yaml"
    flow.write_text(
        (ROOT / "flows/support-menu.yaml")
        .read_text()
        .replace("For billing, press 1.", "For billing, press 1, {{ name }}.")
    )
    result = ivrflow("compile", str(flow), "--to", "15550100200")
    assert result.returncode == 1
    heads = [line for line in result.stderr.splitlines() if ": error " in line]
    places = [tuple(int(n) for n in line.split(":")[1:3]) for line in heads]
    assert places == sorted(places) and len(places) == 9, heads
    assert "undeclared-variable" in heads[0] and all("v1-" in head for head in heads[1:])


def test_compile_and_lint_give_the_same_reasons_in_the_same_order() -> None:
    compiled = ivrflow("compile", "tests/flows/bad/v1/shape.yaml", "--to", "15550100200")
    linted = ivrflow("lint", "--target", "v1", "--format", "json", "tests/flows/bad/v1/shape.yaml")
    heads = [line.split(" error ")[0] for line in compiled.stderr.splitlines() if ": error " in line]
    assert heads == [f"{d['file']}:{d['line']}:{d['column']}:" for d in json.loads(linted.stdout)["diagnostics"]]
