"""The server's one writer to the call store: a thread that applies the updates the event loop
hands it, as many as have queued up in one store batch (a group commit).

Why not a worker thread per update: every update needs the store's write lock anyway, so
threads only queue for it, and each hop between the event loop and a thread costs more than the
update itself. One thread taking whatever has queued pays for one hop and one commit per batch.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ivrflow.errors import StoreUnavailable
from ivrflow.stores import Store

T = TypeVar("T")
log = logging.getLogger(__name__)

# An update still queued after this long is answered "store unavailable" unread: its sender has
# waited as long as the store's own timeout, and will deliver it again.
PATIENCE = 3.0
MOST_PER_BATCH = 100

Work = tuple[Callable[[], Any], "asyncio.Future[Any]", float]  # what to run, for whom, queued when
Done = tuple["asyncio.Future[Any]", Any, BaseException | None]  # for whom, the result or the error


class Writer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        """The result of `work()`, run on the writer thread inside a store batch: stored when this
        returns. Raises what `work` raises, or StoreUnavailable when the batch was not stored."""
        self._start()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((work, future, time.monotonic()))
        return await future

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="ivrflow-writer", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Let the thread finish what is queued, then stop it."""
        with self._starting:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MOST_PER_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._settle(self._apply(batch))

    def _apply(self, batch: list[Work]) -> list[Done]:
        done: list[Done] = []
        try:
            with self.store.batch():
                for work, future, queued in batch:
                    if time.monotonic() - queued > PATIENCE:
                        done.append(
                            (
                                future,
                                None,
                                StoreUnavailable(f"the store took more than {PATIENCE:g} s to get to this update"),
                            )
                        )
                        continue
                    try:
                        done.append((future, work(), None))
                    except Exception as error:  # this update's own failure: the others still count
                        done.append((future, None, error))
        except Exception as error:  # the batch was not stored: no update in it counts
            failure = error if isinstance(error, StoreUnavailable) else StoreUnavailable(str(error))
            if not isinstance(error, StoreUnavailable):
                log.exception("store batch failed")
            return [(future, None, failure) for _, future, _ in batch]
        return done

    @staticmethod
    def _settle(done: list[Done]) -> None:
        """Hand each result to its event loop: one wake-up per loop for the whole batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Done]] = {}
        for item in done:
            by_loop.setdefault(item[0].get_loop(), []).append(item)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass


def _resolve(items: list[Done]) -> None:
    for future, result, error in items:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
