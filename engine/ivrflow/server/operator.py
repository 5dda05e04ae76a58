"""The studio's read-only pages inside `ivrflow serve`, for operators, behind the calls API's credentials.

The pages show the served flows as the studio does (without Save), the recent calls, one call's
transcript, each flow's outcomes and the active calls. Their data is the calls API's own GET
routes (the same answers, masking and refusals), served again under /studio/api/ops so that the
browser, once it has asked for the credentials at /studio/, sends them with every request there.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivrflow.errors import ApiError
from ivrflow.server.calls_api import Api
from ivrflow.stores import Store
from ivrflow.studio.app import create_studio


def operator_pages(flows_dir: Path, api: Api, store: Store) -> Starlette:
    async def guard(request: Request) -> Response | None:
        try:
            await api.authenticate(request, b"")
        except ApiError as error:
            return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
        return None

    calls = [route for route in api.routes() if isinstance(route, Route) and route.methods and "GET" in route.methods]
    return create_studio(flows_dir, read_only=True, guard=guard, loopback=False, calls=calls, active=store.active)
