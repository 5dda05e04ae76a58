"""The engine's app in this process: `create_app` against a real SQLite file, talked to with
Starlette's test client (its lifespan runs), with the account's credentials to sign with. For
tests that send what no HTTP client would (a lone surrogate, both framings of a body) and need
to look at the store, the log and the metrics right after."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from conftest import FLOWS
from ivrflow.server.app import create_app
from ivrflow.stores import Store, open_store
from ivrflow.telesign.auth import Credentials, basic_authorization, callback_signature

CUSTOMER_ID = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
KEY = base64.b64encode(b"strict-input-test-key-32-bytes!!").decode()
SUPPORT_NUMBER = "15558675309"  # flows/support-menu.yaml answers it
CALLER = "15551230000"
JSON = {"Content-Type": "application/json"}
BASIC = {"Authorization": basic_authorization(CUSTOMER_ID, KEY)}


def signed(body: bytes, customer_id: str = CUSTOMER_ID) -> dict[str, str]:
    """The headers of a post signed as Telesign signs it, naming `customer_id`."""
    return {**JSON, "Authorization": f"TSA {customer_id}:{callback_signature(KEY, body)}"}


@dataclass
class InProcess:
    client: TestClient
    store: Store

    def webhook(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post("/webhook", content=body, headers=signed(body) if headers is None else headers)

    def callback(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post("/callbacks/v1", content=body, headers=signed(body) if headers is None else headers)

    def api(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.request(method, path, content=body or None, headers={**JSON, **BASIC} if headers is None else headers)

    def calls(self) -> dict[str, tuple[object, list[dict[str, object]]]]:
        """Every call in the store: its record and its transcript."""
        return {record.reference_id: (record, self.store.transcript(record.reference_id)) for record in self.store.recent(limit=None)}

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = self.client.get("/metrics")
        assert answer.status_code == 200, answer.text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(answer.text) for s in family.samples}


@contextlib.contextmanager
def in_process(db: Path, store_url: str | None = None, flows: Path = FLOWS) -> Iterator[InProcess]:
    """The app with the account's credentials, on a SQLite file at `db` (or the store at `store_url`).
    Server errors come back as 500 answers, as a client would see them, not as exceptions."""
    store = open_store(store_url or f"sqlite:///{db}")
    app = create_app(flows, store, credentials=Credentials(CUSTOMER_ID, KEY), watch=0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield InProcess(client, store)
