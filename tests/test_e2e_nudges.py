"""End to end over real HTTP: signed requests in, a fake Slack Web API out."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.clock import FixedClock
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage.models import Nudge
from bot.wiring import build
from tests.conftest import RunningApp, make_settings
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.slack_requests import SlackSender

VENT = "their DM is a jerk tbh, he'll never give us a shot"
NEUTRAL = "sent the revised SOW to their procurement team, call booked for Thursday"


def nudge_rows(app: RunningApp) -> list[Nudge]:
    with app.reframe.db.transaction() as session:
        return list(session.scalars(select(Nudge).order_by(Nudge.id)))


def settle(app: RunningApp) -> None:
    """Let background deliveries finish (they run after the HTTP answer)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(n.status != "pending" and n.status != "sending" for n in nudge_rows(app)):
            return
        time.sleep(0.02)


def test_vent_in_deal_channel_gets_one_private_nudge(running_app: RunningApp) -> None:
    reply = running_app.slack.message(VENT)
    assert reply.status == 200
    calls = running_app.fake.wait_for("chat.postEphemeral")
    assert len(calls) == 1
    params = calls[0].params
    assert params["channel"] == "C0DEAL"
    assert params["user"] == "U0REP"
    assert params["thread_ts"] == "1700000000.000100"
    question = params["blocks"][0]["text"]["text"]
    assert question.endswith("?")
    assert "jerk" not in question  # never quotes the rep back
    assert running_app.fake.calls("chat.postMessage") == []
    settle(running_app)
    [row] = nudge_rows(running_app)
    assert row.status == "sent"
    assert row.traps.split(",")[0] == "labeling"
    assert row.delivery == "ephemeral"


def test_nothing_of_the_message_text_is_stored(running_app: RunningApp) -> None:
    running_app.slack.message(VENT)
    running_app.fake.wait_for("chat.postEphemeral")
    settle(running_app)
    [row] = nudge_rows(running_app)
    stored = json.dumps({c.name: str(getattr(row, c.name)) for c in Nudge.__table__.columns})
    for word in ("jerk", "shot", "never"):
        assert word not in stored


def test_neutral_update_stays_silent(running_app: RunningApp) -> None:
    assert running_app.slack.message(NEUTRAL).status == 200
    running_app.wait_until_idle()
    assert running_app.fake.calls("chat.postEphemeral") == []
    assert nudge_rows(running_app) == []


def test_channel_name_is_looked_up_once(running_app: RunningApp) -> None:
    for i in range(5):
        running_app.slack.message(NEUTRAL, ts=f"1700000000.00{i}")
    assert len(running_app.fake.calls("conversations.info")) == 1


def test_other_bots_edits_joins_and_other_channels_stay_silent(running_app: RunningApp) -> None:
    s = running_app.slack
    assert s.message(VENT, bot_id="B0OTHER", subtype="bot_message", ts="1.1").status == 200
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C0DEAL",
        "channel_type": "channel",
        "ts": "1.2",
        "message": {"type": "message", "user": "U0REP", "text": VENT, "ts": "1.0"},
    }
    assert s.event(edited).status == 200
    assert (
        s.message(
            f"<@U0REP> has joined the channel. {VENT}", subtype="channel_join", ts="1.3"
        ).status
        == 200
    )
    assert s.message(VENT, channel="C0GENERAL", ts="1.4").status == 200
    assert s.message(VENT, ts="1.5", channel_type="im").status == 200
    running_app.wait_until_idle()
    assert running_app.fake.calls("chat.postEphemeral") == []
    assert running_app.fake.calls("chat.postMessage") == []
    assert nudge_rows(running_app) == []


def test_private_deal_channel_by_pattern(running_app: RunningApp) -> None:
    running_app.slack.message(VENT, channel="C0PRIVATE", channel_type="group")
    assert len(running_app.fake.wait_for("chat.postEphemeral")) == 1


def test_retries_and_duplicate_deliveries_still_nudge_once(running_app: RunningApp) -> None:
    s = running_app.slack
    assert s.message(VENT).status == 200
    running_app.fake.wait_for("chat.postEphemeral")
    # Slack's retries of the same event, and the same message under a new event id.
    assert s.event(_vent_event(), event_id="Ev00000001", retry=1).status == 200
    assert s.event(_vent_event(), event_id="Ev00000001", retry=2).status == 200
    assert s.event(_vent_event(), event_id="EvNEW").status == 200
    running_app.wait_until_idle()
    settle(running_app)
    assert len(running_app.fake.calls("chat.postEphemeral")) == 1
    assert len(nudge_rows(running_app)) == 1


