"""The WSGI app factory for gunicorn: `bot.processes.web_app:create_app()`.

gunicorn calls it once in every worker, after the fork, so each worker owns
its engine, HTTP clients and background pool (none of them survive a fork).
Web workers never start a scheduler: the `scheduler` role sweeps what a
worker left pending. Migrations ran once in `python -m bot web` before
gunicorn started, so workers only connect.

A worker answers `/healthz` at once: settings are read (a mistake still stops
the worker at boot), and the app itself (Bolt, the database, the services, the
detector) is built on a thread right after (`WarmingUp`). Until it is built,
`/readyz` answers 503, and a Slack request waits for it, up to
`WARM_UP_WAIT_SECONDS`; one that would wait longer is answered 503, which
Slack retries (events) and a proxy routing on `/readyz` never sends here.
Once built, the garbage the build left is given back to the OS (memory.py).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.config import Settings, configure_logging, load_settings, require_slack_credentials
from bot.processes.memory import settle_after_build

if TYPE_CHECKING:
    from bot.wiring import Reframe

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# A Slack request that arrives while the worker is still building its app waits this
# long for it (Slack gives up on an answer after 3 s); building takes well under 1 s.
WARM_UP_WAIT_SECONDS = 2.0
# gunicorn's exit status for a worker that could not boot: the master stops, as it
# did when create_app() itself raised.
WORKER_BOOT_ERROR = 3

# The one app of this worker process, so gunicorn's worker_exit hook can stop it.
_current: Reframe | None = None
_warming: WarmingUp | None = None


class WarmingUp:
    """A worker's WSGI app that is alive before it can serve Slack.

    `build` runs on its own thread from construction. Meanwhile `/healthz` is 200
    (the process is alive), `/readyz` is 503, and anything else waits for the build
    up to `wait_seconds`, then gets 503 + Retry-After (never a silent drop). Once
    built, every request goes straight to the built app.
    """

    def __init__(
        self,
        build: Callable[[], WSGIApp],
        *,
        wait_seconds: float = WARM_UP_WAIT_SECONDS,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._build = build
        self._wait_seconds = wait_seconds
        self._on_failure = on_failure or _stop_worker
        self._app: WSGIApp | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reframe-warm-up", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._app = self._build()
        except BaseException as error:  # noqa: BLE001 - reported, then the worker stops
            log.exception("web worker could not build its app")
            self._on_failure(error)
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._app is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the build to end; True when the app is ready."""
        self._done.wait(timeout)
        return self.ready

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = self._app
        if app is not None:
            return app(environ, start_response)
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if method == "GET" and path == "/healthz":
            return _json(start_response, "200 OK", {"ok": True})
        if method == "GET" and path == "/readyz":
            return _json(start_response, "503 Service Unavailable", {"ok": False, "starting": True})
        if self.wait(self._wait_seconds):
            assert self._app is not None
            return self._app(environ, start_response)
        log.warning(
            "answered 503 to %s %s: this worker is still starting (Slack retries events)",
            method,
            path,
        )
        return _json(
            start_response,
            "503 Service Unavailable",
            {"ok": False, "error": "starting"},
            [("Retry-After", "1")],
        )


def _json(
    start_response: StartResponse,
    status: str,
    payload: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *(headers or []),
        ],
    )
    return [body]


def _stop_worker(_error: BaseException) -> None:
    """As if create_app() had raised: gunicorn's master sees a worker that failed to
    boot and stops, instead of a worker that looks alive and never serves."""
    sys.stderr.flush()
    os._exit(WORKER_BOOT_ERROR)


def create_app() -> WarmingUp:
    global _warming
    settings = load_settings()
    require_slack_credentials(settings)
    configure_logging(settings)
    _warming = WarmingUp(lambda: _build(settings), wait_seconds=WARM_UP_WAIT_SECONDS)
    return _warming


def _build(settings: Settings) -> WSGIApp:
    """On the warm-up thread: everything a Slack request needs, detector included."""
    global _current
    # Imported here, on the warm-up thread: the modules are most of a worker's start-up.
    from bot.domain.detection import default_detector
    from bot.wiring import build

    _current = build(settings, run_migrations=False)
    default_detector()  # load in the worker now, not on a rep's first message
    # What building left behind (the tokenizer's parsed JSON, import-time temporaries)
    # is garbage now; without this the worker would hold it for its whole life. What
    # stays is frozen: the collector no longer scans it at every full collection.
    settle_after_build()
    log.info("web worker ready (no scheduler in this process)")
    return _current.wsgi


def shutdown() -> None:
    """Finish background deliveries this worker started, then close connections."""
    global _current, _warming
    if _warming is not None:
        _warming.wait()  # a build under way finishes first, so nothing it opens leaks
        _warming = None
    if _current is not None:
        _current.shutdown()
        _current = None
        log.info("web worker stopped")
