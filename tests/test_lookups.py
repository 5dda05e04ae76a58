"""http nodes on a real server: lookups in a real HTTPS service on loopback (tests/pharmacy_service.py,
its certificate from an authority made for the test), never a stand-in for httpx. Slow, failing and
wrong answers go to on_error within the node's timeout; other calls are answered meanwhile; the
call's transcript says what happened and never the secret or the body."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from live_server import Server, completed, incoming, said, spoken, start, stop
from pharmacy_service import Running, running

TOKEN = "s3cret-token-for-the-test"


def _flow(
    name: str, number: str, url: str, *, hold: bool = True, timeout: float = 2, save: str = "refill.drug_name"
) -> str:
    return f"""flow: {name}
numbers: ["{number}"]
nodes:
  lookup:
    type: http
    url: "{url}"
    headers: {{ Authorization: "Bearer {{{{ secret.PHARMACY_TOKEN }}}}" }}
    timeout: {timeout}
{'    hold: "One moment please."' if hold else ""}
    save: {{ drug: {save} }}
    next: found
    on_error: sorry
  found:
    type: hangup
    message: "Your refill of {{{{ drug }}}} is ready."
  sorry:
    type: hangup
    message: "Sorry, I cannot look that up right now."
"""


FLOWS = {  # number: (flow, path on the service, hold, timeout, save)
    "15558671001": ("held", "/refills/1234567", True, 2, "refill.drug_name"),
    "15558671002": ("direct", "/refills/1234567", False, 2, "refill.drug_name"),
    "15558671003": ("slow", "/slow/3000", False, 1, "refill.drug_name"),
    "15558671004": ("failing", "/fail", False, 2, "refill.drug_name"),
    "15558671005": ("not-json", "/text", False, 2, "refill.drug_name"),
    "15558671006": ("missing", "/refills/1234567", False, 2, "refill.price"),
    "15558671007": ("unknown-rx", "/refills/0000000", True, 2, "refill.drug_name"),
    "15558671008": ("slow-held", "/slow/300", True, 2, "refill.drug_name"),
    "15558671009": ("waits", "/slow/1500", False, 3, "refill.drug_name"),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("service"), TOKEN) as up:
        yield up


@pytest.fixture(scope="module")
def server(service: Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("flows")
    for number, (name, path, hold, timeout, save) in FLOWS.items():
        flow = _flow(name, number, service.url + path, hold=hold, timeout=timeout, save=save)
        (folder / f"{name}.yaml").write_text(flow)
    (folder / "elsewhere.yaml").write_text(_flow("elsewhere", "15558671010", "https://api.elsewhere.example/refills/1"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IVRFLOW_SECRET_PHARMACY_TOKEN", TOKEN)
        env.delenv("IVRFLOW_ALLOW_HOSTS", raising=False)
        up = start(
            tmp_path_factory.mktemp("db") / "calls.db",
            flows=folder,
            options=("--allow-host", "localhost", "--http-ca-file", str(service.ca), "--log-format", "text"),
        )
    try:
        yield up
    finally:
        stop(up)


def _call(server: Server, number: str) -> str:
    return f"LOOKUP{number}{time.monotonic_ns()}"


def test_with_hold_the_hold_words_answer_first_and_the_result_the_speak_completed(server: Server) -> None:
    reference = _call(server, "1")
    began = time.perf_counter()
    assert said(server.post(incoming(reference, to="15558671001"))) == "One moment please."
    assert time.perf_counter() - began < 0.5  # answered at once: the lookup runs meanwhile
    assert said(server.post(spoken(reference, None))) == "Your refill of amoxicillin 500 milligram is ready."
    server.post(spoken(reference, None))
    server.post(completed(reference))
    record = httpx.get(f"{server.url}/calls/{reference}", timeout=5).json()
    lookups = [step["lookup"] for step in record["transcript"] if "lookup" in step]
    assert len(lookups) == 1 and lookups[0].startswith("lookup: 200, saved drug in ")
    assert TOKEN not in str(record) and "Bearer" not in str(record) and "amoxicillin" not in lookups[0]


def test_without_hold_the_result_answers_the_event_that_reached_the_node(server: Server) -> None:
    reference = _call(server, "2")
    assert (
        said(server.post(incoming(reference, to="15558671002"))) == "Your refill of amoxicillin 500 milligram is ready."
    )


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("15558671004", "answered 500"),
        ("15558671005", "answer is not JSON"),
        ("15558671006", "answer lacks refill.price"),
        ("15558671010", "host not allowed"),
    ],
)
def test_a_failing_wrong_or_refused_lookup_goes_to_on_error(server: Server, number: str, why: str) -> None:
    reference = _call(server, number)
    first = said(server.post(incoming(reference, to=number)))
    if first == "One moment please.":
        first = said(server.post(spoken(reference, None)))
    assert first == "Sorry, I cannot look that up right now."
    transcript = httpx.get(f"{server.url}/calls/{reference}", timeout=5).json()["transcript"]
    assert any(why in str(step.get("lookup", "")) for step in transcript), transcript


def test_a_404_goes_to_on_error_after_the_hold_words(server: Server) -> None:
    reference = _call(server, "7")
    assert said(server.post(incoming(reference, to="15558671007"))) == "One moment please."
    assert said(server.post(spoken(reference, None))) == "Sorry, I cannot look that up right now."


def test_a_slow_service_goes_to_on_error_at_the_timeout_not_later(server: Server) -> None:
    reference = _call(server, "3")
    began = time.perf_counter()
    assert said(server.post(incoming(reference, to="15558671003"))) == "Sorry, I cannot look that up right now."
    took = time.perf_counter() - began
    assert 0.9 < took < 1.8, took  # the node's timeout is 1 s; the service takes 3


def test_hold_words_said_before_the_answer_comes_wait_only_for_the_rest_of_it(server: Server) -> None:
    reference = _call(server, "8")
    assert said(server.post(incoming(reference, to="15558671008"))) == "One moment please."
    began = time.perf_counter()
    assert said(server.post(spoken(reference, None))).startswith("Your refill of amoxicillin")
    assert time.perf_counter() - began < 0.6  # the 300 ms lookup had been running since the hold words


def test_a_slow_lookup_holds_up_no_other_call(server: Server) -> None:
    slow, other = _call(server, "9"), _call(server, "2")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        waiting = pool.submit(lambda: said(server.post(incoming(slow, to="15558671009"))))
        time.sleep(0.2)
        began = time.perf_counter()
        assert said(server.post(incoming(other, to="15558671001"))) == "One moment please."
        assert time.perf_counter() - began < 0.5
        assert waiting.result().startswith("Your refill of amoxicillin")  # 1.5 s, within its 3 s


def test_the_lookups_are_counted_and_the_refused_host_logged(server: Server) -> None:
    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    assert 'ivrflow_lookups_total{outcome="ok"}' in metrics and 'ivrflow_lookups_total{outcome="host"}' in metrics
    log = Path(server.log).read_text()
    assert "api.elsewhere.example is not allowed" in log and TOKEN not in log
