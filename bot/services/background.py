"""Work done after Slack has its acknowledgement (delivering a recorded nudge)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class BackgroundWork:
    """A small thread pool. What it loses on a crash, the scheduler's sweep redoes,
    because every job here only acts on a row that is already in the database."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reframe-bg")
        self._closed = False

    def submit(self, fn: Callable[..., object], *args: object) -> Future[object] | None:
        if self._closed:
            log.info("background work is shutting down; the scheduler will pick this up")
            return None
        future = self._pool.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future

    def shutdown(self, wait: bool = True, *, cancel_queued: bool = False) -> None:
        """Stop taking work and (by default) finish what is in flight.

        `cancel_queued` (a stop signal): jobs not yet started are dropped, not run;
        their rows are in the database and the next process's sweep sends them.
        """
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=cancel_queued)


def _log_failure(future: Future[object]) -> None:
    error = future.exception()
    if error is not None:
        log.error("background job failed: %s", type(error).__name__, exc_info=error)
