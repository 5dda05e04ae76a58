"""The studio's server without a browser: what it answers, and what it refuses (tests/test_studio_browser.py drives the page)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import EXAMPLES, FLOWS
from ivrflow.calls.transcripts import Step, walk
from ivrflow.language.clock import parse_at
from ivrflow.language.language_menu import LanguageMenu
from ivrflow.language.loader import load_flow
from ivrflow.language.model import Collect, Flow, Menu, Prompt, Repeat
from ivrflow.studio.app import create_studio
from ivrflow.tools.answers import answerer
from ivrflow.tools.journeys import call_variables, entry_keys, sample_entry

ORIGIN = "http://127.0.0.1:8765"
# Times of a call, in the support line's zone (America/Chicago): a Tuesday morning it is open, a
# Saturday it is closed, and a holiday. A flow without schedules reads them in UTC.
OPEN_TIME = "2026-06-02 10:00"
CLOSED_TIMES = ("2026-06-06 10:00", "2026-12-25 10:00")


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


def test_the_time_of_the_call_decides_the_schedules_the_v1_fields_and_the_call(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "good" / "vip-routing.yaml", tmp_path)
    shutil.copy(FLOWS / "support-menu.yaml", tmp_path)
    app = create_studio(tmp_path)
    vip = {"name": "vip-routing.yaml", "text": (tmp_path / "vip-routing.yaml").read_text()}
    opened = request(app, "POST", "/api/check", json={**vip, "at": "2026-06-01T10:00"}).json()  # in London
    assert opened["phone"]["time"] == {
        "value": "2026-06-01T10:00",
        "zone": "Europe/London",
        "zones": ["Europe/London"],
        "schedules": [{"name": "office", "open": True, "state": "open"}],
        "problem": "",
    }
    assert opened["v1"]["fields"]["message"] == "Your statement is ready. Press 1 to hear your offer."
    closed = request(app, "POST", "/api/check", json={**vip, "at": "2026-12-25 10:00", "zone": "Europe/London"}).json()
    assert closed["v1"]["fields"]["message"] == "Our office is closed. We will call you back."
    assert closed["phone"]["time"]["schedules"][0]["state"] == "closed date 12-25"
    in_chicago = request(app, "POST", "/api/check", json={**vip, "at": "2026-06-01 04:00", "zone": "America/Chicago"})
    assert in_chicago.json()["phone"]["time"]["value"] == "2026-06-01T04:00"  # 10:00 in London: open
    assert in_chicago.json()["v1"]["fields"]["message"].startswith("Your statement is ready")
    now = request(app, "POST", "/api/check", json=vip).json()  # no time: IVRFLOW_AT, as every command takes it
    assert now["phone"]["time"]["value"] == "2026-06-02T16:00" and now["phone"]["time"]["problem"] == ""
    wrong = request(app, "POST", "/api/check", json={**vip, "at": "2026-03-29 01:30"}).json()  # the hour London skips
    assert "does not exist in Europe/London" in wrong["phone"]["time"]["problem"] and wrong["ok"]
    plain = request(
        app,
        "POST",
        "/api/check",
        json={"name": "support-menu.yaml", "text": (tmp_path / "support-menu.yaml").read_text()},
    )
    assert plain.json()["phone"]["lookups"] == []

    support = {"name": "support-menu.yaml", "text": (tmp_path / "support-menu.yaml").read_text()}
    heard = {}
    for at in (OPEN_TIME, *CLOSED_TIMES):
        call = request(app, "POST", "/api/phone", json={**support, "at": at, "start": {"variables": {}}}).json()
        heard[at] = call["steps"][0]["say"]
    assert heard[OPEN_TIME].startswith("Thanks for calling Acme support. For billing")
    assert "We are closed now" in heard[CLOSED_TIMES[0]] and "for the holiday" in heard[CLOSED_TIMES[1]]
    refused = request(app, "POST", "/api/phone", json={**support, "at": "soon", "start": {"variables": {}}})
    assert (
        refused.status_code == 400 and "the time of the call: `soon` is not a date and time" in refused.json()["error"]
    )
    refused = request(app, "POST", "/api/phone", json={**support, "zone": "Mars/Olympus", "start": {"variables": {}}})
    assert refused.status_code == 400 and "not a time zone" in refused.json()["error"]


def test_the_phone_answers_a_lookup_as_the_author_picks_and_shows_what_it_came_to(tmp_path: Path) -> None:
    for name in ("prescription-line.yaml", "prescription-line.lookup.json"):
        shutil.copy(FLOWS / name, tmp_path)
    app = create_studio(tmp_path)
    body = {"name": "prescription-line.yaml", "text": (tmp_path / "prescription-line.yaml").read_text()}
    options = request(app, "POST", "/api/check", json=body).json()["phone"]
    (lookup,) = options["lookups"]
    assert options["time"] is None and lookup["node"] == "lookup"
    assert [a["value"] for a in lookup["answers"]] == ["example", "404", "500", "503", "timeout", "refused"]
    assert "prescription-line.lookup.json" in lookup["answers"][0]["label"]

    def refill(http: dict[str, str] | None) -> list[Step]:
        chosen = {"http": http} if http is not None else {}
        call = request(app, "POST", "/api/phone", json={**body, **chosen, "start": {"variables": {}}}).json()
        steps = call["steps"]
        for keys in ("1", "1234567", "1"):
            call = request(
                app,
                "POST",
                "/api/phone",
                json={**body, **chosen, "state": call["state"], "answer": "keys", "keys": keys},
            ).json()
            steps += call["steps"]
        assert call["ended"] and call["outcome"] == "completed"
        return steps

    found = refill(None)
    assert {"say": "One moment while I look that up."} in found
    assert {"lookup": "lookup: 200, saved drug, pickup"} in found
    assert found[-2:] == [
        {
            "say": "Thank you. Your refill of amoxicillin 500 milligram will be ready today after 4 PM. Goodbye.",
        },
        {"hangup": True},
    ]
    assert refill({"lookup": "example"}) == found
    for chosen, came_to in (
        ("timeout", "lookup: no answer in time, on_error"),
        ("refused", "lookup: could not connect, on_error"),
        ("503", "lookup: answered 503, on_error"),
    ):
        steps = refill({"lookup": chosen})
        assert {"lookup": came_to} in steps and "ready tomorrow after 2 PM" in steps[-2]["say"]
    for wrong, says in (
        ({"nope": "timeout"}, "no http node `nope`"),
        ({"lookup": "/etc/passwd"}, "example, a status"),
        ({"lookup": "99"}, "example, a status"),
        ("timeout", "an object"),
    ):
        refused = request(app, "POST", "/api/phone", json={**body, "http": wrong, "start": {"variables": {}}})
        assert refused.status_code == 400 and says in refused.json()["error"], wrong
    outside = body["text"].replace(
        "example: prescription-line.lookup.json", f"example: {FLOWS / 'prescription-line.lookup.json'}"
    )
    refused = request(app, "POST", "/api/phone", json={**body, "text": outside, "start": {"variables": {}}})
    # The loader reads an example from the flow's own folder only: such a flow has an error, and takes no call.
    assert refused.status_code == 400 and "fix the flow's errors first" in refused.json()["error"]


def _keys(flow: Flow, call: dict[str, Any], eager: bool) -> tuple[str, str, tuple[str | None, ...]]:
    """The phone's answer to what the call asks, and the same as keys of a simulator's script: an
    eager caller takes the first choice, a good entry and says yes, and the transfer answers; the
    other stays silent, and nobody answers the transfer."""
    ask = call["ask"]
    if ask["kind"] == "transfer":
        return ("answered" if eager else "not_answered"), "", ()
    node = flow.nodes[call["node"]]
    if not eager:
        return "silent", "", (None,)
    if ask["kind"] == "confirm":
        return "keys", "1", ("1",)
    if isinstance(node, Collect):
        digits = sample_entry(node, True)
        assert digits is not None
        return "keys", digits, entry_keys(node, digits)
    if isinstance(node, Menu):
        key = next(k for k, target in node.choices.items() if not isinstance(flow.nodes[target], Repeat))
        return "keys", key, (key,)
    if isinstance(node, LanguageMenu):  # the last language offered: the call moves to it
        key = list(node.choices)[-1]
        return "keys", key, (key,)
    assert isinstance(node, Prompt)
    return "keys", node.digit, (node.digit,)


@pytest.mark.parametrize("at", [OPEN_TIME, *CLOSED_TIMES])
def test_every_bundled_flow_plays_to_its_end_on_the_phone_as_the_simulator_hears_it(tmp_path: Path, at: str) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(FLOWS, folder)
    app = create_studio(folder)
    flows = sorted(p for p in folder.glob("*.yaml") if not p.name.endswith((".journeys.yaml", ".tests.yaml")))
    assert len(flows) == 6
    for path in flows:
        flow = load_flow(path)
        body = {"name": path.name, "text": path.read_text(), "at": at}
        for eager in (True, False):
            call = request(
                app, "POST", "/api/phone", json={**body, "start": {"variables": call_variables(flow)}}
            ).json()
            steps, script = list(call["steps"]), []
            for _ in range(60):
                if call["ended"]:
                    break
                assert call["ask"], f"{path.name} stalled at {call['node']}"
                answer, keys, scripted = _keys(flow, call, eager)
                script += scripted
                call = request(
                    app, "POST", "/api/phone", json={**body, "state": call["state"], "answer": answer, "keys": keys}
                ).json()
                steps += call["steps"]
            assert call["ended"], f"{path.name} did not end"
            if eager:  # the transfers answer: the simulator's call, which answers them too, is the same
                when = parse_at(at, "America/Chicago" if flow.schedules else "UTC")
                simulated = walk(flow, script, call_variables(flow), answer=answerer(flow, {}, folder), at=when)
                assert steps == list(simulated), path.name


def test_the_phone_starts_a_bilingual_call_in_the_language_chosen_and_keeps_it_in_the_calls_state(
    tmp_path: Path,
) -> None:
    shutil.copy(EXAMPLES / "good" / "fraud-alert.yaml", tmp_path)
    shutil.copy(FLOWS / "refill-reminder.yaml", tmp_path)
    app = create_studio(tmp_path)
    body = {"name": "fraud-alert.yaml", "text": (tmp_path / "fraud-alert.yaml").read_text()}
    options = request(app, "POST", "/api/check", json=body).json()["phone"]
    assert (options["languages"], options["language"], options["several"]) == (["en-US", "es-MX"], "en-US", True)
    assert {v["name"]: v["value"] for v in options["variables"]}["amount"] == "$120.00"  # the flow's default
    one = request(
        app,
        "POST",
        "/api/check",
        json={"name": "refill-reminder.yaml", "text": (tmp_path / "refill-reminder.yaml").read_text()},
    ).json()["phone"]
    assert one["several"] is False and {"en-US", "es-MX", "fr-FR"} <= set(one["languages"])  # any voice

    call = request(app, "POST", "/api/phone", json={**body, "language": "es-MX", "start": {"variables": {}}}).json()
    assert call["steps"] == [
        {"say": "This is City Bank's fraud department. For English, press 1.", "language": "en-US"},
        {"say": "Le llama el departamento de fraudes de City Bank. Para español, oprima 2.", "language": "es-MX"},
    ]
    assert (call["state"]["language"], call["ask"]["kind"]) == ("es-MX", "language")
    later = request(app, "POST", "/api/phone", json={**body, "state": call["state"], "answer": "silent"}).json()
    assert later["steps"][0] == {"no_input": True} and later["steps"][1]["language"] == "es-MX"
    assert later["steps"][1]["say"].startswith("Detectamos una compra de $120.00 en Northside Electronics")
    chosen = request(app, "POST", "/api/phone", json={**body, "state": call["state"], "answer": "keys", "keys": "1"})
    assert chosen.json()["steps"][1]["say"].startswith("We noticed") and chosen.json()["state"]["language"] == "en-US"

    refused = request(app, "POST", "/api/phone", json={**body, "language": "fr-FR", "start": {"variables": {}}})
    assert refused.status_code == 400 and "en-US, es-MX" in refused.json()["error"]
    forged = {**call["state"], "language": "fr-FR"}
    refused = request(app, "POST", "/api/phone", json={**body, "state": forged, "answer": "silent"})
    assert refused.status_code == 400 and "a language the flow does not have" in refused.json()["error"]
    # A page holding a call from before calls had a language: it goes on, in the flow's first.
    old = {name: value for name, value in call["state"].items() if name not in ("language", "line")}
    went_on = request(app, "POST", "/api/phone", json={**body, "state": old, "answer": "silent"}).json()
    assert went_on["steps"][1]["say"].startswith("We noticed") and went_on["state"]["language"] == ""
    refused = request(app, "POST", "/api/phone", json={**body, "state": {**old, "voice": "x"}, "answer": "silent"})
    assert refused.status_code == 400 and "other fields" in refused.json()["error"]
