"""gunicorn's gthread worker, with a time limit on reading each request.

gthread gives a connection a thread once its first byte arrives, and that thread then
reads the headers and the body for as long as the client takes. Here each request
must arrive whole within HTTP_READ_TIMEOUT_SECONDS of being handed to the thread
pool (see bot/processes/request_deadline.py); a client still sending after that is closed.
A buffering proxy in front (nginx, an ALB) is still the first defence: see README.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from bot.config import load_settings
from bot.processes.request_deadline import DeadlineSocket
from bot.processes.web import cut_off_slow_request

log = logging.getLogger(__name__)


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

    def init_process(self) -> None:
        self.read_timeout = load_settings().http_read_timeout_seconds
        super().init_process()

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
