"""Run the bot: the all-in-one process (`python app.py`)."""

from __future__ import annotations

import logging
import sys
from wsgiref.simple_server import WSGIServer

from bot.config import (
    Settings,
    SettingsError,
    configure_logging,
    load_settings,
    require_slack_credentials,
)
from bot.observability.health import HealthWSGI
from bot.processes.roles import (
    credentials_accepted,
    detector_ready,
    or_explain,
    stop_on_signals,
    wait_for,
)
from bot.processes.web import WSGIApp, make_http_server, serve_in_thread
from bot.wiring import Reframe, build

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
    socket_url = None
    if settings.slack_app_token is not None:
        # Socket Mode's client (a WebSocket) is imported only by a process that speaks it.
        from bot.processes.socket_mode import check_app_token, explain_refused_app_token

        checked = check_app_token(
            settings.slack_app_token.get_secret_value(), settings.slack_api_url
        )
        if checked.problem is not None:
            print(explain_refused_app_token(checked.problem), file=sys.stderr)
            return 2
        socket_url = checked.url
    reframe = or_explain(lambda: build(settings), settings)
    if reframe is None:
        return 2
    if settings.slack_app_token is not None:
        return _run_socket_mode(reframe, settings, socket_url)
    return _run_http(reframe, settings)


def _run_http(reframe: Reframe, settings: Settings) -> int:
    server = or_explain(lambda: _http_server(reframe.wsgi, settings), settings)
    if server is None:
        reframe.shutdown()
        return 2
    reframe.start_scheduler()
    stop = stop_on_signals()
    serve_in_thread(server)
    log.info("Reframe listens on http://0.0.0.0:%s/slack/events", settings.port)
    wait_for(stop)
    server.shutdown()
    server.server_close()
    reframe.shutdown()
    log.info("Reframe stopped")
    return 0


def _run_socket_mode(reframe: Reframe, settings: Settings, url: str | None) -> int:
    """Slack's requests come over the WebSocket; PORT serves only the health checks
    (the container's HEALTHCHECK), /readyz failing while the socket is down."""
    from bot.processes.socket_mode import SocketModeLink

    assert settings.slack_app_token is not None
    link = SocketModeLink(reframe.bolt, settings.slack_app_token.get_secret_value())
    health = HealthWSGI(
        live=reframe.scheduler_running,
        ready={"database": reframe.db.ping, "slack": link.connected},
    )
    server = or_explain(lambda: _http_server(health, settings), settings)
    if server is None:
        reframe.shutdown()
        return 2
    serve_in_thread(server)
    log.info("Socket Mode: health checks on http://0.0.0.0:%s/healthz", settings.port)
    reframe.start_scheduler()
    stop = stop_on_signals()
    link.open(url)
    wait_for(stop, tick=link.tick)
    link.close()
    server.shutdown()
    server.server_close()
    reframe.shutdown()
    log.info("Reframe stopped")
    return 0


def _http_server(app: WSGIApp, settings: Settings) -> WSGIServer:
    return make_http_server(
        app, "0.0.0.0", settings.port, read_timeout=settings.http_read_timeout_seconds
    )
