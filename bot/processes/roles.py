"""Production process roles: `python -m bot web` and `python -m bot scheduler`.

Any number of either may run against one PostgreSQL database: a nudge is
claimed in the database before it is sent, so two processes never send it
twice. `python app.py` remains the all-in-one process (web and scheduler).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, TypeVar

from bot.config import (
    Settings,
    SettingsError,
    configure_logging,
    load_settings,
    require_slack_credentials,
)

log = logging.getLogger("bot")

GUNICORN_CONFIG = "python:bot.processes.gunicorn_conf"
WSGI_FACTORY = "bot.processes.web_app:create_app()"


def add_parsers(sub: Any) -> None:
    """Register the role commands on `python -m bot`'s subparsers."""
    web = sub.add_parser(
        "web",
        help="serve Slack's requests with gunicorn (no scheduler); migrates first",
        description="Runs migrations once, then runs gunicorn in this process with "
        "bot/processes/gunicorn_conf.py. "
        "PORT, WEB_CONCURRENCY and WEB_THREADS set the bind port, workers and threads; "
        "GUNICORN_CMD_ARGS passes any other gunicorn option (e.g. '--log-level debug').",
    )
    web.set_defaults(handler=run_web)

    scheduler = sub.add_parser(
        "scheduler",
        help="run the scheduled jobs (deliveries, check-ins); migrates first",
        description="Runs migrations, then the jobs loop until SIGTERM. Serves /healthz, "
        "/readyz and /metrics on PORT unless --no-http.",
    )
    scheduler.add_argument("--no-http", action="store_true", help="no health endpoint")
    scheduler.set_defaults(handler=run_scheduler)


def _settings() -> Settings | None:
    try:
        settings = load_settings()
        require_slack_credentials(settings)
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return None
    configure_logging(settings)
    return settings


def gunicorn_args(extra: Iterable[str] = ()) -> list[str]:
    """gunicorn's own command-line arguments for the web role."""
    return ["--config", GUNICORN_CONFIG, *extra, WSGI_FACTORY]


def gunicorn_command(extra: Iterable[str] = ()) -> list[str]:
    return [sys.executable, "-m", "gunicorn", *gunicorn_args(extra)]


def explain_start_failure(error: BaseException, settings: Settings) -> str | None:
    """One line naming the fix for a start-up failure an operator can fix, else None."""
    import errno

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError):
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = type(error.orig).__name__ if error.orig is not None else type(error).__name__
        return (
            f"Reframe cannot start: the database at {where} does not answer ({reason}); "
            "check DATABASE_URL and that the server is up"
        )
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (
            f"Reframe cannot start: port {settings.port} is already in use; set PORT to a "
            "free port or stop the process holding it"
        )
    return None


T = TypeVar("T")


def or_explain(step: Callable[[], T], settings: Settings) -> T | None:
    """The step's result, or None after printing the one-line fix for a failure an
    operator can fix (see `explain_start_failure`); anything else is raised as it is."""
    try:
        return step()
    except Exception as error:
        explained = explain_start_failure(error, settings)
        if explained is None:
            raise
        print(explained, file=sys.stderr)
        return None


