"""Log lines: JSON, one object a line, for machines (the default of `ivrflow serve`), or text.

Every webhook event handled gives one line on the `ivrflow.events` logger with the call's
reference id, flow, node, the event, what was done, the action answered, the HTTP status and the
latency; other lines carry their message. A JSON line has `time` (UTC), `level`, `logger`, `pid`
(which worker) and `message`, and the fields of the event.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

events = logging.getLogger("ivrflow.events")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
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
        return json.dumps(line, ensure_ascii=False)


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


def configure(style: str) -> None:
    """Send log lines to stderr as `json` or `text`."""
    logging.config.dictConfig(log_config(style))
    # What no line shows, not worked out for every line (as the logging docs advise under
    # "Optimization"): the caller's file and line, the thread's and the multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def event_handled(**fields: object) -> None:
    events.info("event handled", extra={"fields": fields})
