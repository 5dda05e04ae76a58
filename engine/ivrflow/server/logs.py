"""Log lines: JSON, one object a line, for machines (the default of `ivrflow serve`), or text.

Every webhook event handled gives one line on the `ivrflow.events` logger with the call's
reference id, flow, node, the event, what was done, the action answered, the HTTP status and the
latency; other lines carry their message. A JSON line has `time` (UTC), `level`, `logger`, `pid`
(which worker) and `message`, and the fields of the event.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

events = logging.getLogger("ivrflow.events")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
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


def configure(style: str) -> None:
    """Send log lines to stderr as `json` or `text`."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if style == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # What no line shows, not worked out for every line (as the logging docs advise under
    # "Optimization"): the caller's file and line, the thread's and the multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def event_handled(**fields: object) -> None:
    events.info("event handled", extra={"fields": fields})