def credentials_accepted(settings: Settings) -> bool:
    """A single-workspace token Slack refuses is one clear line at start, not a bot that
    starts 'fine' and then tells every rep to reinstall."""
    from bot.slack.client import token_problem

    if settings.slack_bot_token is None:
        return True  # OAuth: each workspace's token is checked when it installs
    problem = token_problem(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    if problem is None:
        return True
    print(
        f"Reframe cannot start: Slack refused SLACK_BOT_TOKEN ({problem}); set the bot "
        "token (xoxb-...) from your app's OAuth & Permissions page",
        file=sys.stderr,
    )
    return False


def serves_http(settings: Settings) -> bool:
    """Socket Mode is the all-in-one process's: gunicorn would serve /slack/events that
    Slack never calls, and look healthy doing it (the image's default command is this)."""
    if settings.slack_app_token is None:
        return True
    print(
        "Reframe cannot start: SLACK_APP_TOKEN is set (Socket Mode), and the web role takes "
        "Slack's requests over HTTP only; run `python app.py` for Socket Mode, or unset "
        "SLACK_APP_TOKEN to serve HTTP",
        file=sys.stderr,
    )
    return False


def detector_ready() -> bool:
    """Load the detector before serving; a missing encoder wheel is one clear line."""
    from bot.domain.detection import EncoderMissing, default_detector

    try:
        default_detector()
    except EncoderMissing as problem:
        print(f"Reframe cannot start: {problem}", file=sys.stderr)
        return False
    return True


def encoder_installed() -> bool:
    """The detector's files are there (a missing wheel is one clear line), checked
    without loading it: each web worker loads its own after the fork."""
    from bot.domain.detection.encoder import EncoderMissing, wordllama_dir

    try:
        wordllama_dir()
    except EncoderMissing as problem:
        print(f"Reframe cannot start: {problem}", file=sys.stderr)
        return False
    return True


def run_web(_args: argparse.Namespace) -> int:
    # Before the settings: configuring logging imports prometheus_client, which picks
    # its multiprocess mode (counters summed across workers) once, at import.
    ensure_metrics_directory()
    settings = _settings()
    if settings is None or not serves_http(settings):
        return 2
    if not encoder_installed() or not credentials_accepted(settings):
        return 2
    if or_explain(lambda: _migrate(settings), settings) is None:
        return 2
    args = gunicorn_args()
    log.info("starting gunicorn %s", " ".join(args))
    sys.stdout.flush()
    sys.stderr.flush()
    # gunicorn's master is this process (it receives the container's SIGTERM), not a
    # new interpreter: no second start-up importing settings and gunicorn again, and
    # the libraries the checks above imported (SQLAlchemy, psycopg, the Slack SDK) are
    # already loaded when the workers fork, their pages shared rather than each
    # worker's own. Nothing above leaves a connection or a thread behind.
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = ["gunicorn", *args]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn").run()
    return 0  # gunicorn exits the process itself


METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
_metrics_directory_made: str | None = None


def ensure_metrics_directory() -> str:
    """PROMETHEUS_MULTIPROC_DIR for gunicorn's workers: a fresh, empty directory for
    this master unless the environment names one. Set before prometheus_client is
    imported anywhere in this process (bot/observability/metrics.py)."""
    global _metrics_directory_made
    directory = os.environ.get(METRICS_DIR_ENV)
    if not directory:
        directory = tempfile.mkdtemp(prefix="reframe-metrics-")
        os.environ[METRICS_DIR_ENV] = directory
        _metrics_directory_made = directory
    return directory


def metrics_directory_made_here() -> str | None:
    """The directory `ensure_metrics_directory` made in this process (None: the
    environment named one, or none was made)."""
    return _metrics_directory_made


def _migrate(settings: Settings) -> bool:
    """Once, before any worker forks; concurrent roles wait on an advisory lock.

    True once the schema is current (a value, so `or_explain` can tell it ran).
    Only the storage layer is imported (not bot.wiring): this process becomes gunicorn's
    master next, and its workers inherit what it imported."""
    from bot.storage.migrate import upgrade_database

    upgrade_database(settings.database_url)
    return True


def run_scheduler(args: argparse.Namespace) -> int:
    from bot.observability.health import HealthWSGI
    from bot.processes.memory import settle_after_build
    from bot.processes.web import make_http_server, serve_in_thread
    from bot.wiring import build

    settings = _settings()
    if settings is None or not credentials_accepted(settings):
        return 2
    reframe = or_explain(lambda: build(settings), settings)  # migrates
    if reframe is None:
        return 2
    stop = stop_on_signals()
    server = None
    if not args.no_http:
        health = HealthWSGI(live=reframe.scheduler_running, ready={"database": reframe.db.ping})
        server = or_explain(
            lambda: make_http_server(
                health, "0.0.0.0", settings.port, read_timeout=settings.http_read_timeout_seconds
            ),
            settings,
        )
        if server is None:
            reframe.shutdown()
            return 2
        serve_in_thread(server)
        log.info("scheduler health on http://0.0.0.0:%s/healthz", settings.port)
    settle_after_build()
    reframe.start_scheduler()
    wait_for(stop)
    if server is not None:
        server.shutdown()
        server.server_close()
    reframe.shutdown()  # the posts in hand finish; the rest stays due for the next start
    log.info("scheduler stopped")
    return 0


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received; finishing in-flight work", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


def wait_for(stop: threading.Event, tick: Callable[[], None] | None = None) -> None:
    """Block until `stop` is set by a signal handler, calling `tick` now and then."""
    # Wake now and then: a signal the kernel hands to another thread only sets a
    # flag, and a main thread blocked for good in Event.wait() would never run
    # the Python handler that sets `stop` (SIGTERM then hung until SIGKILL).
    while not stop.wait(timeout=0.5):
        if tick is not None:
            tick()
