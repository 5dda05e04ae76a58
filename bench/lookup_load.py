"""Webhook load with a lookup: `ivrflow serve` (SQLite) answering calls whose flow asks a local
HTTPS service that takes 50 ms to answer (tests/pharmacy_service.py, /slow/50), with the load
generator of webhook_load.py. Each call: incoming_call (answered once the lookup is back: the flow
has no hold words), speak_completed (hang up), call_completed. Shows that a lookup's wait costs
the caller its 50 ms and nobody else anything: requests per second stay those of many
concurrent calls, and p99 stays near 50 ms plus the usual answer time.

    python bench/lookup_load.py [--seconds 10] [--callers 32] [--delay 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import webhook_load
from benchkit import free_port

ROOT = Path(__file__).resolve().parent.parent
NUMBER = "15558679999"


def events(reference: str) -> list[bytes]:
    bodies = [
        {"event": "incoming_call", "reference_id": reference, "data": {"to": NUMBER, "from": "15551230000"}},
        {"event": "speak_completed", "reference_id": reference, "data": {"status": "speak_successful"}},
        {"event": "call_completed", "reference_id": reference, "data": {"status": "hangup"}},
    ]
    return [json.dumps(body).encode() for body in bodies]


FLOW = """flow: lookup-bench
numbers: ["{number}"]
nodes:
  lookup:
    type: http
    url: "https://localhost:{port}/slow/{delay}"
    headers: {{ Authorization: "Bearer {{{{ secret.PHARMACY_TOKEN }}}}" }}
    timeout: 3
    save: {{ drug: refill.drug_name }}
    next: found
    on_error: sorry
  found:
    type: hangup
    message: "Your refill of {{{{ drug }}}} is ready."
  sorry:
    type: hangup
    message: "Sorry."
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--delay", type=int, default=50, help="milliseconds the service takes to answer")
    args = parser.parse_args()
    webhook_load.events = events  # the load generator's calls: these
    with tempfile.TemporaryDirectory() as folder:
        service_port = free_port()
        service = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "pharmacy_service.py"),
                "--port",
                str(service_port),
                "--folder",
                folder,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ca = Path(folder) / "ca.pem"
            for _ in range(200):
                try:
                    httpx.get(f"https://localhost:{service_port}/fail", verify=str(ca), timeout=1)
                    break
                except (httpx.TransportError, OSError):
                    time.sleep(0.05)
            flows = Path(folder) / "flows"
            flows.mkdir()
            (flows / "lookup-bench.yaml").write_text(FLOW.format(number=NUMBER, port=service_port, delay=args.delay))
            os.environ["IVRFLOW_SECRET_PHARMACY_TOKEN"] = "demo-token"
            rps, p99 = webhook_load.measure(
                f"ivrflow, lookup {args.delay} ms",
                [
                    sys.executable,
                    "-m",
                    "ivrflow",
                    "serve",
                    "--flows",
                    str(flows),
                    "--store",
                    f"sqlite:///{folder}/calls.db",
                    "--allow-host",
                    "localhost",
                    "--http-ca-file",
                    str(ca),
                ],
                args.seconds,
                args.callers,
            )
            ok = httpx.get(f"https://localhost:{service_port}/slow/0", verify=str(ca), timeout=5).status_code == 200
            print(f"service still answering: {ok}; requests/s {rps:,.0f}, p99 {p99:.1f} ms")
        finally:
            service.terminate()
            service.wait(10)


if __name__ == "__main__":
    main()
