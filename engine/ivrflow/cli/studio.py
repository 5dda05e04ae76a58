"""`ivrflow studio [DIR]`: the flow studio in the browser, for one author, on loopback only."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from ivrflow.cli.common import EXIT_OK
from ivrflow.errors import UsageError

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def studio_parser(commands: Commands) -> None:
    studio = commands.add_parser(
        "studio",
        help="write, see and try flows in the browser",
        description=(
            "Serve a web page, on this machine only, that lists the flows in DIR and opens each in an editor: the problems `ivrflow lint` finds appear at their lines as you type, "
            "the diagram redraws, a phone plays a call (keypad, silence, variables), the journeys, tests and whether the flow fits Telesign v1 are one click away, and Save writes "
            "the file back (never over a change made on disk meanwhile). Everything it needs ships with ivrflow: it works offline. See docs/studio.md."
        ),
    )
    studio.add_argument("dir", nargs="?", type=Path, default=Path("flows"), help="the folder of flows (default: flows)")
    studio.add_argument("--host", default="127.0.0.1", help="a loopback address to listen on (default 127.0.0.1)")
    studio.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    studio.set_defaults(run=_studio)


def _studio(args: argparse.Namespace) -> int:
    import uvicorn

    from ivrflow.studio.app import create_studio

    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            f"ivrflow studio: {args.host} is not a loopback address; the studio writes your files, so it listens on this machine only (127.0.0.1, ::1 or localhost)"
        )
    if not args.dir.is_dir():
        raise UsageError(f"ivrflow studio: {args.dir}: no such folder")
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"ivrflow studio: the flows in {args.dir}/ at http://{host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    uvicorn.run(create_studio(args.dir), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK
