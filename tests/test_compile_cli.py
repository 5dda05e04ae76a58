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
    seen: list[tuple[str, str, dict[str, str], str]] = []

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
    assert "flows/support-menu.yaml:13:12: error v1-live-only" in result.stderr
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
