"""Socket Mode (SLACK_APP_TOKEN): Slack's requests over a WebSocket instead of HTTP.

Bolt's SocketModeHandler and slack-sdk's built-in client do the work, including
reconnecting. Around them: the app-level token is checked before anything starts
(a token Slack refuses is one line naming the fix), "connected" is logged only once
the WebSocket is really up, and `connected()` answers /readyz.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.client import build_web_client

log = logging.getLogger("bot")

APP_TOKEN_FIX = (
    "create an app-level token with the connections:write scope (your app's Basic "
    "Information > App-Level Tokens), turn Socket Mode on, and set SLACK_APP_TOKEN to it "
    "(xapp-...); or unset SLACK_APP_TOKEN to serve Slack over HTTP"
)
# Answers that say nothing about the token: Slack is busy or down.
_TRANSIENT = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)


@dataclass(frozen=True, slots=True)
class AppTokenCheck:
    problem: str | None = None  # Slack's reason for refusing the token
    url: str | None = None  # a fresh WebSocket URL, when Slack handed one out


def check_app_token(app_token: str, base_url: str) -> AppTokenCheck:
    """Ask Slack for a Socket Mode URL with the token (apps.connections.open).

    A Slack that cannot be reached says nothing about the token: no problem and no
    URL, and the link keeps trying once it runs.
    """
    client = build_web_client(token=None, base_url=base_url)
    try:
        response = client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        code = str(error.response.get("error", "")) if error.response.data else ""
        status = error.response.status_code
        if status < 500 and status != 429 and code not in _TRANSIENT:
            return AppTokenCheck(problem=code or f"http_{status}")
        log.warning("could not check SLACK_APP_TOKEN with Slack: %s", code or f"http_{status}")
        return AppTokenCheck()
    except (SlackClientError, OSError) as error:
        log.warning("could not check SLACK_APP_TOKEN with Slack: %s", type(error).__name__)
        return AppTokenCheck()
    url = response.get("url")
    return AppTokenCheck(url=url if isinstance(url, str) else None)


def explain_refused_app_token(problem: str) -> str:
    refused = f"SLACK_APP_TOKEN was refused by Slack ({problem})"
    return f"Reframe cannot start: {refused}; {APP_TOKEN_FIX}"


class SocketModeLink:
    """The WebSocket to Slack, and an honest answer to "is it up?".

    The SDK reconnects a session that drops. What it cannot do is retry when it
    never got a session (Slack unreachable for the URL at start): `tick()` does,
    and logs each change between up and down once.
    """

    def __init__(self, bolt: App, app_token: str, *, retry_every: float = 10.0) -> None:
        self._handler = SocketModeHandler(bolt, app_token)
        self._retry_every = retry_every
        self._next_try = 0.0
        self._was_up: bool | None = None

    def connected(self) -> bool:
        return self._handler.client.is_connected()

    def open(self, url: str | None = None) -> None:
        """Connect, to `url` if the start-up check already got one from Slack."""
        if url is not None:
            self._handler.client.wss_uri = url
        self._connect()
        self.tick()

    def tick(self) -> None:
        """Called now and then from the main loop."""
        if self._handler.client.current_session is None and time.monotonic() >= self._next_try:
            self._connect()
        up = self.connected()
        if up == self._was_up:
            return
        if up:
            log.info("Reframe is connected to Slack over Socket Mode")
        elif self._was_up:
            log.warning("Reframe lost its Socket Mode connection to Slack; reconnecting")
        else:
            log.warning(
                "Reframe is not connected to Slack over Socket Mode yet; retrying (Slack's "
                "WebSocket must be reachable from here: check outbound HTTPS/WSS and proxies)"
            )
        self._was_up = up

    def close(self) -> None:
        self._handler.close()

    def _connect(self) -> None:
        try:
            self._handler.connect()
        except (SlackClientError, OSError) as error:
            # No URL from Slack (down, or the token was revoked since the start).
            log.warning(
                "could not open a Socket Mode connection (%s); trying again in %gs",
                type(error).__name__,
                self._retry_every,
            )
        finally:
            self._next_try = time.monotonic() + self._retry_every
