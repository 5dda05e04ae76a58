"""The least a Starlette webhook can do, as the baseline of bench/webhook_load.py: parse the event
JSON and answer a fixed action. Served with uvicorn like `ivrflow serve` (same worker count).

    python bench/bare_app.py --port 8090 [--workers N]
"""

from __future__ import annotations

import argparse
import json

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ACTION = {"method": "speak", "params": {"tts": {"message": "Thanks for calling.", "language": "en-US"}, "collect_digits": {"max": 1}}}


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
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    else:
        uvicorn.run("bare_app:app", host="127.0.0.1", port=args.port, workers=args.workers, log_level="warning", app_dir=str(__import__("pathlib").Path(__file__).parent))
