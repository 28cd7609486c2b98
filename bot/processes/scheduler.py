"""APScheduler in the bot process: a frequent tick; what is due lives in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[[], object]
    every_seconds: int


def build_scheduler(jobs: list[Job]) -> BackgroundScheduler:
    """One interval job per task; a tick never overlaps itself and missed ticks
    collapse into one, because each tick reads what is due from the database."""
    # Imported here: a web worker holds the jobs' list but never runs a scheduler.
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            _guarded(job),
            "interval",
            seconds=job.every_seconds,
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.every_seconds,
        )
    return scheduler


def _guarded(job: Job) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job.run()
            if result:
                log.info("%s: %s", job.name, result)
        except Exception:  # a failed tick must not stop the next one
            log.exception("scheduled job %s failed", job.name)

    return run
