"""The studio's Starlette app: one page (static/index.html) and the small JSON API it draws from.

GET  /                       the page (the flows, then one flow: editor, diagram, phone, journeys, v1)
GET  /rules/{rule}           a rule's explanation, from the rule catalog (links work offline)
GET  /api/flows              the flow files in the folder
GET  /api/flows/{name}       one file's text and version (the hash of its bytes)
PUT  /api/flows/{name}       save: only over the version the page loaded, else 409 with what is on disk
POST /api/check              diagnostics, diagram, v1 fit and phone options for the text typed (at the time of the call given)
POST /api/tests              the journeys and `ivrflow test`'s findings for the text typed
POST /api/phone              start a call, or answer it (keys, silence, a transfer's answer, hang up), at the
                             time of the call given, its lookups answered as the page chose
GET  /api/active, /api/ops/… inside `ivrflow serve`: active calls, and the calls API's GET routes

`ivrflow studio` serves it on loopback for one author; `ivrflow serve` mounts it read-only (no
PUT) behind the calls API's credentials, with the calls.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ivrflow import strictjson
from ivrflow.calls.record import STATUSES
from ivrflow.errors import BadJson
from ivrflow.language.catalog import RULES
from ivrflow.language.lint import flow_files
from ivrflow.language.loader import check_bytes, content_version, display_path
from ivrflow.studio import phone, views
from ivrflow.studio.guard import (
    SAFE_METHODS,
    SESSION_COOKIE,
    Guard,
    Sessions,
    loopback_host,
    refuse,
    same_origin,
)
from ivrflow.studio.pages import STATIC, index_html, rule_html

MAX_TEXT = 1_000_000  # bytes of one request: a flow file is a few kilobytes


class Studio:
    def __init__(self, folder: Path, *, read_only: bool, operator: bool = False) -> None:
        self.folder = folder
        self.read_only = read_only
        self.operator = operator
        self.sessions = Sessions()
        self._saving = threading.Lock()  # one save at a time: the version check and the write are one step

    def files(self) -> dict[str, Path]:
        """The flow files in the folder by their name in it (POSIX); only these can be read or written."""
        return {path.relative_to(self.folder).as_posix(): path for path in flow_files([self.folder])}

    def path(self, name: str) -> Path:
        path = self.files().get(name)
        if path is None:
            raise LookupError(name)
        return path

    async def page(self, request: Request) -> Response:
        config: dict[str, Any] = {"mode": "read-only" if self.read_only else "author", "folder": str(self.folder)}
        if self.operator:
            config.update(operator=True, statuses=list(STATUSES))
        session = ""
        if not self.read_only:
            session, config["token"] = self.sessions.new()
        response = HTMLResponse(index_html(config), headers={"Cache-Control": "no-store"})
        if session:
            response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    async def rule(self, request: Request) -> Response:
        rule = RULES.get(request.path_params["rule"])
        if rule is None:
            return HTMLResponse("<!doctype html><title>No such rule</title><p>No such rule.</p>", status_code=404)
        return HTMLResponse(rule_html(rule))

    async def list_flows(self, request: Request) -> Response:
        def listing() -> list[dict[str, Any]]:
            shown = []
            for name, path in self.files().items():
                checked = check_bytes(path.read_bytes(), display_path(path))
                errors = sum(d.level == "error" for d in checked.diagnostics)
                flow_id = checked.flow.id if checked.flow is not None else None
                shown.append({"name": name, "file": checked.path, "flow": flow_id, "errors": errors})
            return shown

        return JSONResponse(
            {"folder": str(self.folder), "read_only": self.read_only, "flows": await run_in_threadpool(listing)}
        )

    async def read_flow(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            data = self.path(name).read_bytes()
        except LookupError:
            return refuse(404, f"no flow file {name!r} in {self.folder}")
        return JSONResponse(
            {"name": name, "text": data.decode("utf-8", errors="replace"), "version": content_version(data)}
        )

    async def save_flow(self, request: Request) -> Response:
        if not self.sessions.token_ok(request):
            return refuse(403, "this save did not come from the studio's own page: reload the page and save again")
        body = await _json(request)
        name = request.path_params["name"]
        text, version = body.get("text"), body.get("version")
        if not isinstance(text, str) or not isinstance(version, str):
            return refuse(400, "send the text and the version the page loaded")
        try:
            path = self.path(name)
        except LookupError:
            return refuse(404, f"no flow file {name!r} in {self.folder}")
        return await run_in_threadpool(self._write, path, text, version)

    def _write(self, path: Path, text: str, version: str) -> Response:
        with self._saving:
            on_disk = path.read_bytes()
            if content_version(on_disk) != version:
                return JSONResponse(
                    {
                        "error": f"{path.name} was changed on disk since you opened it; nothing was saved. Reload it (and lose what you typed) or keep yours (and overwrite the change).",
                        "disk_version": content_version(on_disk),
                        "disk_text": on_disk.decode("utf-8", errors="replace"),
                    },
                    status_code=409,
                )
            data = text.encode("utf-8")
            with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
                out.write(data)
            os.replace(out.name, path)  # whole or not at all: a reader never sees half a file
        return JSONResponse({"saved": True, "version": content_version(data)})

    async def check(self, request: Request) -> Response:
        body = await _json(request)
        name, text = self._typed(body)
        at, zone = _texts(body, "at", "zone")
        return JSONResponse(await run_in_threadpool(views.check, text, display_path(self.path(name)), at, zone))

    async def tests(self, request: Request) -> Response:
        name, text = self._typed(await _json(request))
        path = self.path(name)
        return JSONResponse(await run_in_threadpool(views.journeys_and_tests, path, display_path(path), text))

    async def phone(self, request: Request) -> Response:
        body = await _json(request)
        name, text = self._typed(body)
        checked = check_bytes(text.encode("utf-8"), display_path(self.path(name)))
        if checked.flow is None or not checked.ok:
            return refuse(400, "fix the flow's errors first: only a flow without errors can take a call")
        try:
            flow, language = phone.in_language(checked.flow, body.get("language"))
        except phone.BadCall as problem:
            return refuse(400, str(problem))
        at_text, zone = _texts(body, "at", "zone")
        try:
            at = views.call_time(flow, at_text, zone)
        except ValueError as problem:
            return refuse(400, f"the time of the call: {problem}")
        try:
            lookup = phone.lookups(flow, body.get("http"), self.folder)
            if "start" in body:
                variables = body["start"].get("variables", {}) if isinstance(body["start"], dict) else None
                if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
                    raise phone.BadCall("variables are an object of texts")
                return JSONResponse(phone.start(flow, variables, at, lookup, language))
            answer, keys = body.get("answer"), body.get("keys", "")
            if not isinstance(answer, str) or not isinstance(keys, str):
                raise phone.BadCall("send an answer (and its keys)")
            return JSONResponse(phone.answer(flow, body.get("state"), answer, keys, at, lookup))
        except phone.BadCall as problem:
            return refuse(400, str(problem))

    def _typed(self, body: dict[str, Any]) -> tuple[str, str]:
        name, text = body.get("name"), body.get("text")
        if not isinstance(name, str) or not isinstance(text, str):
            raise BadRequest("send the flow file's name and its text")
        try:
            self.path(name)
        except LookupError:
            raise BadRequest(f"no flow file {name!r} in {self.folder}") from None
        return name, text

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", self.page, methods=["GET"]),
            Route("/rules/{rule}", self.rule, methods=["GET"]),
            Route("/api/flows", self.list_flows, methods=["GET"]),
            Route("/api/flows/{name:path}", self.read_flow, methods=["GET"]),
            Route("/api/check", self.check, methods=["POST"]),
            Route("/api/tests", self.tests, methods=["POST"]),
            Route("/api/phone", self.phone, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
        if not self.read_only:
            routes.append(Route("/api/flows/{name:path}", self.save_flow, methods=["PUT"]))
        return routes


class BadRequest(Exception):
    pass


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_TEXT:
        raise BadRequest(f"a request is at most {MAX_TEXT} bytes")
    try:
        data = strictjson.loads(body)
    except BadJson as problem:
        raise BadRequest(str(problem)) from None
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object")
    return data


def _texts(body: dict[str, Any], *names: str) -> tuple[str, ...]:
    """Optional texts of a request (absent: "")."""
    values = tuple(body.get(name) or "" for name in names)
    if not all(isinstance(value, str) for value in values):
        raise BadRequest(f"{', '.join(names)} are texts")
    return values


async def _bad_request(request: Request, exc: Exception) -> Response:
    return refuse(400, str(exc))


class Gate:
    """Every request passes here first: the host (loopback studio), the origin of anything that is
    not a GET, and the guard `ivrflow serve` gives (its credentials)."""

    def __init__(self, app: ASGIApp, *, loopback: bool, guard: Guard | None) -> None:
        self.app = app
        self.loopback = loopback
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            refused: Response | None = None
            if self.loopback and not loopback_host(request):
                refused = refuse(421, "the studio answers only at 127.0.0.1, localhost or [::1]")
            elif request.method not in SAFE_METHODS and not same_origin(request):
                refused = refuse(403, "refused: this request came from another site")
            elif self.guard is not None:
                refused = await self.guard(request)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_studio(
    folder: Path,
    *,
    read_only: bool = False,
    guard: Guard | None = None,
    loopback: bool = True,
    calls: Sequence[BaseRoute] = (),
    active: Callable[[], int] | None = None,
) -> Starlette:
    """The studio for the flows in `folder`. `ivrflow serve` passes `read_only`, its credentials'
    `guard`, `loopback=False` (it checks hosts its own way), the calls API's GET routes as `calls`
    (served under /api/ops) and the store's count of `active` calls."""
    studio = Studio(folder, read_only=read_only, operator=bool(calls))
    routes = studio.routes()
    if calls:
        routes.append(Mount("/api/ops", routes=list(calls)))
    if active is not None:
        count = active

        async def active_calls(request: Request) -> Response:
            return JSONResponse({"active": await run_in_threadpool(count)})

        routes.append(Route("/api/active", active_calls, methods=["GET"]))
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(Gate, loopback=loopback, guard=guard),
            Middleware(GZipMiddleware, minimum_size=1000),
        ],
        exception_handlers={BadRequest: _bad_request},
    )
