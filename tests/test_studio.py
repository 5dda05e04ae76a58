"""The studio's server without a browser: what it answers, and what it refuses (tests/test_studio_browser.py drives the page)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FLOWS
from ivrflow.studio.app import create_studio

ORIGIN = "http://127.0.0.1:8765"


def request(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("support-menu", "otp-delivery"):
        for suffix in (".yaml", ".journeys.yaml", ".tests.yaml"):
            shutil.copy(FLOWS / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path


def session(app: Any) -> tuple[str, str]:
    """The page's session cookie and the save token written into the page."""
    page = request(app, "GET", "/")
    token = re.search(r'"token": "([0-9a-f]+)"', page.text)
    assert page.status_code == 200 and token
    return page.cookies["ivrflow_studio"], token.group(1)


def test_lists_the_flow_files_and_checks_typed_text_with_the_loader(folder: Path) -> None:
    app = create_studio(folder)
    listed = request(app, "GET", "/api/flows").json()
    assert [f["name"] for f in listed["flows"]] == ["otp-delivery.yaml", "support-menu.yaml"]
    text = (folder / "support-menu.yaml").read_text()
    broken = text.replace("type: repeat", "type: repaet", 1)
    answer = request(app, "POST", "/api/check", json={"name": "support-menu.yaml", "text": broken}).json()
    (problem,) = [d for d in answer["diagnostics"] if d["severity"] == "error"]
    assert problem["line"] == next(n for n, line in enumerate(broken.splitlines(), 1) if "repaet" in line)
    assert problem["link"] == f"rules/{problem['rule']}" and problem["hint"]
    assert request(app, "GET", "/" + problem["link"]).status_code == 200
    fixed = request(app, "POST", "/api/check", json={"name": "support-menu.yaml", "text": text}).json()
    assert fixed["ok"] and fixed["diagram"].startswith("flowchart TD") and fixed["v1"]["fits"] is not None


def test_save_refuses_a_file_changed_on_disk_and_anything_from_another_site(folder: Path) -> None:
    app = create_studio(folder)
    cookie, token = session(app)
    loaded = request(app, "GET", "/api/flows/support-menu.yaml").json()
    path = folder / "support-menu.yaml"
    headers = {"X-Studio-Token": token, "Origin": ORIGIN, "Cookie": f"ivrflow_studio={cookie}"}
    mine = loaded["text"] + "# mine\n"
    saved = request(
        app, "PUT", "/api/flows/support-menu.yaml", json={"text": mine, "version": loaded["version"]}, headers=headers
    )
    assert saved.status_code == 200 and path.read_text() == mine
    path.write_text(mine + "# theirs\n")  # changed on disk meanwhile
    refused = request(
        app,
        "PUT",
        "/api/flows/support-menu.yaml",
        json={"text": mine + "# again\n", "version": saved.json()["version"]},
        headers=headers,
    )
    assert refused.status_code == 409 and "changed on disk" in refused.json()["error"]
    assert path.read_text() == mine + "# theirs\n" and refused.json()["disk_text"] == mine + "# theirs\n"
    kept = request(
        app,
        "PUT",
        "/api/flows/support-menu.yaml",
        json={"text": mine + "# again\n", "version": refused.json()["disk_version"]},
        headers=headers,
    )
    assert kept.status_code == 200 and path.read_text() == mine + "# again\n"
    before = path.read_bytes()
    version = kept.json()["version"]
    for bad in (
        {**headers, "Origin": "http://evil.example"},
        {**headers, "X-Studio-Token": "0" * 64},
        {"Origin": ORIGIN, "Cookie": f"ivrflow_studio={cookie}"},
        {k: v for k, v in headers.items() if k != "Origin"} | {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = request(
            app, "PUT", "/api/flows/support-menu.yaml", json={"text": "x", "version": version}, headers=bad
        )
        assert answer.status_code == 403, bad
    assert request(app, "GET", "/api/flows", headers={"Host": "rebound.example:8765"}).status_code == 421
    assert request(
        app, "PUT", "/api/flows/../x.yaml", json={"text": "x", "version": version}, headers=headers
    ).status_code in (404, 405)
    assert path.read_bytes() == before


def test_phone_plays_a_call_one_answer_at_a_time_with_sensitive_keys_masked(folder: Path) -> None:
    app = create_studio(folder)
    text = (folder / "otp-delivery.yaml").read_text()
    body = {"name": "otp-delivery.yaml", "text": text}
    call = request(app, "POST", "/api/phone", json={**body, "start": {"variables": {"code": "123456"}}}).json()
    assert call["steps"] and "123456" not in str(call["steps"])
    for _ in range(20):
        if call["ended"]:
            break
        answer = "answered" if call["ask"]["kind"] == "transfer" else "silent"
        call = request(app, "POST", "/api/phone", json={**body, "state": call["state"], "answer": answer}).json()
    assert call["ended"]
    again = request(app, "POST", "/api/phone", json={**body, "state": call["state"], "answer": "silent"})
    assert again.status_code == 400 and "ended" in again.json()["error"]


def test_read_only_studio_has_no_save(folder: Path) -> None:
    app = create_studio(folder, read_only=True, loopback=False)
    assert '"token"' not in request(app, "GET", "/").text
    assert request(app, "PUT", "/api/flows/support-menu.yaml", json={"text": "x", "version": "y"}).status_code == 405
