"""A stand-in for Slack's Web API on 127.0.0.1: records every call, answers like
Slack, and can be told to answer 429 (with Retry-After), 500, or slowly."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Call:
    method: str  # e.g. "chat.postEphemeral", or "response_url"
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    response: dict[str, Any] | None = None  # what the fake answered (e.g. the posted ts)


@dataclass
class Fault:
    status: int
    retry_after: int | str | None = None  # seconds, or an HTTP date as a string
    delay: float = 0.0
    error: str | None = None  # ok=false with this error code (HTTP 200)


@dataclass
class Hold:
    """Slack's side of one method, held until the test releases it (`FakeSlack.hold`)."""

    timeout: float
    released: threading.Event = field(default_factory=threading.Event)
    # Calls answered only because the hold timed out: Slack saw them before the release.
    answered_unreleased: int = 0

    def release(self) -> None:
        self.released.set()


@dataclass
class FakeSlackState:
    calls: list[Call] = field(default_factory=list)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    holds: dict[str, Hold] = field(default_factory=dict)
    # Rate limits per method: (calls per second) -> answered with 429 beyond it.
    rate_limits: dict[str, float] = field(default_factory=dict)
    rate_windows: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rejected_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ts_counter: int = 0
    # OAuth: codes Slack would accept at oauth.v2.access, and the workspace each
    # issued bot token belongs to (auth.test answers with it).
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_teams: dict[str, str] = field(default_factory=dict)
    # Socket Mode: the WebSocket URL apps.connections.open hands out (by default one
    # where nothing listens, so the connection is refused).
    socket_mode_url: str = "ws://127.0.0.1:9/link/?ticket=nothing-listens"


