"""The flows a server serves from one folder: loaded and checked as `ivrflow lint` checks them,
reloaded (on SIGHUP, or when a file in the folder changes) without dropping a version a call
still runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from ivrflow.calls.interpreter import CallState
from ivrflow.language.lint import flow_files, lint
from ivrflow.language.model import Flow, digits_only

log = logging.getLogger("ivrflow")


@dataclass
class Flows:
    """The flows being served from one folder, by id and by inbound number (with the language a
    number's calls start in, when it names one), and every version seen (a call keeps the version
    it started with)."""

    folder: Path
    current: dict[str, Flow] = field(default_factory=dict)
    versions: dict[tuple[str, str], Flow] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    number_languages: dict[str, str] = field(default_factory=dict)  # inbound number → the language its calls start in
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> list[str]:
        """(Re)load the folder, checked exactly as `ivrflow lint` checks it. A flow that lints
        replaces its old version for new calls; one that does not keeps its old version serving.
        Returns each problem as `file:line:col: ...`. The new tables are swapped in whole, so a
        request never sees a half-loaded set."""
        with self._lock:
            report = lint([self.folder])
            errors: dict[str, list[str]] = {}
            for diagnostic in report.diagnostics:
                if diagnostic.level == "error":
                    errors.setdefault(diagnostic.file, []).append(str(diagnostic))
            by_path = {flow.path: flow for flow in self.current.values()}
            current: dict[str, Flow] = {}
            for checked in report.files:
                flow = checked.flow if checked.path not in errors else by_path.get(checked.path)
                if flow is not None:
                    current[flow.id] = flow
                    self.versions[(flow.id, flow.version)] = flow
            self.numbers = {digits_only(number): flow.id for flow in current.values() for number in flow.numbers}
            self.number_languages = {
                digits_only(number): language
                for flow in current.values()
                for number, language in flow.number_languages.items()
            }
            self.current = current
            return [problem for problems in errors.values() for problem in problems]

    def reload(self) -> None:
        """Reload and log the outcome (on SIGHUP, or when a file in the folder changed)."""
        for problem in self.load():
            log.error("flow not reloaded, the old version keeps serving: %s", problem)
        log.info("reloaded %s: %d flows", self.folder, len(self.current))

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """What changes when a flow file is edited, added or removed."""
        found = []
        for path in flow_files([self.folder]):
            with contextlib.suppress(OSError):  # removed while we looked
                stat = path.stat()
                found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    async def watch(self, interval: float) -> None:
        """Reload whenever a file in the folder changes (checked every `interval` s)."""
        seen = await run_in_threadpool(self.fingerprint)
        while True:
            await asyncio.sleep(interval)
            now = await run_in_threadpool(self.fingerprint)
            if now != seen:
                seen = now
                await run_in_threadpool(self.reload)

    def for_state(self, state: CallState) -> Flow | None:
        return self.versions.get((state.flow, state.version))
