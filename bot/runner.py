"""Run the bot: the all-in-one process (`python app.py`)."""

from __future__ import annotations

import logging
import sys
import threading

from bot.config import SettingsError, configure_logging, load_settings, require_slack_credentials
from bot.roles import (
    credentials_accepted,
    detector_ready,
    or_explain,
    stop_on_signals,
    wait_for,
)
from bot.web import make_http_server
from bot.wiring import build

log = logging.getLogger("bot")


def main() -> int:
    try:
        settings = load_settings()
        require_slack_credentials(settings)
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return 2
    configure_logging(settings)
    if not detector_ready() or not credentials_accepted(settings):
        return 2
    reframe = or_explain(lambda: build(settings), settings)
    if reframe is None:
        return 2
    server = None
    if settings.slack_app_token is None:
        server = or_explain(
            lambda: make_http_server(
                reframe.wsgi,
                "0.0.0.0",
                settings.port,
                read_timeout=settings.http_read_timeout_seconds,
            ),
            settings,
        )
        if server is None:
            reframe.shutdown()
            return 2
    reframe.start_scheduler()
    stop = stop_on_signals()

    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(reframe.bolt, settings.slack_app_token.get_secret_value())
        handler.connect()
        log.info("Reframe is connected to Slack over Socket Mode")
        wait_for(stop)
        handler.close()
    else:
        assert server is not None
        thread = threading.Thread(target=server.serve_forever, name="reframe-http", daemon=True)
        thread.start()
        log.info("Reframe listens on http://0.0.0.0:%s/slack/events", settings.port)
        wait_for(stop)
        server.shutdown()
        server.server_close()
    reframe.shutdown()
    log.info("Reframe stopped")
    return 0