class FakeSlack:
    def __init__(self) -> None:
        self.state = FakeSlackState()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        handler = _make_handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # Connections clients keep open between calls (HTTP/1.1 keep-alive), and how
        # many were ever opened: a kept connection is one the count does not grow for.
        self.open_connections: set[Any] = set()
        self.scheme = "http"  # "https" once tests/fakes/tls.py wraps the server's socket
        # Headers added to every answer (e.g. Keep-Alive, Connection: close).
        self.answer_headers: dict[str, str] = {}
        self.connections_accepted = 0
        # A short poll: stop() waits for the loop to see it (0.5 s by default, per test).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle --------------------------------------------------------

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.drop_connections()

    def drop_connections(self) -> None:
        """Close every connection a client keeps open, as a restarted server would."""
        with self.lock:
            kept = list(self.open_connections)
        for connection in kept:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}/"

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}response/{name}"

    # -- test controls ----------------------------------------------------

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, **fields: Any
    ) -> None:
        with self.lock:
            self.state.channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_private": is_private,
                "is_member": True,
                **fields,
            }

    def add_user(self, user_id: str, **fields: Any) -> None:
        with self.lock:
            self.state.users[user_id] = {"id": user_id, "deleted": False, **fields}

    def add_oauth_code(
        self, code: str, *, team_id: str, token: str, bot_user_id: str = "UBOT2"
    ) -> None:
        """Make `code` exchangeable at oauth.v2.access for a bot token in `team_id`."""
        with self.lock:
            self.state.oauth_codes[code] = {
                "team_id": team_id,
                "token": token,
                "bot_user_id": bot_user_id,
            }
            self.state.token_teams[token] = team_id

    def serve_socket_mode_at(self, url: str) -> None:
        """apps.connections.open answers with this WebSocket URL from now on."""
        with self.lock:
            self.state.socket_mode_url = url

    def fail(self, method: str, *faults: Fault) -> None:
        with self.lock:
            self.state.faults[method].extend(faults)

    def hold(self, method: str, *, timeout: float = 3.0) -> Hold:
        """Answer no call of `method` (not even a fault) until `release()`.

        A test releases it once the app has answered its own request, so a call
        that arrives first proves the app acknowledged before calling Slack. An
        app that waits on Slack before answering would wait forever: after
        `timeout` seconds (Slack's own deadline) the call is answered anyway and
        counted in `answered_unreleased`, and the hold ends.
        """
        hold = Hold(timeout=timeout)
        with self.lock:
            self.state.holds[method] = hold
        return hold

    def rate_limit(self, method: str, per_second: float) -> None:
        with self.lock:
            self.state.rate_limits[method] = per_second

    def calls(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def rejected(self, method: str) -> int:
        with self.lock:
            return self.state.rejected[method]

    def rate_limited_at(self, method: str) -> list[float]:
        """When (time.time()) calls of `method` were refused for the rate limit."""
        with self.lock:
            return list(self.state.rejected_at[method])

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `count` successful calls of `method` were recorded."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [c for c in self.state.calls if c.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return found
                self.changed.wait(remaining)

    def reset(self) -> None:
        with self.lock:
            self.state.calls.clear()
            self.state.faults.clear()
            self.state.holds.clear()

    # -- answering --------------------------------------------------------

    def answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self.lock:
            hold = self.state.holds.get(method)
        if hold is not None and not hold.released.wait(hold.timeout):
            with self.lock:
                hold.answered_unreleased += 1
            hold.release()
        with self.lock:
            fault = self.state.faults[method].popleft() if self.state.faults[method] else None
            limited = self._over_rate_limit(method)
        if fault is not None and fault.delay and not fault.error and fault.status == 200:
            # A slow answer to a call Slack carried out: like Slack, the fake acts
            # first (a post is in the channel's history at once) and answers late.
            answered = self._carry_out(method, params, headers, limited)
            time.sleep(fault.delay)
            return answered
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.error:
                return 200, {}, {"ok": False, "error": fault.error}
            if fault.status != 200:
                extra = (
                    {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                )
                with self.lock:
                    self.state.rejected[method] += 1
                return (
                    fault.status,
                    extra,
                    {"ok": False, "error": "ratelimited" if fault.status == 429 else "fatal_error"},
                )
        return self._carry_out(method, params, headers, limited)

    def _carry_out(
        self, method: str, params: dict[str, Any], headers: dict[str, str], limited: bool
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if limited:
            with self.lock:
                self.state.rejected[method] += 1
                self.state.rejected_at[method].append(time.time())
            return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
        with self.changed:
            call = Call(method, params, headers, time.time())
            self.state.calls.append(call)
            body = self._body_for(method, params, headers)
            call.response = body
            self.changed.notify_all()
        return 200, {}, body

    def _history(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Messages posted to a channel (newest first), with metadata when asked for."""
        channel, oldest = params.get("channel"), float(params.get("oldest") or 0)
        messages = []
        for call in reversed(self.state.calls):
            posted = call.response or {}
            if call.method != "chat.postMessage" or posted.get("channel") != channel:
                continue
            if float(posted["ts"]) < oldest:
                continue
            message = {"type": "message", "ts": posted["ts"], "text": call.params.get("text")}
            if params.get("include_all_metadata") and call.params.get("metadata"):
                message["metadata"] = call.params["metadata"]
            messages.append(message)
        return messages

    def _replies(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """A thread's replies as posted through the fake (oldest first)."""
        channel, thread = params.get("channel"), params.get("ts")
        messages = []
        for call in self.state.calls:
            if call.method != "chat.postMessage" or call.params.get("channel") != channel:
                continue
            if call.params.get("thread_ts") != thread:
                continue
            ts = (call.response or {}).get("ts")
            message = {"type": "message", "ts": ts, "thread_ts": thread}
            if params.get("include_all_metadata") and call.params.get("metadata"):
                message["metadata"] = call.params["metadata"]
            messages.append(message)
        return messages

    def _over_rate_limit(self, method: str) -> bool:
        per_second = self.state.rate_limits.get(method)
        if not per_second:
            return False
        now = time.monotonic()
        window = self.state.rate_windows[method]
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= per_second:
            return True
        window.append(now)
        return False

    def _next_ts(self) -> str:
        self.state.ts_counter += 1
        return f"{int(time.time())}.{self.state.ts_counter:06d}"

    def _body_for(
        self, method: str, params: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        if method == "oauth.v2.access":
            return self._oauth_access(params)
        if method == "apps.connections.open":
            return {"ok": True, "url": self.state.socket_mode_url}
        if method == "auth.test":
            token = (headers or {}).get("authorization", "").removeprefix("Bearer ")
            return {
                "ok": True,
                "team_id": self.state.token_teams.get(token, "T0TEAM"),
                "user_id": "UBOT",
                "bot_id": "B0BOT",
                "team": "Test",
            }
        if method in ("chat.postMessage", "chat.update"):
            channel = params.get("channel", "")
            if channel.startswith("U"):
                channel = "D" + channel[1:]
            return {"ok": True, "channel": channel, "ts": params.get("ts") or self._next_ts()}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.info":
            channel = self.state.channels.get(params.get("channel", ""))
            return (
                {"ok": True, "channel": channel}
                if channel
                else {"ok": False, "error": "channel_not_found"}
            )
        if method == "conversations.history":
            return {"ok": True, "messages": self._history(params)}
        if method == "conversations.replies":
            return {"ok": True, "messages": self._replies(params)}
        if method == "conversations.open":
            user = str(params.get("users", "U0"))
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "users.info":
            user = self.state.users.get(params.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": "V0VIEW"}}
        return {"ok": True}

    def _oauth_access(self, params: dict[str, Any]) -> dict[str, Any]:
        # Slack's oauth.v2.access answer for a bot-only install (one use per code).
        grant = self.state.oauth_codes.pop(str(params.get("code", "")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": "A0APP",
            "authed_user": {"id": "U0INSTALLER"},
            "scope": "chat:write,channels:history,commands",
            "token_type": "bot",
            "access_token": grant["token"],
            "bot_user_id": grant["bot_user_id"],
            "team": {"id": grant["team_id"], "name": "Installed Team"},
            "enterprise": None,
            "is_enterprise_install": False,
        }


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body go out in two writes: with Nagle's algorithm the
        # second waits for the client's delayed ACK (40 ms) on a kept connection.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with fake.lock:
                fake.open_connections.add(self.connection)
                fake.connections_accepted += 1

        def finish(self) -> None:
            with fake.lock:
                fake.open_connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            params = _parse(raw, self.headers.get("Content-Type", ""))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path.startswith("/api/"):
                method = self.path[len("/api/") :].split("?")[0]
            elif self.path.startswith("/response/"):
                method = "response_url"
                params["_path"] = self.path
            else:
                self.send_error(404)
                return
            status, extra, body = fake.answer(method, params, headers)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in {**fake.answer_headers, **extra}.items():
                self.send_header(key, value)
            self.end_headers()
            # A client that timed out has gone: Slack would not notice either.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

    return Handler


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {"_json": data}
    params: dict[str, Any] = dict(parse_qsl(raw, keep_blank_values=True))
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params
