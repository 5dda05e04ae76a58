"""The webhook a team would write by hand for the support line, as the second baseline of
bench/webhook_load.py: Starlette on uvicorn (same worker count as `ivrflow serve`), each event
handled on Starlette's thread pool: read the call's row from SQLite, decide the answer, write the
row back, commit (one commit per event, durable as ivrflow's: WAL, synchronous=NORMAL). It knows
the support line's menu in code and keeps no transcript, no counts, no duplicate detection.

    python bench/handwritten_app.py --port 8091 --db calls.db [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))  # ivrflow, for how it runs workers
sys.path.insert(0, str(Path(__file__).resolve().parent))  # this module, for the workers to import
from ivrflow.server.workers import run_workers, uvicorn_config

DB = "HANDWRITTEN_DB"  # the SQLite file, passed to the worker processes in the environment
MENU = "For billing, press 1. For technical support, press 2. For our hours, press 3. To hear this again, press 9."
DIAL = {"1": "15550001111", "2": "15550002222"}
local = threading.local()


def speak(message: str, collect: bool) -> dict[str, object]:
    params: dict[str, object] = {"tts": {"message": message, "language": "en-US"}}
    if collect:
        params["collect_digits"] = {"max": 1, "timeout": 6}
    return {"method": "speak", "params": params}


def connection() -> sqlite3.Connection:
    db: sqlite3.Connection | None = getattr(local, "db", None)
    if db is None:
        db = sqlite3.connect(os.environ[DB], isolation_level=None, timeout=5)  # it says BEGIN itself
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS calls (id TEXT PRIMARY KEY, state TEXT NOT NULL)")
        local.db = db
    return db


def decide(call: dict[str, object], event: dict[str, object]) -> dict[str, object]:
    """The answer to `event`; changes `call` (node, tries) to what comes next."""
    name, data = event.get("event"), event.get("data") or {}
    assert isinstance(data, dict)
    if name == "incoming_call":
        call.update(node="menu", tries=0)
        return speak("Thanks for calling Acme support. " + MENU, True)
    if name == "call_completed":
        call["node"] = "ended"
        return {}
    if call["node"] == "hours":
        call["node"] = "menu"
        return speak(MENU, True)
    key = data.get("collected_digits", "")
    if key in DIAL:
        call["node"] = "dial"
        return {"method": "dial", "params": {"to": DIAL[key], "caller_id_number": "15558675309"}}
    if key == "3":
        call["node"] = "hours"
        return speak("We are open Monday to Friday, 8 to 6.", False)
    call["tries"] = int(str(call.get("tries", 0))) + (key != "9")
    return speak(("Sorry, that is not one of the options. " if key != "9" else "") + MENU, True)


def handle(body: bytes) -> dict[str, object]:
    event = json.loads(body)
    db = connection()
    db.execute("BEGIN IMMEDIATE")  # the write lock before the read: two events of a call apply one after the other
    try:
        row = db.execute("SELECT state FROM calls WHERE id = ?", (event["reference_id"],)).fetchone()
        call = json.loads(row[0]) if row else {}
        answer = decide(call, event)
        db.execute("INSERT OR REPLACE INTO calls (id, state) VALUES (?, ?)", (event["reference_id"], json.dumps(call)))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return answer


async def webhook(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(handle, await request.body()))


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/healthz", healthz)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db", default="handwritten.db")
    args = parser.parse_args()
    os.environ[DB] = str(Path(args.db).resolve())
    if args.workers == 1:
        uvicorn.Server(uvicorn_config(app, "127.0.0.1", args.port)).run()
    else:
        run_workers("handwritten_app:app", "127.0.0.1", args.port, args.workers)
