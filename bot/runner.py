"""Run the bot: the all-in-one process (`python app.py`)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from bot.config import SettingsError, configure_logging, load_settings, require_slack_credentials
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
    reframe = build(settings)
    reframe.start_scheduler()
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received; finishing in-flight work", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(reframe.bolt, settings.slack_app_token.get_secret_value())
        handler.connect()
        log.info("Reframe is connected to Slack over Socket Mode")
        stop.wait()
        handler.close()
    else:
        server = make_http_server(reframe.wsgi, "0.0.0.0", settings.port)
        thread = threading.Thread(target=server.serve_forever, name="reframe-http", daemon=True)
        thread.start()
        log.info("Reframe listens on http://0.0.0.0:%s/slack/events", settings.port)
        stop.wait()
        server.shutdown()
        server.server_close()
    reframe.shutdown()
    log.info("Reframe stopped")
    return 0
