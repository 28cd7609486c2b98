"""The HTTP face of the bot: Slack's endpoints plus health and metrics.

One WSGI application, served by the threaded stdlib server for `python app.py`
and by gunicorn in production, so tests exercise exactly what runs.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.observability import metrics
from bot.processes.request_deadline import DeadlineReader, DeadlineSocket

log = logging.getLogger(__name__)

# Slack's payloads are a few KB; anything far larger is not from Slack.
MAX_BODY_BYTES = 1_000_000
# Slack's requests arrive whole in milliseconds, and Slack gives up on the answer
# after 3 s: a thread held longer by a half-sent request is a thread a real one lacks.
DEFAULT_READ_TIMEOUT = 2.0
# server.shutdown() waits for the serving loop to look at its stop flag, which it does
# this often (socketserver's default, 0.5 s, added up to half a second to every stop).
SHUTDOWN_POLL_SECONDS = 0.05
# Slack's ids (T…, U…, C…, E…) are short; the database keeps 32 characters of them.
MAX_ID_CHARS = 32
# What ReframeWSGI leaves in the WSGI environ of a POST for the layers around and
# inside it: the body as read, and (once it verified and parsed) Bolt's request.
RAW_BODY = "reframe.raw_body"
BOLT_REQUEST = "reframe.bolt_request"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ReframeWSGI:
    def __init__(
        self,
        bolt_app: App,
        *,
        live: Callable[[], bool],
        ready: Callable[[], bool],
        metrics: Callable[[], tuple[bytes, str]] | None = None,
        signing_secret: str = "",
    ) -> None:
        self._slack = _PreparedRequestHandler(bolt_app)
        # Checked here, before Bolt: Bolt logs a refused request's whole body, and a rep's
        # words must not reach the logs because a clock drifted or a secret was rotated.
        # The Bolt app is built with its own check off (bot/slack/app.py) when this one
        # is on: the same HMAC over the same bytes once per request, not twice.
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._live = live
        self._ready = ready
        self._metrics = metrics

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if method == "GET" and path == "/healthz":
            ok = self._live()
            return _json(start_response, 200 if ok else 503, {"ok": ok})
        if method == "GET" and path == "/readyz":
            ok = self._ready()
            return _json(start_response, 200 if ok else 503, {"ok": ok, "database": ok})
        if method == "GET" and path == "/metrics" and self._metrics is not None:
            body, content_type = self._metrics()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            return _json(start_response, 413 if length > 0 else 400, {"ok": False})
        if method == "POST":
            stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
            if stamp is not None and not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
                # Slack sends whole seconds; anything else cannot carry a valid signature.
                log.warning("refused a request with a malformed timestamp header")
                return _json(start_response, 400, {"ok": False, "error": "bad timestamp"})
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            if len(raw) < length:
                # The server stopped reading a body that did not arrive in time.
                log.info("refused a request whose body did not arrive in full")
                return _json(start_response, 400, {"ok": False, "error": "incomplete body"})
            environ[RAW_BODY] = raw
            if self._verifier is None:
                # Without a signing secret nothing Slack sends can be told from a
                # forgery (the start-up refuses an empty SLACK_SIGNING_SECRET).
                log.error("refused a Slack request: no signing secret to verify it with")
                return _json(start_response, 401, {"ok": False, "error": "no signing secret"})
            if not self._signed(raw, stamp, environ):
                log.info("refused a request whose signature did not verify")
                return _json(start_response, 401, {"ok": False, "error": "invalid signature"})
            request = prepare_bolt_request(raw, environ)
            if request is None or not is_slack_shaped(request):
                # Bolt would fail on it; nothing Slack sends looks like this.
                log.warning("refused a request body that is not a Slack payload")
                return _json(start_response, 400, {"ok": False, "error": "malformed body"})
            # Parsed once: Bolt dispatches this request, and the request log reads its ids.
            environ[BOLT_REQUEST] = request
        return self._slack(environ, start_response)

    def _signed(self, raw: bytes, stamp: str | None, environ: dict[str, Any]) -> bool:
        assert self._verifier is not None
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        try:
            return self._verifier.is_valid(body=raw, timestamp=stamp or "0", signature=signature)
        except UnicodeDecodeError:  # the SDK decodes the body as UTF-8; Slack's always is
            return False


def is_slack_shaped(request: BoltRequest) -> bool:
    """Is the body Bolt parsed of the shape Slack sends?

    Only shapes are checked here; the signature was checked before.
    """
    body, context = request.body, request.context
    if not isinstance(body, dict) or not body:
        return False
    if not _ids_fit(context, body):
        return False
    if "command" in body:  # slash command, form-encoded
        required = ("command", "team_id", "user_id", "channel_id")
        return all(isinstance(body.get(key), str) and body[key] for key in required)
    if "event" in body and not isinstance(body["event"], dict):
        return False  # Bolt's built-in middleware calls body["event"].get(...)
    kind = body.get("type")
    if not isinstance(kind, str):
        return "ssl_check" in body
    if kind == "event_callback":
        event = body.get("event")
        return isinstance(event, dict) and isinstance(event.get("type"), str)
    return _interaction_is_slack_shaped(body)


def prepare_bolt_request(raw: bytes, environ: dict[str, Any]) -> BoltRequest | None:
    """The request Bolt's WSGI adapter would build from this environ (its public
    BoltRequest, with the same headers and query), or None where Bolt would fail on it.

    Bolt reads team, user and channel ids from the body before any listener runs,
    and crashes on wrong types (authorizations=true…).
    """
    try:
        return BoltRequest(
            body=raw.decode("utf-8"),
            query=environ.get("QUERY_STRING", ""),
            headers=WsgiHttpRequest(environ).get_headers(),
        )
    except Exception:  # noqa: BLE001 - whatever Bolt would choke on is not Slack's
        return None  # not UTF-8, not JSON (or nested too deep), ids of the wrong type


class _PreparedRequestHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, dispatching the request ReframeWSGI already parsed and
    checked instead of parsing the body a second time (OAuth pages are unchanged)."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        prepared = request.environ.get(BOLT_REQUEST)
        if isinstance(prepared, BoltRequest):
            return self.app.dispatch(prepared)
        return super().dispatch(request)


def _ids_fit(context: BoltContext, body: dict[str, Any]) -> bool:
    """No id longer than Slack ever sends: the database would refuse it mid-request."""
    ids = [context.team_id, context.enterprise_id, context.user_id, context.channel_id]
    ids += [body.get(key) for key in ("team_id", "enterprise_id", "user_id", "channel_id")]
    event = body.get("event")
    if isinstance(event, dict):
        ids += [event.get(key) for key in ("user", "channel", "team")]
    return all(not isinstance(value, str) or len(value) <= MAX_ID_CHARS for value in ids)


# Objects in interactivity payloads that Bolt reads with .get() (it logs and routes on them).
_INTERACTION_OBJECTS = ("user", "team", "channel", "view", "container", "message", "enterprise")


def _interaction_is_slack_shaped(body: dict[str, Any]) -> bool:
    if any(key in body and not isinstance(body[key], dict) for key in _INTERACTION_OBJECTS):
        return False
    if body.get("type") in ("view_submission", "view_closed"):
        # Bolt routes a modal on view.type and view.callback_id before any listener runs.
        view = body.get("view") or {}
        if not all(isinstance(view.get(key), str) for key in ("type", "callback_id")):
            return False
    if "actions" not in body and body.get("type") != "block_actions":
        return True
    actions = body.get("actions")
    # Bolt takes actions[0] for every block_actions payload.
    return (
        isinstance(actions, list)
        and bool(actions)
        and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
    )


def _json(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    reason = {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        413: "Payload Too Large",
        503: "Service Unavailable",
    }
    body = json.dumps(payload).encode()
    start_response(
        f"{status} {reason.get(status, '')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections in a burst, and a
    # dropped SYN costs a client a second or more before it tries again.
    request_queue_size = 128
    read_timeout: float = DEFAULT_READ_TIMEOUT


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("http %s", format % args)


class _BoundedHandler(_QuietHandler):
    """Reads the request line, headers and body within the server's read timeout
    of accepting the connection (one request per connection in wsgiref)."""

    server: _ThreadingWSGIServer

    def setup(self) -> None:
        super().setup()
        self._reads = DeadlineSocket(self.connection, self.server.read_timeout)
        self._reads.arm()
        # Close the stdlib's reader, or the socket stays open behind it after close().
        self.rfile.close()
        self.rfile = io.BufferedReader(DeadlineReader(self._reads))

    def parse_request(self) -> bool:
        # Checked before and after the headers are read: a request cut short is
        # dropped without an answer, not parsed as whatever part of it arrived.
        if self._reads.cut_off or not super().parse_request() or self._reads.cut_off:
            self.close_connection = True
            return False
        return True

    def handle(self) -> None:
        super().handle()
        if self._reads.cut_off:
            cut_off_slow_request(self.server.read_timeout)


def cut_off_slow_request(read_timeout: float) -> None:
    """Record a connection closed because its request did not arrive in time."""
    metrics.count("slow_requests_cut_off")
    log.info("closed a connection whose request did not arrive within %ss", read_timeout)


def make_http_server(
    app: WSGIApp, host: str, port: int, *, read_timeout: float = DEFAULT_READ_TIMEOUT
) -> WSGIServer:
    """A threaded HTTP server (port 0 picks a free port: tests use that). A client
    that has not sent its whole request `read_timeout` seconds after connecting
    is disconnected."""
    server = make_server(
        host, port, app, server_class=_ThreadingWSGIServer, handler_class=_BoundedHandler
    )
    assert isinstance(server, _ThreadingWSGIServer)
    server.read_timeout = read_timeout
    return server


def serve_in_thread(server: WSGIServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name="reframe-http",
        daemon=True,
    )
    thread.start()
    return thread
