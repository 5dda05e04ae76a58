"""The least a Starlette webhook can do, as the baseline of bench/webhook_load.py: parse the event
JSON and answer a fixed action. Served with uvicorn like `ivrflow serve` (same worker count).

    python bench/bare_app.py --port 8090 [--workers N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))  # ivrflow, for how it runs workers
sys.path.insert(0, str(Path(__file__).resolve().parent))  # this module, for the workers to import
from ivrflow.server.workers import run_workers, uvicorn_config

ACTION = {
    "method": "speak",
    "params": {"tts": {"message": "Thanks for calling.", "language": "en-US"}, "collect_digits": {"max": 1}},
}


async def webhook(request: Request) -> Response:
    event = json.loads(await request.body())
    return JSONResponse(ACTION if event.get("event") != "call_completed" else {})


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/healthz", healthz)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1:
        uvicorn.Server(uvicorn_config(app, "127.0.0.1", args.port)).run()  # as `ivrflow serve` runs one
    else:
        run_workers("bare_app:app", "127.0.0.1", args.port, args.workers)  # as `ivrflow serve --workers` runs them
