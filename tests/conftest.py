from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from ivrflow.language.clock import parse_at

if TYPE_CHECKING:
    from inprocess import App
    from redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
EXAMPLES = ROOT / "tests" / "flows"
# The bundled support line has opening hours: every server and command the tests start judges them
# at this time (a Tuesday morning, open), so that no test depends on the hour it runs at.
OPEN_HOURS = "2026-06-02 10:00 America/Chicago"
os.environ["IVRFLOW_AT"] = OPEN_HOURS
OPEN = parse_at(OPEN_HOURS, None)  # the same, for a test that runs the interpreter itself

# CI machines are slower and shared: more examples, no deadline flakiness.
settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in diagnostics are relative to the working directory; tests run from the repo root."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; each test that uses it starts from an empty database."""
    from redis_server import running_redis  # here: it needs live_server, which needs this module

    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[Callable[..., App]]:
    """Start the server's app in this process, on a real SQLite file (tmp_path/calls.db unless
    `db=` says), with live_server.start's options as keywords: api_key (the Telesign account,
    through the environment), flows, duplicate_window, dial_timeout, telesign (its base URL),
    store (another store URL). Each is stopped, and its store closed, after the test."""
    from inprocess import serving  # here: it imports this module

    with contextlib.ExitStack() as started:
        yield lambda db=None, **options: started.enter_context(serving(db or tmp_path / "calls.db", **options))
