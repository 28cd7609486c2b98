"""Work done after Slack has its acknowledgement (delivering a recorded nudge,
a listener's Web API calls)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from typing import Any

log = logging.getLogger(__name__)


class BackgroundWork(Executor):
    """A small thread pool. What it loses on a crash, the scheduler's sweep redoes
    for deliveries, because every delivery acts on a row already in the database.

    An `Executor`, so Bolt can run its lazy listeners here (`listener_executor`)
    and `shutdown(wait=True)` finishes them too.
    """

    def __init__(self, workers: int = 4, *, name: str = "reframe-bg") -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._closed = False
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            log.info("background work is shutting down; a job was not started")
            skipped: Future[Any] = Future()
            skipped.cancel()
            return skipped
        future = self._pool.submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)
        _log_failure(future)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until every job submitted so far has finished (the pool stays open);
        False if some were still running after `timeout` seconds."""
        with self._lock:
            pending = set(self._pending)
        _, not_done = wait(pending, timeout=timeout)
        return not not_done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work and (by default) finish what is in flight.

        `cancel_futures` (a stop signal): jobs not yet started are dropped, not run;
        their rows are in the database and the next process's sweep sends them.
        """
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _log_failure(future: Future[Any]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        log.error("background job failed: %s", type(error).__name__, exc_info=error)
