"""Log lines: JSON, one object a line, for machines (the default of `ivrflow serve`), or text.

Every webhook event handled gives one line on the `ivrflow.events` logger with the call's
reference id, flow, node, the event, what was done, the action answered, the HTTP status and the
latency; other lines carry their message. A JSON line has `time` (UTC), `level`, `logger`, `pid`
(which worker) and `message`, and the fields of the event.

An event line in JSON, the one line every webhook request writes, skips the `logging` machinery
(a record, a lock, the handler's flush: most of the line's cost) when nothing but this module's
own stderr handler would see it: it is the formatter's line, prepared directly, written to
stderr's buffer and flushed once per turn of the event loop (with every other line there, in
order). Anyone else listening to the events logger (a test's capture, another handler) gets it
through `logging` as before.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

events = logging.getLogger("ivrflow.events")


def _stamp(created: float) -> str:
    """`created` (seconds since the epoch) as the lines show it: UTC, to the millisecond."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": _stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which worker
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        return text + (" " + " ".join(f"{k}={v}" for k, v in fields.items()) if isinstance(fields, dict) else "")


def log_config(style: str) -> dict[str, Any]:
    """The logging setup of `ivrflow serve` for `logging.config.dictConfig`, and for uvicorn's
    `Config(log_config=...)`, which applies it in each worker process too: one handler, on
    stderr, writing `json` or `text` lines. uvicorn's loggers (startup, errors, its "Invalid HTTP
    request received." warnings, the workers' supervisor) lose the handlers of uvicorn's own
    setup and pass their lines to it, so a JSON log has no line of uvicorn's plain text."""
    formatter = JsonFormatter if style == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


class _Direct:
    """Where event lines go without `logging`: the stderr handler that `configure` set up for JSON
    lines (None: no such handler, every line goes through `logging`)."""

    handler: logging.Handler | None = None
    out: BinaryIO | None = None
    flushing = False  # a flush is due at the end of this turn of the event loop


def configure(style: str) -> None:
    """Send log lines to stderr as `json` or `text`."""
    logging.config.dictConfig(log_config(style))
    handlers = logging.getLogger().handlers
    buffer = getattr(sys.stderr, "buffer", None)
    direct = style == "json" and len(handlers) == 1 and buffer is not None
    _Direct.handler, _Direct.out = (handlers[0], buffer) if direct else (None, None)
    # What no line shows, not worked out for every line (as the logging docs advise under
    # "Optimization"): the caller's file and line, the thread's and the multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def event_handled(**fields: object) -> None:
    handlers = logging.root.handlers
    out = _Direct.out
    if (
        out is None
        or len(handlers) != 1
        or handlers[0] is not _Direct.handler
        or events.handlers
        or not events.isEnabledFor(logging.INFO)
    ):
        events.info("event handled", extra={"fields": fields})
        return
    line = {"time": _stamp(time.time()), "level": "info", "logger": events.name, "pid": os.getpid()}
    out.write(orjson.dumps({**line, "message": "event handled", **fields}, option=orjson.OPT_APPEND_NEWLINE))
    if not _Direct.flushing:
        _Direct.flushing = True
        try:
            asyncio.get_running_loop().call_soon(_flush)
        except RuntimeError:  # no event loop here: at once
            _flush()


def _flush() -> None:
    _Direct.flushing = False
    if _Direct.out is not None:
        _Direct.out.flush()
