"""The studio in a real browser: Debian's headless Chromium, driven through chromedriver (WebDriver).

An author opens a flow, types a mistake and sees it at its line, fixes it and sees the diagram
change, plays a call on the keypad to its end at a time the line is open, hears the after-hours
message at a time it is closed, saves, and is refused a save over a change made on disk. An operator finds, on a running `ivrflow serve`, the call `ivrflow simulate --server` placed,
and reads its transcript. The screenshots in docs/studio/ are taken here. Without the browser the
tests fail in CI (CI set) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from conftest import EXAMPLES, FLOWS, ROOT
from live_server import CUSTOMER_ID, free_port, start, stop

T = TypeVar("T")
# The docs' screenshots are taken afresh only when asked (IVRFLOW_SCREENSHOTS=1 make test), so that a
# test run does not change files in the repository; otherwise they go to a throwaway folder.
SHOTS = (
    ROOT / "docs" / "studio"
    if os.environ.get("IVRFLOW_SCREENSHOTS")
    else Path(tempfile.mkdtemp(prefix="studio-shots-"))
)
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
API_KEY = base64.b64encode(b"studio-test-key-0123456789abcdef").decode()


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: apt-get install -y {package}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the studio's browser tests need Chromium in CI: {missing}")
        pytest.skip(f"no browser to drive: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="studio-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def until(check: Callable[[], T], what: str, timeout: float = 15) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception:  # an element not there yet, or gone stale while the page redraws
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def shot(driver: Any, name: str, at: str = "") -> None:
    """A screenshot for the docs; `at`: the id of the part to scroll to the top first."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script(
        "const at = arguments[0] && document.getElementById(arguments[0]); at ? at.scrollIntoView() : scrollTo(0, 0)",
        at,
    )
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "flows"
    shutil.copytree(FLOWS, folder)
    with studio_on(folder) as url:
        yield url, folder


@contextlib.contextmanager
def studio_on(folder: Path) -> Iterator[str]:
    """`ivrflow studio FOLDER` running; its address."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "studio", str(folder), "--port", str(port)],
        cwd=folder.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        until(lambda: httpx.get(url + "api/flows", timeout=1).status_code == 200, "the studio to start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def set_time(driver: Any, value: str) -> None:
    """The time of the call, as the date-time input takes it (typing into one depends on the locale)."""
    driver.execute_script(
        "const input = document.getElementById('call-at'); input.value = arguments[0];"
        "input.dispatchEvent(new Event('input', { bubbles: true }))",
        value,
    )


def text_of(driver: Any, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def test_author_types_a_mistake_fixes_it_plays_a_call_and_saves(browser: Any, studio: tuple[str, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, folder = studio
    driver = browser
    started = time.monotonic()
    driver.get(url)
    until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#flow-list a")) == 6, "the flows listed")
    shot(driver, "flows")
    driver.find_element(By.LINK_TEXT, "support-menu.yaml").click()
    until(lambda: text_of(driver, "#problems-summary") == "No problems.", "the flow checked")
    until(lambda: driver.find_elements(By.CSS_SELECTOR, "#diagram svg"), "the diagram")
    assert "farewell" not in driver.find_element(By.ID, "diagram").get_attribute("innerHTML")

    # A mistake, typed: the loader's diagnostic appears at its line, in the list and the gutter.
    source = driver.find_element(By.ID, "source")
    source.click()
    source.send_keys(Keys.CONTROL, Keys.END)
    source.send_keys("  farewell:\n    type: hangupp")
    line = len(driver.execute_script("return document.getElementById('source').value").split("\n"))
    error = until(lambda: driver.find_elements(By.CSS_SELECTOR, f"#problems li.error[data-line='{line}']"), "the error")
    assert "hangupp" in error[0].text and "Hint:" in error[0].text
    assert "error" in driver.find_element(By.CSS_SELECTOR, f"#gutter span[data-line='{line}']").get_attribute("class")
    assert error[0].find_element(By.TAG_NAME, "a").get_attribute("href").startswith(url + "rules/")
    shot(driver, "diagnostic")

    # Fixed: no error, and the diagram redraws with the new node.
    source.send_keys(Keys.BACKSPACE)
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#problems li.error"), "the error gone")
    until(lambda: "farewell" in driver.find_element(By.ID, "diagram").get_attribute("innerHTML"), "the diagram redrawn")

    # The time of the call: now by default, in the support line's zone, with its schedules' states then.
    assert (
        driver.find_element(By.ID, "call-at").get_attribute("value")
        and driver.find_element(By.ID, "call-time").is_displayed()
    )
    assert driver.find_element(By.ID, "call-zone").get_attribute("value") == "America/Chicago"
    set_time(driver, "2026-06-02T10:00")  # a Tuesday morning: open
    until(lambda: "support-hours open" in text_of(driver, "#call-schedules"), "the schedules' states then")

    # A call on the keypad: 3 (by mouse) hears the hours, 1 (by keyboard) goes to billing, the transfer
    # answers, and when the agent hangs up the caller rates the call: 5.
    driver.find_element(By.ID, "call-start").click()
    until(lambda: "Thanks for calling" in text_of(driver, "#transcript"), "the greeting")
    driver.find_element(By.CSS_SELECTOR, "#keypad button[data-key='3']").click()
    until(lambda: "We are open Monday" in text_of(driver, "#transcript"), "the opening hours")
    until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "asking", "the menu again")
    driver.find_element(By.ID, "keypad").send_keys("1")
    until(lambda: driver.find_element(By.ID, "answered").is_displayed(), "the transfer")
    driver.find_element(By.ID, "answered").click()
    until(lambda: "how would you rate your call" in text_of(driver, "#transcript"), "the survey")
    until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "asking", "the survey's question")
    driver.find_element(By.ID, "keypad").send_keys("5")
    until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "ended", "the call's end")
    heard = text_of(driver, "#transcript")
    assert "You pressed 3" in heard and "You pressed 1" in heard and "15550001111" in heard
    assert "You pressed 5" in heard and "Thank you for your rating" in heard and "The call ended" in heard
    driver.find_element(By.ID, "run-tests").click()
    until(lambda: "journeys" in text_of(driver, "#tests"), "the test results")
    shot(driver, "phone", "phone")

    # The same line on a Saturday: the caller hears when to call again, and the call ends.
    set_time(driver, "2026-06-06T10:00")
    until(lambda: "support-hours closed" in text_of(driver, "#call-schedules"), "the line closed then")
    driver.find_element(By.ID, "call-start").click()
    until(
        lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "ended", "the after-hours call's end"
    )
    heard = text_of(driver, "#transcript")
    assert (
        "at 2026-06-06 10:00 America/Chicago" in heard and "We are closed now" in heard and "You pressed" not in heard
    )
    shot(driver, "after-hours", "phone")

    # Save writes the file; a save over a change made on disk meanwhile is refused, and says so.
    driver.find_element(By.ID, "save").click()
    until(lambda: text_of(driver, "#status") == "Saved.", "the save")
    path = folder / "support-menu.yaml"
    assert path.read_text().endswith("  farewell:\n    type: hangup")
    path.write_text(path.read_text() + "\n# changed in another editor\n")
    changed = path.read_bytes()
    source.send_keys("\n# mine")
    driver.find_element(By.ID, "save").click()
    until(lambda: driver.find_element(By.ID, "conflict").is_displayed(), "the conflict")
    assert "changed on disk" in text_of(driver, "#conflict-text") and path.read_bytes() == changed
    shot(driver, "conflict")
    driver.find_element(By.ID, "conflict-reload").click()
    assert driver.execute_script("return document.getElementById('source').value") == changed.decode()
    print(f"\nstudio journey in the browser: {time.monotonic() - started:.1f} s")


def test_author_picks_what_a_web_service_answers_and_hears_where_the_lookup_leads(
    browser: Any, studio: tuple[str, Path]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = studio
    driver = browser
    driver.get(f"{url}#/flow/prescription-line.yaml")
    until(lambda: driver.find_elements(By.ID, "http-lookup"), "the lookup's answers")
    assert not driver.find_element(By.ID, "call-time").is_displayed()  # no schedules: the time changes nothing
    answers = Select(driver.find_element(By.ID, "http-lookup"))
    assert "prescription-line.lookup.json" in answers.first_selected_option.text
    for chosen, hears in (("example", "amoxicillin"), ("timeout", "ready tomorrow")):
        answers.select_by_value(chosen)
        driver.find_element(By.ID, "call-start").click()
        for keys in ("1", "1234567", "1"):
            until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "asking", "a question")
            before = len(driver.find_elements(By.CSS_SELECTOR, "#transcript li"))
            driver.find_element(By.ID, "keypad").send_keys(keys)
            until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#transcript li")) > before, "the answer heard")
        until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "ended", "the call's end")
        heard = text_of(driver, "#transcript")
        assert "One moment while I look that up." in heard and "The web service: lookup:" in heard and hears in heard
    assert "lookup: no answer in time, on_error" in heard
    shot(driver, "lookup", "phone")


def test_author_starts_a_call_of_a_bilingual_flow_in_spanish_and_hears_each_line_in_its_language(
    browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copy(EXAMPLES / "good" / "fraud-alert.yaml", folder)
    driver = browser

    def call(language: str, answers: list[str]) -> str:
        """A call started in `language`, answered with keys ("silent": none), to its end; what was heard."""
        Select(driver.find_element(By.ID, "call-language")).select_by_value(language)
        driver.find_element(By.ID, "call-start").click()
        for answer in answers:
            until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "asking", "a question")
            before = len(driver.find_elements(By.CSS_SELECTOR, "#transcript li"))
            if answer == "silent":
                driver.find_element(By.ID, "silent").click()
            else:
                driver.find_element(By.ID, "keypad").send_keys(answer)
            until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#transcript li")) > before, "the answer heard")
        until(lambda: driver.find_element(By.ID, "phone").get_attribute("data-state") == "ended", "the call's end")
        return text_of(driver, "#transcript")

    with studio_on(folder) as url:
        driver.get(f"{url}#/flow/fraud-alert.yaml")
        until(lambda: text_of(driver, "#problems-summary") == "No problems.", "the flow checked")
        # A flow with several languages: the call starts in one of them (not any voice of Telesign's).
        until(lambda: text_of(driver, "#call-language-label") == "Starts in", "the language choice")
        choices = Select(driver.find_element(By.ID, "call-language"))
        assert [option.get_attribute("value") for option in choices.options] == ["en-US", "es-MX"]
        assert choices.first_selected_option.get_attribute("value") == "en-US"

        # In Spanish, choosing nothing: the lines each in their own language, then the rest in Spanish.
        heard = call("es-MX", ["silent", "1"])
        assert "the call starts in es-MX" in heard
        assert "Heard (en-US): This is City Bank's fraud department. For English, press 1." in heard
        assert "Heard (es-MX): Le llama el departamento de fraudes de City Bank. Para español, oprima 2." in heard
        assert "Heard (es-MX): Detectamos una compra de $120.00" in heard
        assert "Heard (es-MX): Gracias. Su tarjeta sigue activa. Adiós." in heard
        assert "Heard (en-US): We noticed" not in heard
        spoken = driver.find_elements(By.CSS_SELECTOR, "#transcript li.say span[lang]")
        assert [span.get_attribute("lang") for span in spoken] == ["en-US", "es-MX", "es-MX", "es-MX"]
        shot(driver, "languages", "phone")

        # In English, pressing 2 at the choice: the rest of the call in Spanish.
        heard = call("en-US", ["2", "1"])
        assert "the call starts in en-US" in heard and "You pressed 2" in heard
        assert "Heard (es-MX): Detectamos una compra" in heard and "We noticed" not in heard


def test_time_from_typing_to_a_shown_diagnostic_on_the_bundled_flows(browser: Any, studio: tuple[str, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = studio
    driver = browser
    times: dict[str, float] = {}
    for flow in sorted(FLOWS.glob("*.yaml")):
        if flow.name.endswith((".journeys.yaml", ".tests.yaml")):
            continue
        driver.get(f"{url}#/flow/{flow.name}")
        until(
            lambda: (
                text_of(driver, "#problems-summary") in ("No problems.",)
                or "error" in text_of(driver, "#problems-summary")
            ),
            "checked",
        )
        before = driver.execute_script("return window.studioTimings.length")
        source = driver.find_element(By.ID, "source")
        source.click()
        source.send_keys(Keys.CONTROL, Keys.END)
        source.send_keys("\nnot_a_key: 1")
        until(lambda: driver.find_elements(By.CSS_SELECTOR, "#problems li.error"), f"the error in {flow.name}")
        times[flow.stem] = driver.execute_script("return window.studioTimings[window.studioTimings.length - 1]")
        assert driver.execute_script("return window.studioTimings.length") > before
    weight = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".filter(e => /\\/$|\\.(js|css|html)$/.test(new URL(e.name).pathname))"
        ".map(e => [new URL(e.name).pathname, e.decodedBodySize, e.encodedBodySize])"
    )
    print(
        "\ntyping to a shown diagnostic (ms, 250 of them the debounce):",
        json.dumps({k: round(v) for k, v in times.items()}),
    )
    print("page weight (path, bytes, bytes sent gzipped):", json.dumps(weight))
    assert max(times.values()) < 3000


def test_operator_finds_a_simulated_call_and_reads_its_transcript(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    server = start(tmp_path / "calls.db", API_KEY)
    driver = browser
    try:
        assert httpx.get(f"{server.url}/studio/", timeout=5).status_code == 401  # the calls API's credentials
        env = {**os.environ, "TELESIGN_CUSTOMER_ID": CUSTOMER_ID, "TELESIGN_API_KEY": API_KEY}
        simulated = subprocess.run(
            [
                sys.executable,
                "-m",
                "ivrflow",
                "simulate",
                "flows/support-menu.yaml",
                "--server",
                server.url,
                "--keys",
                "3_1",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert simulated.returncode == 0, simulated.stderr
        # The browser's login prompt, answered: every request to the server carries the credentials.
        credentials = base64.b64encode(f"{CUSTOMER_ID}:{API_KEY}".encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {credentials}"}})
        driver.get(f"{server.url}/studio/#/calls")
        link = until(lambda: driver.find_elements(By.CSS_SELECTOR, "#calls-table tbody a"), "the simulated call")
        assert "support-menu" in text_of(driver, "#calls-table tbody")
        until(lambda: "active call" in text_of(driver, "#active"), "the active calls")
        shot(driver, "calls")
        link[0].click()
        until(lambda: "Thanks for calling" in text_of(driver, "#call-transcript"), "the transcript")
        transcript = text_of(driver, "#call-transcript")
        assert "Pressed 3" in transcript and "We are open" in transcript and "Z" in transcript  # times, in UTC
        shot(driver, "call")
        driver.get(f"{server.url}/studio/#/flow/support-menu.yaml")
        until(lambda: driver.find_elements(By.CSS_SELECTOR, "#outcomes svg"), "the outcomes chart")
        assert driver.find_element(By.ID, "source").get_attribute("readonly") is not None
        assert not driver.find_element(By.ID, "save").is_displayed()
        shot(driver, "outcomes", "outcomes-panel")
    finally:
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        stop(server)
