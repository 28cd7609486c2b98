"""Logs, health and metrics as an operator sees them."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from bot.domain.clock import FixedClock
from bot.observability import metrics
from bot.observability.logs import (
    METRIC_KINDS,
    SLOW_REQUEST_SECONDS,
    JsonFormatter,
    configure_log_format,
)
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage.db import Database
from bot.wiring import build
from tests.conftest import RunningApp, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SIGNING_SECRET, SlackSender
from tests.fakes.tcp import FreezableProxy

VENT = "their procurement lead is a total clown, they will never sign this quarter"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged, as the JSON lines production writes, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level, old_handlers = root.level, root.handlers[:]
    root.handlers = [handler]
    root.setLevel(logging.DEBUG)
    configure_log_format("json")
    handler.setFormatter(JsonFormatter())
    yield stream
    root.handlers = old_handlers
    root.setLevel(old_level)


def test_request_log_has_ids_and_latency_but_no_text_or_token(
    running_app: RunningApp, json_logs: io.StringIO
) -> None:
    reply = running_app.slack.event(
        {
            "type": "message",
            "channel": "C0DEAL",
            "channel_type": "channel",
            "user": "U0LOG",
            "text": VENT,
            "ts": "1700000500.000001",
        },
        event_id="Ev0LOGGED1",
    )
    assert reply.status == 200
    running_app.fake.wait_for("chat.postEphemeral")
    running_app.reframe.background.shutdown(wait=True)
    output = json_logs.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    [request] = [line for line in lines if line["message"] == "slack request"]
    assert request["team_id"] == "T0TEAM"
    assert request["event_id"] == "Ev0LOGGED1"
    assert request["kind"] == "message"
    assert request["status"] == 200
    assert isinstance(request["latency_ms"], float)
    for secret in ("clown", "procurement lead", "xoxb-test-token", SIGNING_SECRET):
        assert secret not in output


def test_routine_acks_are_logged_at_debug_and_retries_at_info(
    running_app: RunningApp, json_logs: io.StringIO
) -> None:
    event = {
        "type": "message",
        "channel": "C0DEAL",
        "channel_type": "channel",
        "user": "U0ROUTINE",
        "text": "sent the revised quote over this morning",
        "ts": "1700000600.000001",
    }
    assert running_app.slack.event(event, event_id="Ev0ROUTINE").status == 200
    assert running_app.slack.event(event, event_id="Ev0ROUTINE", retry=1).status == 200
    requests = [
        json.loads(line) for line in json_logs.getvalue().splitlines() if '"slack request"' in line
    ]
    assert [(r["level"], r.get("retry")) for r in requests] == [("DEBUG", None), ("INFO", "1")]
    assert all(r["event_id"] == "Ev0ROUTINE" and r["kind"] == "message" for r in requests)


def test_at_info_a_routine_ack_writes_no_line_but_is_counted(running_app: RunningApp) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    old_level, old_handlers = root.level, root.handlers[:]
    root.handlers = [handler]
    # setLevel, not `root.level =`: it also clears every logger's isEnabledFor cache,
    # which an earlier test in this process may have filled at another level.
    root.setLevel(logging.INFO)
    try:
        text = running_app.slack.get("/metrics").body.decode()
        line = 'reframe_slack_requests_total{kind="message",status="200"}'
        counted = _sample(text, line)
        reply = running_app.slack.message("moved the demo to thursday", user="U0QUIET")
        assert reply.status == 200
        refused = running_app.slack.post("{}", "application/json", signature="v0=" + "0" * 64)
        assert refused.status == 401
    finally:
        root.handlers = old_handlers
        root.setLevel(old_level)
    logged = [r for r in records if r.getMessage() == "slack request"]
    # The refusal is logged; the ack only if it was slow (a loaded test machine can
    # take a second over a rep's first message), never as a routine line.
    assert [getattr(r, "status", None) for r in logged if getattr(r, "status", None) != 200] == [
        401
    ]
    acks = [r for r in logged if getattr(r, "status", None) == 200]
    assert all(getattr(r, "latency_ms", 0) >= SLOW_REQUEST_SECONDS * 1000 for r in acks), acks
    assert _sample(running_app.slack.get("/metrics").body.decode(), line) == counted + 1


def _sample(text: str, name: str) -> float:
    for row in text.splitlines():
        if row.startswith(name + " "):
            return float(row.split()[-1])
    return 0.0


def test_refused_requests_are_logged_without_trusting_their_kind(
    running_app: RunningApp, json_logs: io.StringIO
) -> None:
    body = json.dumps({"type": "event_callback", "team_id": "T0X", "event": {"type": "forged"}})
    forged = running_app.slack.post(body, "application/json", signature="v0=" + "0" * 64)
    assert forged.status == 401
    [request] = [
        json.loads(line) for line in json_logs.getvalue().splitlines() if '"slack request"' in line
    ]
    assert request["kind"] == "refused" and request["status"] == 401


def test_metrics_count_requests_and_nudges(running_app: RunningApp) -> None:
    sent_before = metrics.value("nudges_sent")
    assert running_app.slack.message(VENT, user="U0METRIC").status == 200
    running_app.fake.wait_for("chat.postEphemeral")
    running_app.reframe.background.shutdown(wait=True)
    assert metrics.value("nudges_sent") == sent_before + 1
    reply = running_app.slack.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    text = reply.body.decode()
    assert 'reframe_slack_requests_total{kind="message",status="200"}' in text
    assert "reframe_slack_ack_seconds_bucket" in text
    assert "reframe_checkins_sent_total" in text
    assert "clown" not in text


def test_metrics_count_slack_errors(running_app: RunningApp) -> None:
    from tests.fakes.slack_api import Fault

    running_app.fake.fail("chat.postEphemeral", Fault(200, error="not_in_channel"))
    assert running_app.slack.message(VENT, user="U0ERR").status == 200
    running_app.reframe.background.shutdown(wait=True)
    text = running_app.slack.get("/metrics").body.decode()
    assert 'reframe_slack_errors_total{reason="not_in_channel"}' in text


def test_unknown_counter_names_fail_loudly() -> None:
    with pytest.raises(KeyError):
        metrics.count("nudges_snet")


def test_readyz_is_503_while_the_database_is_down(fake_slack: FakeSlack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on port 9: the database is "down" from the first request on.
    down = Database.connect("postgresql+psycopg://postgres@127.0.0.1:9/none")
    reframe = build(
        make_settings(f"sqlite:///{tmp_path / 'unused.db'}", fake_slack),
        db=down,
        run_migrations=False,
    )
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    sender = SlackSender(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        assert sender.get("/healthz").status == 200  # alive: do not restart it
        ready = sender.get("/readyz")
        assert ready.status == 503
        assert ready.json() == {"ok": False, "database": False}
    finally:
        server.shutdown()
        server.server_close()
        reframe.shutdown()


@pytest.mark.parametrize("how", ["wrong secret", "stale", "no signature"])
def test_a_refused_request_leaves_no_trace_of_its_words(
    running_app: RunningApp, json_logs: io.StringIO, how: str
) -> None:
    canary = "zebra-canary their CFO is a clown"
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "event": {"type": "message", "channel": "C0DEAL", "user": "U0REP", "text": canary},
        }
    )
    if how == "wrong secret":
        reply = SlackSender(running_app.url, secret="not-the-secret").post(body, "application/json")
    elif how == "stale":
        reply = running_app.slack.post(body, "application/json", timestamp=1_600_000_000)
    else:
        reply = running_app.slack.post(
            body, "application/json", signature="v0=x", headers={"X-Slack-Signature": ""}
        )
    assert reply.status == 401
    output = json_logs.getvalue()
    assert "zebra-canary" not in output and "clown" not in output
    assert "refused a request whose signature did not verify" in output
    assert running_app.fake.calls("chat.postEphemeral") == []


def test_request_kinds_in_metrics_come_from_a_fixed_set(running_app: RunningApp) -> None:
    from urllib.parse import urlencode

    for n in range(30):
        body = urlencode({"ssl_check": "1", "command": f"/made-up-{n}", "token": "x"})
        assert running_app.slack.post(body, "application/x-www-form-urlencoded").status < 500
    text = running_app.slack.get("/metrics").body.decode()
    kinds = {
        line.split('kind="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("reframe_slack_requests_total{")
    }
    assert "made-up" not in text
    assert kinds <= set(METRIC_KINDS) | {"other"}


def test_at_debug_no_logger_repeats_what_a_rep_wrote(
    running_app: RunningApp, json_logs: io.StringIO
) -> None:
    canary = "walrus-canary their CFO is a total clown and will never sign"
    assert running_app.slack.command(canary).status == 200
    running_app.slack.message(canary, user="U0DEBUG", ts="1700000900.000100")
    running_app.fake.wait_for("chat.postEphemeral")
    running_app.reframe.background.shutdown(wait=True)
    output = json_logs.getvalue()
    assert output  # DEBUG logging was on
    assert "walrus-canary" not in output and "clown" not in output


@pytest.mark.postgres
def test_a_frozen_database_is_not_ready_at_once_and_health_stays_fast(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    """The server stops answering without closing anything (a hung host): /readyz
    says not ready within the ping's bound instead of hanging with the database,
    /healthz never waits on it, and it is ready again once the database answers."""
    url = make_url(database_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    frozen_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    reframe = build(make_settings(frozen_url, fake_slack), clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    sender = SlackSender(f"http://127.0.0.1:{server.server_address[1]}")  # 10 s client timeout
    try:
        assert sender.get("/readyz").status == 200
        proxy.freeze()
        assert sender.get("/healthz").status == 200
        first = sender.get("/readyz")
        assert (first.status, first.json()) == (503, {"ok": False, "database": False})
        assert sender.get("/readyz").status == 503  # the stuck ping is not stacked on
        assert sender.get("/healthz").status == 200
        proxy.thaw()
        deadline = time.monotonic() + 10
        while sender.get("/readyz").status != 200:
            assert time.monotonic() < deadline, "never ready again after the thaw"
            time.sleep(0.1)
    finally:
        proxy.thaw()
        server.shutdown()
        server.server_close()
        reframe.shutdown()
        proxy.close()


@pytest.mark.postgres
def test_database_sessions_carry_statement_and_lock_timeouts(db: Database) -> None:
    with db.engine.connect() as connection:
        statement = connection.execute(text("SHOW statement_timeout")).scalar()
        lock = connection.execute(text("SHOW lock_timeout")).scalar()
    assert (statement, lock) == ("15s", "15s")


def test_counters_are_read_through_the_public_registry() -> None:
    before = metrics.value("checkins_answered")
    metrics.count("checkins_answered")
    assert metrics.value("checkins_answered") == before + 1
    with pytest.raises(KeyError):
        metrics.value("no_such_counter")


def test_no_private_internals_of_bolt_or_prometheus_are_used() -> None:
    """They change without notice between releases; the public APIs do not."""
    bot = Path(__file__).resolve().parents[1] / "bot"
    for path in sorted(bot.rglob("*.py")):
        source = path.read_text()
        assert "slack_bolt.request.internals" not in source, path
        assert "._value" not in source, path