def test_concurrent_duplicate_deliveries_nudge_once(running_app: RunningApp) -> None:
    replies = []

    def send(i: int) -> None:
        replies.append(running_app.slack.event(_vent_event(), event_id=f"EvPAR{i}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == 200 for r in replies)
    running_app.fake.wait_for("chat.postEphemeral")
    running_app.wait_until_idle()
    settle(running_app)
    assert len(running_app.fake.calls("chat.postEphemeral")) == 1


def test_cooldown_one_per_channel_per_four_hours(running_app: RunningApp) -> None:
    s = running_app.slack
    s.message(VENT, ts="1700000000.000001")
    running_app.fake.wait_for("chat.postEphemeral")
    s.message(
        "no one over there ever answers an email, they always drag it out", ts="1700000000.000002"
    )
    running_app.wait_until_idle()
    assert len(running_app.fake.calls("chat.postEphemeral")) == 1
    running_app.clock.advance(timedelta(hours=4, minutes=1))
    s.message(
        "no one over there ever answers an email, they always drag it out", ts="1700000000.000003"
    )
    assert len(running_app.fake.wait_for("chat.postEphemeral", 2)) == 2


def test_bad_signature_and_stale_timestamp_are_refused(running_app: RunningApp) -> None:
    s = running_app.slack
    body = json.dumps({"type": "event_callback", "team_id": "T0TEAM", "event": _vent_event()})
    assert s.post(body, "application/json", signature="v0=" + "0" * 64).status == 401
    assert s.post(body, "application/json", timestamp=int(time.time()) - 10 * 60).status == 401
    assert (
        s.post(
            body, "application/json", headers={"X-Slack-Signature": ""}, signature="v0=bad"
        ).status
        == 401
    )
    running_app.wait_until_idle()
    assert nudge_rows(running_app) == []


def test_signed_malformed_bodies_get_4xx_and_app_stays_healthy(running_app: RunningApp) -> None:
    s = running_app.slack
    for body, content_type in [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('{"type": "event_callback", "event": "nope"}', "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        ("command=%2Freframe", "application/x-www-form-urlencoded"),
        ("", "application/json"),
    ]:
        reply = s.post(body, content_type)
        assert 400 <= reply.status < 500, (body, reply.status)
    assert s.get("/healthz").status == 200
    assert s.message(VENT).status == 200
    assert len(running_app.fake.wait_for("chat.postEphemeral")) == 1


def test_healthz_and_readyz(running_app: RunningApp) -> None:
    assert running_app.slack.get("/healthz").json() == {"ok": True}
    assert running_app.slack.get("/readyz").status == 200
    assert running_app.slack.get("/nope").status == 404


def test_slack_500_is_retried_later_without_doubling(running_app: RunningApp) -> None:
    fake = running_app.fake
    # The patient client retries twice itself; a third 500 leaves the nudge pending.
    fake.fail("chat.postEphemeral", Fault(500), Fault(500), Fault(500))
    running_app.slack.message(VENT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(n.attempts for n in nudge_rows(running_app)):
        time.sleep(0.05)
    settle(running_app)
    [row] = nudge_rows(running_app)
    assert row.status == "pending" and row.next_attempt_at is not None
    assert fake.calls("chat.postEphemeral") == []
    running_app.clock.advance(timedelta(minutes=1))
    running_app.reframe.run_jobs_once()
    running_app.reframe.run_jobs_once()
    assert len(fake.calls("chat.postEphemeral")) == 1
    assert nudge_rows(running_app)[0].status == "sent"


def test_slack_429_honours_retry_after(running_app: RunningApp) -> None:
    fake = running_app.fake
    fake.fail("chat.postEphemeral", Fault(429, retry_after=1))
    started = time.monotonic()
    running_app.slack.message(VENT)
    calls = fake.wait_for("chat.postEphemeral", timeout=10)
    assert len(calls) == 1
    assert calls[0].at - started >= 0.9  # waited as Retry-After said
    settle(running_app)
    assert nudge_rows(running_app)[0].status == "sent"


def test_permanent_slack_error_marks_failed_and_stops(running_app: RunningApp) -> None:
    running_app.fake.fail("chat.postEphemeral", Fault(200, error="not_in_channel"))
    running_app.slack.message(VENT)
    deadline = time.monotonic() + 5
    while (
        time.monotonic() < deadline
        and nudge_rows(running_app)[:1]
        and nudge_rows(running_app)[0].status != "failed"
    ):
        time.sleep(0.05)
    [row] = nudge_rows(running_app)
    assert row.status == "failed" and row.last_error == "not_in_channel"
    running_app.reframe.run_jobs_once()
    assert running_app.fake.calls("chat.postEphemeral") == []


def test_app_mention_answers_privately_in_thread(running_app: RunningApp) -> None:
    event = {
        "type": "app_mention",
        "channel": "C0GENERAL",
        "user": "U0REP",
        "ts": "1700000009.000100",
        "text": "<@UBOT> procurement is just stalling on purpose, they always do this",
    }
    assert running_app.slack.event(event).status == 200
    [call] = running_app.fake.wait_for("chat.postEphemeral")
    assert call.params["channel"] == "C0GENERAL" and call.params["thread_ts"] == "1700000009.000100"
    # The same text also arrives as a message event; it must not be answered twice.
    running_app.slack.message(event["text"], ts="1700000009.000100")
    running_app.wait_until_idle()
    assert len(running_app.fake.calls("chat.postEphemeral")) == 1


@pytest.mark.parametrize(("mode", "posts"), [("thread", 1), ("ephemeral", 0)])
def test_crashed_delivery_is_recovered_by_the_sweep(
    running_app: RunningApp, mode: str, posts: int
) -> None:
    """A process records a nudge (recording claims it) and dies before posting.
    After the lease the sweep looks in the thread, finds nothing and posts once; an
    ephemeral nudge cannot be looked up, so it is dropped as unconfirmed rather
    than risk showing it twice."""
    app = running_app
    nudges = app.reframe.nudges
    from bot.services.nudges import IncomingMessage

    recorded = nudges.on_message(IncomingMessage("T0TEAM", "C0DEAL", "U0REP", "1.9", None, VENT))
    assert recorded is not None
    nudge_id = recorded.claim.nudge_id
    with app.reframe.db.transaction() as session:
        row = session.get_one(Nudge, nudge_id)
        row.delivery = mode
        assert (row.status, row.attempts, row.in_doubt) == ("sending", 1, False)
    assert nudges.deliver(nudge_id) == "not_claimed"  # already this process's
    app.reframe.run_jobs_once()
    method = "chat.postMessage" if mode == "thread" else "chat.postEphemeral"
    assert app.fake.calls(method) == []  # the claim is still fresh
    app.clock.advance(timedelta(minutes=3))
    app.reframe.run_jobs_once()
    assert len(app.fake.calls(method)) == posts
    with app.reframe.db.transaction() as session:
        (row,) = session.scalars(select(Nudge)).all()
        assert row.status == ("sent" if posts else "unconfirmed")


def _vent_event() -> dict[str, str]:
    return {
        "type": "message",
        "channel": "C0DEAL",
        "user": "U0REP",
        "text": VENT,
        "ts": "1700000000.000100",
        "channel_type": "channel",
    }


def test_slack_down_on_first_message_makes_slack_retry_instead_of_losing_it(
    running_app: RunningApp,
) -> None:
    # The channel's name is not known yet and Slack cannot tell us: deciding
    # "not a deal channel" would drop the vent for good, so the event fails
    # and Slack's retry (same event id) gets the nudge.
    running_app.fake.fail("conversations.info", Fault(500))
    first = running_app.slack.event(_vent_event(), event_id="EvCOLD")
    assert first.status == 500
    assert nudge_rows(running_app) == []
    retry = running_app.slack.event(_vent_event(), event_id="EvCOLD", retry=1)
    assert retry.status == 200
    assert len(running_app.fake.wait_for("chat.postEphemeral")) == 1


# --- Slack Connect: people from another organisation ------------------------------------------

SHARED = {"is_ext_shared_channel": True}


def _external_vent(app: RunningApp, user_team: str, ts: str) -> None:
    event = {
        "type": "message",
        "channel": "C0DEAL",
        "user": "U0GUEST",
        "user_team": user_team,
        "text": VENT,
        "ts": ts,
        "channel_type": "channel",
    }
    assert app.slack.event(event, envelope=SHARED).status == 200


def test_someone_from_another_organisation_is_neither_nudged_nor_enrolled(
    running_app: RunningApp,
) -> None:
    from bot.storage.models import Rep

    _external_vent(running_app, "T0OTHERORG", "1700000600.000100")
    # Idle, not shut down: the pool must still deliver our own rep's nudge below.
    running_app.wait_until_idle()
    with running_app.reframe.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Nudge)) == 0
        assert session.get(Rep, ("T0TEAM", "U0GUEST")) is None
    assert running_app.fake.calls("chat.postEphemeral") == []
    # Our own rep in the same shared channel is heard as usual.
    _external_vent(running_app, "T0TEAM", "1700000600.000200")
    [nudge] = running_app.fake.wait_for("chat.postEphemeral")
    assert nudge.params["user"] == "U0GUEST"


def test_a_workspace_can_choose_to_include_external_members(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    reframe = build(
        make_settings(database_url, fake_slack, nudge_external_members=True), clock=clock
    )
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        app = RunningApp(reframe, url, SlackSender(url), fake_slack, clock)
        _external_vent(app, "T0OTHERORG", "1700000700.000100")
        assert len(fake_slack.wait_for("chat.postEphemeral")) == 1
    finally:
        server.shutdown()
        server.server_close()
        reframe.shutdown()
