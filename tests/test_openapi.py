"""The OpenAPI document (GET /openapi.json) is the server's: the same operations as the app's route
table, valid OpenAPI 3.1, served as built, and in agreement with docs/api.md. (That every answer
conforms to it is checked on every answer the in-process tests see, tests/openapi_check.py, and by
Schemathesis, tests/test_schemathesis.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

import openapi_check
from conftest import ROOT
from fake_telesign import FakeTelesign, running
from inprocess import App, listening, serving
from ivrflow.server.app import create_app
from ivrflow.server.openapi import OPERATIONS, document
from ivrflow.server.webhook_auth import MIN_SECRET, SECRET, WebhookAuth
from ivrflow.stores import MemoryStore
from ivrflow.tools.carrier import Phone
from live_server import CUSTOMER_ID


def _routes(webhook_auth: WebhookAuth | None = None) -> set[tuple[str, str]]:
    app = create_app(ROOT / "flows", MemoryStore(), credentials=None, watch=0, webhook_auth=webhook_auth)
    # Starlette answers HEAD for every GET route itself; the document lists the GET.
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_the_document_has_exactly_the_routes_of_the_app_in_each_mode() -> None:
    """The document describes every route of the server in any mode: those of the default mode and
    those only `--webhook-auth secret` adds (the paths with the secret), and nothing else."""
    described = {
        (method.upper(), path) for path, operations in document().get("paths", {}).items() for method in operations
    }
    default = _routes()
    secret = _routes(WebhookAuth.choose(SECRET, None, "s" * MIN_SECRET))
    assert secret - default == {("POST", "/webhook/{secret}"), ("POST", "/callbacks/v1/{secret}")}
    assert described == default | secret == set(OPERATIONS), (
        "a route was added or removed: give it (or take away) its piece in ivrflow/server/openapi.py"
    )
    for method, path in secret - default:
        assert "--webhook-auth secret" in document()["paths"][path][method.lower()]["description"], (method, path)


def test_the_document_is_valid_openapi_31_and_its_schemas_valid_json_schema() -> None:
    built = document(["appointment-reminder"])
    validate(built)  # raises on the first problem
    assert built["openapi"].startswith("3.1")
    for schema in built["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_operation_says_who_may_call_it_and_every_status_it_answers() -> None:
    built = document()
    schemes = set(built["components"]["securitySchemes"])
    assert schemes == {"basic", "tsa", "telesignSignature", "telesignSignatureBare"}
    for path, operations in built["paths"].items():
        for method, operation in operations.items():
            assert "security" in operation and {name for need in operation["security"] for name in need} <= schemes, (
                method,
                path,
            )
            assert "503" in operation["responses"], (
                f"{method} {path}: the slow-client 503 (--max-connections) is missing"
            )
            if path.startswith(("/calls", "/flows", "/checks")):
                assert {"400", "401", "500", "503"} <= set(operation["responses"]), (method, path)


def test_the_placed_call_links_to_reading_it() -> None:
    placed = document()["paths"]["/calls"]["post"]["responses"]["201"]
    assert placed["links"]["GetPlacedCall"] == {
        "operationId": "getCall",
        "parameters": {"reference_id": "$response.body#/reference_id"},
        "description": "The call just placed.",
    }
    assert document()["paths"]["/calls/{reference_id}"]["get"]["operationId"] == "getCall"
    started = document()["paths"]["/checks"]["post"]["responses"]["201"]
    assert started["links"]["GetStartedCheck"]["parameters"] == {"check_id": "$response.body#/check_id"}
    assert document()["paths"]["/checks/{check_id}"]["get"]["operationId"] == "getCheck"


def test_the_paths_with_the_secret_are_authenticated_by_it_not_by_a_signature() -> None:
    paths = document()["paths"]
    for path in ("/webhook/{secret}", "/callbacks/v1/{secret}"):
        operation = paths[path]["post"]
        bare = paths[path.removesuffix("/{secret}")]["post"]
        assert operation["security"] == [] and [parameter["name"] for parameter in operation["parameters"]] == [
            "secret"
        ]
        assert (
            operation["requestBody"] == bare["requestBody"]
            and operation["responses"]["200"] == bare["responses"]["200"]
        )
        assert set(operation["responses"]) == set(bare["responses"])
        assert "secret" in operation["responses"]["401"]["description"]


def test_it_is_served_as_built_with_the_flows_served_as_examples(tmp_path: Path) -> None:
    with serving(tmp_path / "calls.db", api_key=None) as app:
        served = app.get("/openapi.json")
        flows = [flow["id"] for flow in app.get("/flows").json()["flows"]]
    assert served.status_code == 200 and served.json() == document(flows)
    assert served.json()["paths"]["/calls"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["flow"]["examples"] == sorted(flows)


def test_docs_api_md_links_the_document_and_names_every_operation() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert "/openapi.json" in text
    for method, path in OPERATIONS:
        assert re.search(rf"{method} {re.escape(path)}(?![\w/{{])", text), (
            f"docs/api.md does not mention {method} {path}"
        )


# --- the document and the code agree where they could drift ------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    from inprocess import KEY

    with serving(tmp_path / "calls.db", api_key=KEY) as running:
        yield running


def test_a_number_with_spaces_around_is_taken_as_the_document_says(app: App) -> None:
    """The server strips white space around `to` and `caller_id`; the document's patterns allow it, so
    that a request it accepts is never one the document calls invalid."""
    from inprocess import BASIC

    answer = app.request(
        "POST", "/calls", json={"flow": "nope", "to": " +15552010200 ", "caller_id": None}, headers=BASIC
    )
    assert answer.status_code == 404  # past the number checks: only the flow is wrong
    body = {"flow": "appointment-reminder", "to": " +15552010200 ", "caller_id": None}
    validator = jsonschema.Draft202012Validator(
        {**document(), "$ref": "#/paths/~1calls/post/requestBody/content/application~1json/schema"}
    )
    assert not list(validator.iter_errors(body))


def test_each_refusal_of_the_calls_api_conforms_with_its_www_authenticate_header(app: App) -> None:
    answer = app.get("/flows")  # no credentials
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == 'Basic realm="ivrflow"'
    assert openapi_check.problems("GET", "/flows", 401, answer.headers, answer.content) == []
    without = answer.headers.copy()
    del without["WWW-Authenticate"]
    assert openapi_check.problems("GET", "/flows", 401, without, answer.content) == [
        "GET /flows 401: no WWW-Authenticate header"
    ]


def test_a_check_is_started_and_read_as_the_document_says(tmp_path: Path) -> None:
    """POST /checks and GET /checks/{check_id} against a fake Telesign whose carrier plays the test
    call: every answer (the 201, the record with its events and verdicts, the refusals) is checked
    against the document by the harness."""
    from inprocess import BASIC, KEY

    operator = "15552030111"
    phone = Phone(keys=["1", None, "123", None], hangs_up_after=4)
    with (
        running(FakeTelesign(CUSTOMER_ID, KEY, phones={operator: phone})) as fake,
        listening(tmp_path / "calls.db", api_key=KEY, telesign=fake.url, duplicate_window=0) as app,
    ):
        fake.webhook = f"{app.url}/webhook"
        started = app.request(
            "POST", "/checks", json={"to": f"+{operator}", "caller_id": "+15554441313"}, headers=BASIC, timeout=30
        )
        assert started.status_code == 201 and started.headers["Location"] == f"/checks/{started.json()['check_id']}"
        check_id = started.json()["check_id"]
        fake.call_for(check_id)
        record = app.get(f"/checks/{check_id}", headers=BASIC).json()
        assert record["events"] and record["verdicts"] and record["call"]["transcript"]
        assert app.get("/checks/NOPE", headers=BASIC).status_code == 404
        refused = app.request("POST", "/checks", json={"to": f"+{operator}"}, headers=BASIC)
        assert refused.status_code == 400 and refused.json()["ResponseStatus"]["Errors"][0]["FieldName"] == "caller_id"
        assert app.request("POST", "/checks", json={}).status_code == 401
        # read as strictly as POST /calls: NaN is no JSON number
        nan = app.request(
            "POST", "/checks", content=b'{"to": NaN}', headers={**BASIC, "Content-Type": "application/json"}
        )
        assert nan.status_code == 400 and "not JSON" in nan.json()["ResponseStatus"]["Message"]
