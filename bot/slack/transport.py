"""Keep-alive connections to the Slack Web API: one per thread and host, reused.

slack_sdk's `WebClient` calls urllib's `urlopen` for every API call, which opens a
new connection each time and closes it after the answer. Against slack.com that is
a TCP and a TLS handshake for every nudge and every check-in DM: about 3 ms of CPU
a post on the machines we measure on, against 0.5 ms on a kept connection
(`python -m benchmarks.slack_transport`), and a few round trips of waiting.

`KeepAliveWebClient` is the SDK's client with only the last step changed: the request
the SDK built (URL, headers, body) goes out on this thread's kept connection to that
host instead of a new one. Everything before and after (retry handlers, rate-limit
handling, response parsing, errors) is the SDK's own. What urllib would report is
kept exactly, because delivery decides on it whether Slack may have acted:

- an error while connecting or sending is raised as `URLError` (Slack never saw
  the call, so it is safe to try again);
- an error while waiting for or reading the answer is raised as it is (Slack may
  have acted: the caller looks before posting again);
- an answer outside 2xx is raised as `HTTPError`, which the SDK turns into its
  response (429 with Retry-After, 5xx, ...).

A kept connection is not reused after `IDLE_LIMIT_SECONDS` without a call (or less,
when the server's `Keep-Alive: timeout=N` says it keeps idle connections for less),
or when the server has closed it (its socket reads as ready while no call is in
flight). A server closing an idle connection just as a call goes out on it would
turn that call into "maybe delivered" (or, while sending, "never sent"), so the
limit stays under the 5 s that common servers keep idle connections for.
Connections belong to the thread that opened them and to the process that opened
them (a forked worker opens its own). Slack's Web API does not redirect, so a 3xx is
raised as HTTPError, where urllib would follow it.
"""

from __future__ import annotations

import http.client
import os
import re
import select
import ssl
import threading
import time
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

from bot.observability import metrics

# Under the idle timeouts servers commonly keep (5 s for Apache's and Node's defaults,
# 60 s for load balancers'): an idle connection the server may be closing is not used.
IDLE_LIMIT_SECONDS = 4.0
_KEEP_ALIVE_TIMEOUT = re.compile(r'(?:^|[,;])\s*timeout\s*=\s*"?(\d{1,9})', re.IGNORECASE)


class KeepAliveWebClient(WebClient):
    """slack_sdk's WebClient, sending each call on a kept connection (see the module)."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy or not url.lower().startswith(("http://", "https://")):
            return super()._perform_urllib_http_request_internal(url, req)
        return _CONNECTIONS.send(url, req, timeout=float(self.timeout), context=self.ssl)


@dataclass
class _Kept:
    connection: http.client.HTTPConnection
    context: ssl.SSLContext | None
    used_at: float
    idle_limit: float = IDLE_LIMIT_SECONDS  # the server's Keep-Alive timeout may lower it
    # Why its next connection is opened (reframe_slack_connections_total's reason).
    reopen: str = "first"


class _Connections(threading.local):
    """This thread's kept connections, by scheme, host and port."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.kept: dict[tuple[str, str, int | None], _Kept] = {}
        self.discarded: set[tuple[str, str, int | None]] = set()  # after an error

    def send(
        self, url: str, req: Request, *, timeout: float, context: ssl.SSLContext | None
    ) -> dict[str, Any]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        connection = self._connection(key, context)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        opening = connection.sock is None
        try:
            if opening:
                connection.timeout = timeout
            else:
                connection.sock.settimeout(timeout)
            connection.request(
                req.get_method(), path, body=req.data, headers=dict(req.header_items())
            )
        except OSError as error:
            self._discard(key)
            raise URLError(error) from error  # as urllib: never reached Slack
        except BaseException:
            # Raised as urllib raises it (a header value http.client refuses, say). The
            # connection goes: http.client keeps a failed request's lines for the next.
            self._discard(key)
            raise
        if opening:  # counted once connected and sent: a refused connect is not one
            metrics.slack_connection(self.kept[key].reopen)
        try:
            response = connection.getresponse()
            body = response.read()
        except BaseException:
            self._discard(key)  # Slack may have acted: raised as it is, for the caller
            raise
        headers = response.headers
        kept = self.kept[key]
        kept.used_at = time.monotonic()
        kept.idle_limit = _idle_limit(headers.get("Keep-Alive"))
        if connection.sock is None:  # the answer said `Connection: close`
            kept.reopen = "closed_by_server"
        if not 200 <= response.status < 300:
            raise HTTPError(url, response.status, response.reason, headers, BytesIO(body))
        if headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": headers, "body": body}
        charset = headers.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": headers, "body": body.decode(charset)}

    def _discard(self, key: tuple[str, str, int | None]) -> None:
        kept = self.kept.pop(key, None)
        if kept is not None:
            kept.connection.close()
            self.discarded.add(key)

    def _connection(
        self, key: tuple[str, str, int | None], context: ssl.SSLContext | None
    ) -> http.client.HTTPConnection:
        if self.pid != os.getpid():
            # A forked child: the parent's connections are the parent's (closing one
            # here could end its TLS session), so they are only forgotten.
            self.pid, self.kept, self.discarded = os.getpid(), {}, set()
        scheme, host, port = key
        kept = self.kept.get(key)
        if kept is not None and kept.context is not context:
            del self.kept[key]  # a client with its own TLS settings: a connection of its own
            kept.connection.close()
            kept = None
        if kept is None:
            connection: http.client.HTTPConnection
            if scheme.lower() == "https":
                connection = http.client.HTTPSConnection(
                    host, port, context=context or _default_context()
                )
            else:
                connection = http.client.HTTPConnection(host, port)
            reopen = "after_error" if key in self.discarded else "first"
            self.discarded.discard(key)
            kept = self.kept[key] = _Kept(connection, context, time.monotonic(), reopen=reopen)
        sock = kept.connection.sock
        if sock is not None:
            if _closed_by_server(sock):
                kept.reopen = "closed_by_server"
            elif time.monotonic() - kept.used_at > kept.idle_limit:
                kept.reopen = "idle"
            else:
                return kept.connection
            kept.connection.close()  # the next request opens a new one
        return kept.connection


def _idle_limit(keep_alive: str | None) -> float:
    """How long a connection may sit idle before it is not reused: IDLE_LIMIT_SECONDS,
    or a second less than the server's `Keep-Alive: timeout=N` when that is shorter."""
    found = _KEEP_ALIVE_TIMEOUT.search(keep_alive or "")
    if found is None:
        return IDLE_LIMIT_SECONDS
    return max(0.0, min(IDLE_LIMIT_SECONDS, int(found.group(1)) - 1.0))


def _closed_by_server(sock: Any) -> bool:
    """Whether an idle kept socket has something to read: between calls that can only
    be the server closing it (or a broken connection), never an answer of ours."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


_default_lock = threading.Lock()
_default: ssl.SSLContext | None = None


def _default_context() -> ssl.SSLContext:
    """One verifying TLS context per process (urllib builds, and loads the system's
    certificates into, a new one for every call)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ssl.create_default_context()
        return _default


_CONNECTIONS = _Connections()
