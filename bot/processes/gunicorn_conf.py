"""gunicorn settings for the `web` role (`python -m bot web` passes this file).

From the Settings (bot/config.py, the environment or .env): PORT (default 3000),
WEB_CONCURRENCY (worker processes, default 2), WEB_THREADS (threads per worker,
default 8), WEB_GRACEFUL_TIMEOUT (seconds a stopping worker may take to finish
requests and deliveries, default 30), LOG_FORMAT; HTTP_READ_TIMEOUT_SECONDS is
read by the worker class. GUNICORN_CMD_ARGS overrides anything here (gunicorn
reads it; e.g. '--log-level debug').
"""

from __future__ import annotations

from typing import Any

from bot.config import load_settings
from bot.processes import cpu_pinning
from bot.processes.memory import settle_before_fork
from bot.processes.roles import (
    METRICS_DIR_ENV,
    ensure_metrics_directory,
    gunicorn_command,
    metrics_directory_made_here,
)

# `python -m bot web` checked them before it started gunicorn.
_settings = load_settings()

bind = f"0.0.0.0:{_settings.port}"
workers = _settings.web_concurrency
# Threads, because a Slack request mostly waits on the database; processes
# for CPU (the detector) across cores. gthread, plus a limit on how long a client
# may take to send its request (HTTP_READ_TIMEOUT_SECONDS): gthread itself lets a
# client that sends a byte at a time hold a thread for as long as it likes.
worker_class = "bot.processes.gunicorn_worker.BoundedThreadWorker"
threads = _settings.web_threads
graceful_timeout = _settings.web_graceful_timeout
# Slack gives up after 3 s; a request still running after 30 s is stuck.
timeout = 30
keepalive = 5
# Each worker builds its own app after the fork: engines, HTTP clients and
# thread pools must not be shared across processes.
preload_app = False
# The app logs every Slack request itself (team, event id, status, latency);
# gunicorn's access log would add the same line without those fields.
accesslog = None
errorlog = "-"
# ...and builds no access-log entry per request unless --access-logfile asks for one.
logger_class = "bot.processes.gunicorn_worker.AppLogger"
# LOG_FORMAT=json: gunicorn's own lines (start, workers booting and exiting) are
# JSON too, so a log pipeline reads one format.
if _settings.log_format == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": []},
        "formatters": {"json": {"()": "bot.observability.logs.JsonFormatter"}},
        "handlers": {
            "json_stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "gunicorn.error": {
                "level": "INFO",
                "handlers": ["json_stderr"],
                "propagate": False,
                "qualname": "gunicorn.error",
            },
            "gunicorn.access": {
                "level": "INFO",
                "handlers": [],
                "propagate": False,
                "qualname": "gunicorn.access",
            },
        },
    }

# gunicorn 27's runtime control socket: unused, and two masters on one host
# (or a read-only home directory in a container) would trip over it.
control_socket_disable = True

# Counters from every worker are summed at /metrics through prometheus-client's
# multiprocess mode. The directory must exist before any worker imports
# prometheus_client, and must start empty, so a fresh one per master.
# (`python -m bot web` has made it already; this is for gunicorn started by hand.)
ensure_metrics_directory()


def when_ready(server: Any) -> None:
    """Before the first fork: what the master imported (settings, SQLAlchemy, psycopg,
    the Slack SDK and Bolt, from the start-up checks) moves out of the garbage
    collector's sight, so a worker's collections never write to those pages and they
    stay shared instead of being copied into every worker (no full collection first:
    see settle_before_fork)."""
    settle_before_fork()


def pre_exec(server: Any) -> None:
    """A new master started by SIGUSR2 makes its own empty metrics directory, as any
    new master does; one the environment named is passed on as it is. (gunicorn
    hands the new master the environment as it was before this file ran.)"""
    made = metrics_directory_made_here()
    if made is not None and server.cfg.env_orig.get(METRICS_DIR_ENV) == made:
        del server.cfg.env_orig[METRICS_DIR_ENV]


def on_starting(server: Any) -> None:
    """What a re-exec (SIGUSR2, a new master beside this one) runs: gunicorn's own
    command line, as before `python -m bot web` ran gunicorn in its own process."""
    server.START_CTX["args"] = gunicorn_command()


def worker_exit(server: Any, worker: Any) -> None:
    """In the worker, after it stopped taking requests: finish deliveries in flight."""
    from bot.processes import web_app

    web_app.shutdown()


def child_exit(server: Any, worker: Any) -> None:
    """In the master: forget the dead worker's live metrics."""
    from bot.observability import metrics

    metrics.worker_exited(worker.pid)


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before each fork: the CPU the new worker will run on
    (WEB_CPU_PINNING; bot/processes/cpu_pinning.py), away from the live workers'."""
    cpu = cpu_pinning.choose_for_new_worker(
        _settings.web_cpu_pinning, server.num_workers, server.WORKERS.values(), worker
    )
    if cpu is not None:
        server.log.info("worker %s will run on CPU %s", worker.age, cpu)


def post_fork(server: Any, worker: Any) -> None:
    """In the new worker: onto the CPU the master chose for it, if any; and a stop
    signal that arrives before its own handlers are in place is acted on once they
    are (bot/processes/gunicorn_worker.py)."""
    # Imported here, where the worker class already is: at the top of this file it would
    # load the web layer (and prometheus_client) wherever the settings are read.
    from bot.processes.gunicorn_worker import keep_signals_from_boot

    keep_signals_from_boot(server, worker)
    cpu_pinning.pin_this_worker(worker, server.log)
