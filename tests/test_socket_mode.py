"""`python app.py` with SLACK_APP_TOKEN: Slack over a WebSocket, health over HTTP.

The fake Slack answers apps.connections.open with the URL of a fake Socket Mode
server (tests/fakes/slack_socket.py), of a port where nothing listens, or with an
error, as the test needs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.clock import FixedClock
from bot.processes.socket_mode import SocketModeLink
from bot.wiring import build
from tests.conftest import make_settings
from tests.fakes.ports import free_port
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.slack_requests import SlackSender
from tests.fakes.slack_socket import FakeSocketMode
from tests.test_app_process import _lines, _start_fails
from tests.test_roles import ROOT, _env, _start, _stop, _wait_healthy

APP_TOKEN = "xapp-1-A0APP-1234-socketsecretvalue"
VENT = "their DM is a jerk tbh, he'll never give us a shot"


@pytest.fixture
def socket_server() -> Iterator[FakeSocketMode]:
    server = FakeSocketMode()
    yield server
    server.stop()


def _wait_ready(sender: SlackSender, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while sender.get("/readyz").status != 200:
        assert time.monotonic() < deadline, sender.get("/readyz").json()
        time.sleep(0.1)


def test_an_app_token_slack_refuses_stops_the_start_in_one_line(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    fake_slack.fail("apps.connections.open", Fault(200, error="invalid_auth"))

    stderr = _start_fails(
        tmp_path, fake_slack, SLACK_APP_TOKEN=APP_TOKEN, DATABASE_URL=database_url
    )

    [line] = _lines(stderr)
    assert "SLACK_APP_TOKEN was refused by Slack (invalid_auth)" in line
    assert "connections:write" in line
    assert "socketsecretvalue" not in stderr


def test_a_refused_websocket_is_not_reported_as_connected(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    fake_slack.serve_socket_mode_at(f"ws://127.0.0.1:{free_port()}/link/?ticket=t")
    port = free_port()
    env = _env(fake_slack, database_url, port, SLACK_APP_TOKEN=APP_TOKEN)
    process = _start([str(ROOT / "app.py")], env, tmp_path)
    try:
        sender = _wait_healthy(process, port)  # /healthz, for the container's HEALTHCHECK
        ready = sender.get("/readyz")
        assert ready.status == 503
        assert ready.json() == {"ok": False, "database": True, "slack": False}
        assert sender.post("{}", "application/json").status == 404  # no Slack endpoint here
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Reframe is connected" not in output
    assert "not connected to Slack over Socket Mode yet" in output
    assert "socketsecretvalue" not in output


def test_socket_mode_answers_events_and_is_ready_once_connected(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str, socket_server: FakeSocketMode
) -> None:
    fake_slack.serve_socket_mode_at(socket_server.url)
    port = free_port()
    env = _env(fake_slack, database_url, port, SLACK_APP_TOKEN=APP_TOKEN)
    process = _start([str(ROOT / "app.py")], env, tmp_path)
    try:
        sender = _wait_healthy(process, port)
        _wait_ready(sender)
        assert sender.get("/readyz").json()["slack"] is True
        socket_server.send(_events_api_envelope("env-1", VENT))

        assert socket_server.wait_for_ack("env-1") is not None
        [posted] = fake_slack.wait_for("chat.postEphemeral", timeout=10)
        assert posted.params["user"] == "U0REP"
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Reframe is connected to Slack over Socket Mode" in output
    # One apps.connections.open: the start-up check's URL is the one connected to.
    assert len(fake_slack.calls("apps.connections.open")) == 1
    assert "socketsecretvalue" not in output


def test_the_link_keeps_trying_when_slack_cannot_be_reached_at_first(
    database_url: str,
    fake_slack: FakeSlack,
    clock: FixedClock,
    socket_server: FakeSocketMode,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Slack answers 500 to the first request for a URL (and to the client's two retries).
    fake_slack.fail("apps.connections.open", *[Fault(500)] * 3)
    fake_slack.serve_socket_mode_at(socket_server.url)
    reframe = build(make_settings(database_url, fake_slack), clock=clock)
    link = SocketModeLink(reframe.bolt, APP_TOKEN, retry_every=0.1)
    try:
        with caplog.at_level(logging.INFO, logger="bot"):
            link.open()
            deadline = time.monotonic() + 20
            while not link.connected() and time.monotonic() < deadline:
                time.sleep(0.05)
                link.tick()
        assert link.connected()
        assert socket_server.wait_for_client()
        messages = [r.getMessage() for r in caplog.records if r.name == "bot"]
        assert any(m.startswith("could not open a Socket Mode connection") for m in messages)
        assert messages[-1] == "Reframe is connected to Slack over Socket Mode"
    finally:
        link.close()
        reframe.shutdown()


def _events_api_envelope(envelope_id: str, text: str) -> dict[str, object]:
    """What Slack sends over the socket: the Events API body in an envelope."""
    body = {
        "token": "legacy-unused",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": "Ev0SOCKET1",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
        "event": {
            "type": "message",
            "channel": "C0DEAL",
            "user": "U0REP",
            "text": text,
            "ts": "1700000000.000100",
            "channel_type": "channel",
        },
    }
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": body,
    }
