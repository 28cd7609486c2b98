"""gunicorn's gthread worker, with a time limit on reading each request.

gthread gives a connection a thread once its first byte arrives, and that thread then
reads the headers and the body for as long as the client takes. Here each request
must arrive whole within HTTP_READ_TIMEOUT_SECONDS of being handed to the thread
pool (see bot/processes/request_deadline.py); a client still sending after that is closed.
A buffering proxy in front (nginx, an ALB) is still the first defence: see README.

It also acts on a stop signal that reached it while it was booting (see
`replay_signals_from_boot`).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
from collections.abc import Iterator
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from bot.config import load_settings
from bot.processes.request_deadline import DeadlineSocket
from bot.processes.web import cut_off_slow_request

log = logging.getLogger(__name__)

# What gunicorn's master sends a worker to stop it (TERM: finish what is in hand; INT,
# QUIT: at once) or to reopen its log files (USR1).
REPLAYED_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1})


def keep_signals_from_boot(server: Any, worker: Any) -> None:
    """In a new worker, from `post_fork`: keep hold of the master's signal queue.

    Until the worker installs its own handlers, a signal reaching it runs the master's
    handler, inherited with the fork, which queues it in the worker's copy of the
    master's queue (beside any the master had queued and not yet handled when it
    forked), where nothing reads it (benoitc/gunicorn#1910). A SIGTERM sent while a
    worker was booting thus left it serving until the graceful timeout killed it, and
    the master's stop took 30 s (4 of 76 stops sent as the workers booted)."""
    worker.signals_from_boot = server.SIG_QUEUE


def _drained(signals: Any) -> Iterator[int]:
    """Everything in gunicorn's signal queue: a SimpleQueue in gunicorn 27, a list in
    older releases."""
    if isinstance(signals, list):
        while signals:
            yield signals.pop(0)
        return
    while signals is not None:
        try:
            yield signals.get_nowait()
        except queue.Empty:
            return


class AppLogger(Logger):
    """gunicorn's logger with its access log on only when one is asked for
    (`--access-logfile`). gunicorn otherwise builds an access-log entry for every
    request whenever any logging config is given (LOG_FORMAT=json gives one, for
    gunicorn's own lines) and then drops it: the app logs Slack requests itself."""

    @property
    def access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)


class BoundedThreadWorker(ThreadWorker):
    read_timeout: float
    # The master's signal queue as this worker inherited it (keep_signals_from_boot).
    signals_from_boot: Any = None

    def init_process(self) -> None:
        self.read_timeout = load_settings().http_read_timeout_seconds
        super().init_process()

    def init_signals(self) -> None:
        # gunicorn first resets every handler to the default, then sets its own: held
        # back meanwhile, a signal arriving in between waits for the new handler instead
        # of the default action (USR1's would end the worker).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, REPLAYED_SIGNALS)
        try:
            super().init_signals()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        self.replay_signals_from_boot()

    def replay_signals_from_boot(self) -> None:
        """Send this worker again, now that its own handlers are in place, each stop
        (or log-reopen) signal that reached it before (`keep_signals_from_boot`)."""
        for sig in _drained(self.signals_from_boot):
            if sig in REPLAYED_SIGNALS:
                # gunicorn's logger: the app's logging is configured later, in create_app.
                self.log.info(
                    "worker %s: %s arrived while it was booting; acting on it now",
                    os.getpid(),
                    signal.Signals(sig).name,
                )
                os.kill(os.getpid(), sig)

    def enqueue_req(self, conn: Any) -> None:
        # Every time a connection goes to the pool (new, kept alive, or pipelined) a
        # request is expected: it has read_timeout from now, queueing included.
        # TLS would be wrapped around the socket later: gunicorn runs behind a proxy
        # that terminates it, so an SSL setup is left as gunicorn has it.
        if not self.cfg.is_ssl:
            if not isinstance(conn.sock, DeadlineSocket):
                conn.sock = DeadlineSocket(conn.sock, self.read_timeout)
            conn.sock.arm()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        sock = conn.sock
        if isinstance(sock, DeadlineSocket) and not conn.initialized and not sock.has_data():
            # A new connection with nothing sent yet (a browser's preconnect, a proxy's
            # spare): gthread waits for the first byte, and the clock starts with it.
            # One that has sent bytes keeps the clock from when it was queued, so a
            # queue of trickling clients is cleared at once, not one timeout each.
            sock.arm_on_first_read()
        keep = super().handle(conn)
        if isinstance(sock, DeadlineSocket) and sock.cut_off:
            cut_off_slow_request(self.read_timeout)
            return False  # closed, never kept alive
        return keep
