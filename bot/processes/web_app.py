"""The WSGI app factory for gunicorn: `bot.processes.web_app:create_app()`.

gunicorn calls it once in every worker, after the fork, so each worker owns
its engine, HTTP clients and background pool (none of them survive a fork).
Web workers never start a scheduler: the `scheduler` role sweeps what a
worker left pending. Migrations ran once in `python -m bot web` before
gunicorn started, so workers only connect.
"""

from __future__ import annotations

import logging

from bot.config import configure_logging, load_settings, require_slack_credentials
from bot.domain.detection import default_detector
from bot.observability.logs import ObservedWSGI
from bot.wiring import Reframe, build

log = logging.getLogger(__name__)

# The one app of this worker process, so gunicorn's worker_exit hook can stop it.
_current: Reframe | None = None


def create_app() -> ObservedWSGI:
    global _current
    settings = load_settings()
    require_slack_credentials(settings)
    configure_logging(settings)
    _current = build(settings, run_migrations=False)
    default_detector()  # load in the worker now, not on a rep's first message
    log.info("web worker ready (no scheduler in this process)")
    return _current.wsgi


def shutdown() -> None:
    """Finish background deliveries this worker started, then close connections."""
    global _current
    if _current is not None:
        _current.shutdown()
        _current = None
        log.info("web worker stopped")
