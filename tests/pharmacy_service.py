"""An example pharmacy service for the prescription-line flow's `http` node, and the web service
the tests look things up in: real HTTPS on loopback, with a certificate authority made on the spot.

Run it (README, "Lookups"):

    .venv/bin/python tests/pharmacy_service.py --port 8443

It prints the two `ivrflow serve` options that let the server ask it. Its answers:

- GET /refills/{rx}, with `Authorization: Bearer <token>` (the token: PHARMACY_TOKEN, default
  `demo-token`): the refill as prescription-line.lookup.json shows it; 404 for 0000000 and unknown numbers.
- GET /slow/{ms}: the same refill after `ms` milliseconds. GET /fail: 500. GET /text: not JSON.
- POST /notices: takes end-of-call notices (200), keeps them for GET /notices; POST /notices?fail=N
  answers 503 to the first N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

REFILLS = {
    "1234567": {"rx": "1234567", "drug_name": "amoxicillin 500 milligram", "ready": True, "pickup": "today after 4 PM"},
    "7654321": {"rx": "7654321", "drug_name": "insulin glargine", "ready": False, "pickup": "on Friday after 10 AM"},
}


@dataclass
class Received:
    notices: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refuse: int = 0  # notices to answer 503 before taking one


def app(token: str, received: Received | None = None) -> Starlette:
    seen = received or Received()

    def refill(rx: str) -> Response:
        found = REFILLS.get(rx)
        return JSONResponse({"refill": found}) if found else JSONResponse({"error": "no such prescription"}, 404)

    async def refills(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "who are you?"}, 401)
        return refill(request.path_params["rx"])

    async def slow(request: Request) -> Response:
        await asyncio.sleep(int(request.path_params["ms"]) / 1000)
        return refill("1234567")

    async def fail(request: Request) -> Response:
        return JSONResponse({"error": "down"}, 500)

    async def text(request: Request) -> Response:
        return PlainTextResponse("Refill ready")

    async def notices(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse([body.decode() for _, body in seen.notices])
        body = await request.body()
        if seen.refuse > 0:
            seen.refuse -= 1
            return PlainTextResponse("busy", 503)
        seen.notices.append((dict(request.headers), body))
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/refills/{rx}", refills),
            Route("/slow/{ms:int}", slow),
            Route("/fail", fail),
            Route("/text", text),
            Route("/notices", notices, methods=["GET", "POST"]),
        ]
    )


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A new authority and a certificate for localhost and 127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    authority = trustme.CA()
    issued = authority.issue_cert("localhost", "127.0.0.1")
    ca, cert, key = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    authority.cert_pem.write_to_path(str(ca))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return ca, cert, key


@dataclass
class Running:
    url: str
    ca: Path
    received: Received


@contextmanager
def running(folder: Path, token: str = "demo-token") -> Iterator[Running]:
    """The service on a free loopback port, on a thread, over HTTPS."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = certificates(folder)
    received = Received()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app(token, received), log_level="warning", ssl_certfile=str(cert), ssl_keyfile=str(key))
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the service did not start"
            threading.Event().wait(0.01)
        yield Running(f"https://localhost:{sock.getsockname()[1]}", ca, received)
    finally:
        server.should_exit = True
        thread.join(10)
        loop.close()
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="An example pharmacy service for the prescription-line flow")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--folder", type=Path, default=Path("var/pharmacy-service"), help="where its certificates go")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = certificates(args.folder)
    token = os.environ.get("PHARMACY_TOKEN", "demo-token")
    print(f"pharmacy service at https://localhost:{args.port}; ask it from ivrflow with:", flush=True)
    print(
        f"  IVRFLOW_SECRET_PHARMACY_TOKEN={token} ivrflow serve --allow-host localhost --http-ca-file {ca}", flush=True
    )
    config: dict[str, Any] = {"ssl_certfile": str(cert), "ssl_keyfile": str(key), "log_level": "info"}
    uvicorn.run(app(token), host="127.0.0.1", port=args.port, **config)


if __name__ == "__main__":
    main()
