"""GET /openapi.json: the server's HTTP interface described in OpenAPI 3.1, built from one small
piece per route (OPERATIONS) made of shared parts (ivrflow/server/openapi_parts.py), the answer
shapes (ivrflow/server/openapi_schemas.py) and the JSON Schemas of Telesign's bodies under schemas/.

Adding a route to the app means adding its piece here: tests/test_openapi.py holds the app's
route table and this document's operations to the same set, and checks every answer the tests
see against the document. Routes present only in one mode of the server (the paths with the
webhook secret, `--webhook-auth secret`) are in it too, and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ivrflow import __version__
from ivrflow.server import openapi_schemas as shapes
from ivrflow.server.checks import KEPT
from ivrflow.server.openapi_parts import (
    BUSY,
    BUSY_503,
    CHECK_ID,
    JSON,
    OPEN,
    PLACING,
    QUERY,
    REFERENCE_ID,
    SECURITY_SCHEMES,
    TEXT,
    Doc,
    answer,
    api_error,
    api_operation,
    created,
    flow_parameter,
    ref,
    signed_operation,
)

# Each route's piece: (method, path) -> the operation, given the ids of the flows served now.
Piece = Callable[[list[str]], Doc]

OPERATIONS: dict[tuple[str, str], Piece] = {
    ("POST", "/calls"): lambda flows: api_operation(
        "Place an outbound call",
        "Stores the call, then sends Telesign's /v2/voice a `dial`. The flow runs when Telesign's events come to POST /webhook.",
        {
            "201": created(
                "Telesign accepted the dial (`dial_accepted`).",
                "PlacedCall",
                "/calls",
                "reference_id",
                "getCall",
                ("GetPlacedCall", "The call just placed."),
            ),
            **PLACING,
            "404": api_error("`FLOW_NOT_FOUND`: no served flow has this id."),
        },
        body={"required": True, "content": {JSON: {"schema": shapes.call_request(flows)}}},
    ),
    ("GET", "/calls"): lambda flows: api_operation(
        "Recent calls",
        "Newest first.",
        {
            "200": answer("The calls.", ref("CallList")),
            "400": api_error("An unknown query parameter, a status that is not one, a limit out of 1-500."),
        },
        parameters=QUERY,
    ),
    ("GET", "/calls/{reference_id}"): lambda flows: {
        **api_operation(
            "One call",
            "With its variables and timed transcript (a v1 call: what Telesign reported).",
            {"200": answer("The call.", ref("Call")), "404": api_error("`CALL_NOT_FOUND`.")},
            parameters=[REFERENCE_ID],
        ),
        "operationId": "getCall",
    },
    ("GET", "/flows"): lambda flows: api_operation(
        "The flows served",
        "Each with its version, numbers, variables and whether it compiles to v1.",
        {"200": answer("The flows.", ref("FlowList"))},
    ),
    ("GET", "/flows/{flow}/outcomes"): lambda flows: api_operation(
        "How a flow's calls went",
        "The counts the store keeps as the flow's calls go (by status, per menu, per collect_digits node, per ending, v1 choices), as `ivrflow outcomes FLOW --format json`.",
        {
            "200": answer("The summary.", ref("Outcomes")),
            "404": api_error("`FLOW_NOT_FOUND`: neither the flow nor a call of it."),
        },
        parameters=[flow_parameter(flows)],
    ),
    ("POST", "/webhook"): lambda flows: signed_operation(
        "Telesign's call events",
        "A v2 voice event; the answer is the call's next action.",
        ref("V2Event"),
        answer("The next action, or `{}` when there is none.", {"oneOf": [ref("V2Action"), shapes.EMPTY]}),
        "An event for a call that needs one and there is none with this reference id.",
    ),
    ("POST", "/callbacks/v1"): lambda flows: signed_operation(
        "Telesign's status callbacks for v1 calls",
        "Recorded, or already recorded, or stale: the answer is `{}` all the same.",
        ref("V1Status"),
        answer("`{}`.", shapes.EMPTY),
        "No v1 call with this reference id.",
    ),
    ("POST", "/webhook/{secret}"): lambda flows: signed_operation(
        "Telesign's call events, at the path with the secret",
        "A v2 voice event; the answer is the call's next action.",
        ref("V2Event"),
        answer("The next action, or `{}` when there is none.", {"oneOf": [ref("V2Action"), shapes.EMPTY]}),
        "An event for a call that needs one and there is none with this reference id.",
        secret=True,
    ),
    ("POST", "/callbacks/v1/{secret}"): lambda flows: signed_operation(
        "Telesign's status callbacks for v1 calls, at the path with the secret",
        "Recorded, or already recorded, or stale: the answer is `{}` all the same.",
        ref("V1Status"),
        answer("`{}`.", shapes.EMPTY),
        "No v1 call with this reference id.",
        secret=True,
    ),
    ("POST", "/checks"): lambda flows: api_operation(
        "Start a check of the Telesign account (`ivrflow check-telesign`)",
        "Places a test call with a built-in check flow (not one of GET /flows), one step for each of the engine's assumptions about Telesign, "
        "and records every post Telesign makes for it (in this worker's memory: run checks with one worker). Fails as POST /calls does.",
        {
            "201": created(
                "Telesign accepted the dial: the check's id and what POST /calls answers.",
                "PlacedCheck",
                "/checks",
                "check_id",
                "getCheck",
                ("GetStartedCheck", "The check just started."),
            ),
            **PLACING,
        },
        body={"required": True, "content": {JSON: {"schema": shapes.CHECK_REQUEST}}},
    ),
    ("GET", "/checks/{check_id}"): lambda flows: {
        **api_operation(
            "A check's record",
            "What was answered, the call and its transcript, each post Telesign made for it exactly as it arrived, and what each assumption came to.",
            {
                "200": answer("The record.", ref("Check")),
                "404": api_error(
                    f"`CHECK_NOT_FOUND`: this worker holds no check with this id (the last {KEPT} are kept, in memory)."
                ),
            },
            parameters=[CHECK_ID],
        ),
        "operationId": "getCheck",
    },
    ("GET", "/healthz"): lambda flows: {
        "tags": ["operations"],
        "summary": "Health",
        "security": OPEN,
        "responses": {
            "200": answer("Flows loaded and the store answering.", ref("Health")),
            "503": {
                **answer("No flow loaded, or the store down. " + BUSY),
                "content": {JSON: {"schema": ref("Health")}, TEXT: {"schema": {"type": "string"}}},
            },
        },
    },
    ("GET", "/metrics"): lambda flows: {
        "tags": ["operations"],
        "summary": "Prometheus metrics",
        "security": OPEN,
        "responses": {"200": answer("Prometheus' text format.", {"type": "string"}, TEXT), "503": BUSY_503},
    },
    ("GET", "/openapi.json"): lambda flows: {
        "tags": ["operations"],
        "summary": "This document",
        "security": OPEN,
        "responses": {"200": answer("OpenAPI 3.1.", {"type": "object"}), "503": BUSY_503},
    },
}


def document(flows: Iterable[str] = ()) -> Doc:
    """The OpenAPI document of the server, with the ids of the flows it serves as examples."""
    served = sorted(flows)
    paths: Doc = {}
    for (method, path), piece in OPERATIONS.items():
        paths.setdefault(path, {})[method.lower()] = piece(served)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ivrflow",
            "version": __version__,
            "description": "Phone menus as YAML flows, run live on Telesign voice: Telesign's webhook and callbacks, and the calls API. docs/api.md says the same in words.",
        },
        "tags": [{"name": "calls API"}, {"name": "Telesign"}, {"name": "operations"}],
        "paths": paths,
        "components": {"schemas": shapes.schemas(), "securitySchemes": SECURITY_SCHEMES},
    }
