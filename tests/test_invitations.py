"""Joining check-ins by invitation (the default): a rep's first post in a deal
channel gets one private invitation, shown once; Join enrols, No thanks is
remembered; nobody is DMed who did not ask. Over signed HTTP, as Slack sends it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import time as dtime
from datetime import timedelta

import pytest

from bot.domain.clock import FixedClock
from bot.domain.schedule import WeeklySchedule, next_occurrence
from bot.processes.web import make_http_server, serve_in_thread
from bot.slack.checkin_blocks import INVITE_DECLINE, INVITE_JOIN
from bot.storage.models import Rep
from bot.wiring import Reframe, build
from tests.conftest import RunningApp, make_settings
from tests.fakes.slack_api import Call, FakeSlack, Fault
from tests.fakes.slack_requests import SlackSender

NEUTRAL = "sent the revised SOW to their procurement team, call booked for Thursday"
VENT = "their DM is a jerk tbh, he'll never give us a shot"
OWNER = "T0TEAM:U0REP"


@pytest.fixture
def app(database_url: str, fake_slack: FakeSlack, clock: FixedClock) -> Iterator[RunningApp]:
    """The app with the join mode left at its default."""
    settings = make_settings(database_url, fake_slack)
    reframe = build(settings.model_copy(update={"checkin_join_mode": "invite"}), clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield RunningApp(reframe, url, SlackSender(url), fake_slack, clock)
    server.shutdown()
    server.server_close()
    reframe.shutdown()


def invitations(fake: FakeSlack) -> list[Call]:
    return [
        c
        for c in fake.calls("chat.postEphemeral")
        if any(b.get("block_id") == "checkin_invite" for b in c.params.get("blocks") or [])
    ]


def settle(app: RunningApp) -> None:
    """Let the posts started by requests finish (invitations, nudges, replies)."""
    for pool in (app.reframe.after_ack, app.reframe.background, app.reframe.after_ack):
        assert pool.wait_idle(timeout=30)


def rep(reframe: Reframe, user: str = "U0REP") -> Rep | None:
    with reframe.db.transaction() as session:
        return session.get(Rep, ("T0TEAM", user))


def tick_at_next_checkin(app: RunningApp) -> list[Call]:
    """Run the jobs just after Monday 09:00 (the workspace default) in the rep's zone
    (Los Angeles, in the fake's profile), and return the check-in DMs."""
    monday = WeeklySchedule(weekday=0, at=dtime(9, 0), tz="America/Los_Angeles")
    app.clock.set(next_occurrence(app.clock.now(), monday).due_at + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    return [
        c
        for c in app.fake.calls("chat.postMessage")
        if (c.params.get("metadata") or {}).get("event_type") == "reframe_checkin"
    ]


def test_a_first_post_gets_one_private_invitation_and_no_enrolment(app: RunningApp) -> None:
    assert app.slack.message(NEUTRAL, ts="1700000500.000001").status == 200
    assert app.slack.message(NEUTRAL, ts="1700000500.000002").status == 200
    settle(app)
    [invite] = invitations(app.fake)
    assert (invite.params["channel"], invite.params["user"]) == ("C0DEAL", "U0REP")
    buttons = [e for b in invite.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (INVITE_JOIN, OWNER),
        (INVITE_DECLINE, OWNER),
    ]
    row = rep(app.reframe)
    assert row is not None and row.invited_at is not None
    assert row.checkins_enrolled_at is None and row.invite_answer is None
    assert tick_at_next_checkin(app) == []  # nobody is DMed who did not ask


def test_another_process_does_not_invite_again(
    app: RunningApp, database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    assert app.slack.message(NEUTRAL, ts="1700000500.000003").status == 200
    settle(app)
    other = build(make_settings(database_url, fake_slack, checkin_join_mode="invite"), clock=clock)
    try:
        other.checkins.on_rep_seen("T0TEAM", "U0REP", "C0DEAL")
    finally:
        other.shutdown()
    assert len(invitations(fake_slack)) == 1


def test_join_enrols_and_the_check_in_follows(app: RunningApp) -> None:
    app.slack.message(NEUTRAL, ts="1700000500.000004")
    settle(app)
    reply = app.slack.action(INVITE_JOIN, OWNER, response_url=app.fake.response_url("inv"))
    assert reply.status == 200
    [answer] = app.fake.wait_for("response_url")
    assert answer.params["replace_original"] is True
    assert "You're in" in answer.params["blocks"][0]["text"]["text"]
    row = rep(app.reframe)
    assert row is not None and row.checkins_enrolled_at is not None
    assert (row.invite_answer, row.checkins_enabled) == ("joined", True)
    assert [c.params["channel"] for c in tick_at_next_checkin(app)] == ["U0REP"]


def test_no_thanks_is_remembered_and_never_asked_again(
    app: RunningApp, database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    app.slack.message(NEUTRAL, ts="1700000500.000005")
    settle(app)
    app.slack.action(INVITE_DECLINE, OWNER, response_url=app.fake.response_url("inv"))
    [answer] = app.fake.wait_for("response_url")
    assert "won't ask again" in answer.params["blocks"][0]["text"]["text"]
    row = rep(app.reframe)
    assert row is not None and row.invite_answer == "declined"
    assert row.checkins_enrolled_at is None
    # A fresh process (no memory of the rep) sees the answer in the database.
    fresh = build(make_settings(database_url, fake_slack, checkin_join_mode="invite"), clock=clock)
    try:
        fresh.checkins.on_rep_seen("T0TEAM", "U0REP", "C0DEAL")
    finally:
        fresh.shutdown()
    assert len(invitations(fake_slack)) == 1
    assert tick_at_next_checkin(app) == []


def test_someone_else_cannot_answer_a_reps_invitation(app: RunningApp) -> None:
    app.slack.message(NEUTRAL, ts="1700000500.000006")
    settle(app)
    app.slack.action(INVITE_JOIN, OWNER, user="U0OTHER", response_url=app.fake.response_url())
    [answer] = app.fake.wait_for("response_url")
    assert "someone else" in answer.params["text"]
    assert answer.params["replace_original"] is False
    row = rep(app.reframe)
    assert row is not None and row.checkins_enrolled_at is None and row.invite_answer is None
    assert rep(app.reframe, "U0OTHER") is None


def test_a_vent_as_first_post_gets_its_nudge_and_one_invitation(app: RunningApp) -> None:
    assert app.slack.message(VENT, ts="1700000500.000007").status == 200
    settle(app)
    ephemeral = app.fake.calls("chat.postEphemeral")
    assert len(invitations(app.fake)) == 1
    assert len(ephemeral) == 2  # the nudge and the invitation, once each


def test_an_invitation_slack_did_not_take_is_offered_on_the_next_post(app: RunningApp) -> None:
    app.fake.fail("chat.postEphemeral", *[Fault(500)] * 3)
    app.slack.message(NEUTRAL, ts="1700000500.000008")
    deadline = time.monotonic() + 10
    while app.fake.rejected("chat.postEphemeral") < 1 or rep_invited(app):
        assert time.monotonic() < deadline, "the failed invitation was never given back"
        time.sleep(0.05)
    assert invitations(app.fake) == []
    with app.fake.lock:
        app.fake.state.faults.clear()  # Slack is back
    app.slack.message(NEUTRAL, ts="1700000500.000009")
    settle(app)
    assert len(invitations(app.fake)) == 1


def rep_invited(app: RunningApp) -> bool:
    row = rep(app.reframe)
    return row is None or row.invited_at is not None


def test_manual_mode_neither_invites_nor_enrols(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    reframe = build(
        make_settings(database_url, fake_slack, checkin_join_mode="manual"), clock=clock
    )
    try:
        reframe.checkins.on_rep_seen("T0TEAM", "U0REP", "C0DEAL")
        assert rep(reframe) is None
    finally:
        reframe.shutdown()
    assert invitations(fake_slack) == []


def test_a_new_reps_app_home_welcomes_them_and_joins_from_there(app: RunningApp) -> None:
    event = {"type": "app_home_opened", "user": "U0REP", "channel": "D0REP", "tab": "home"}
    assert app.slack.event(event).status == 200
    [published] = app.fake.wait_for("views.publish")
    blocks = published.params["view"]["blocks"]
    assert blocks[0]["text"]["text"] == "Welcome to Reframe"
    assert not any(b.get("block_id") == "checkin_weeks" for b in blocks)
    toggle = next(b for b in blocks if b.get("block_id") == "checkin_toggle")
    assert toggle["elements"][0]["action_id"] == INVITE_JOIN
    home = {"type": "view", "view_id": "V0HOME"}
    reply = app.slack.action(
        INVITE_JOIN, "home", response_url=app.fake.response_url(), container=home
    )
    assert reply.status == 200
    republished = app.fake.wait_for("views.publish", 2)[-1].params["view"]["blocks"]
    assert any(b.get("block_id") == "checkin_weeks" for b in republished)
    row = rep(app.reframe)
    assert row is not None and row.checkins_enrolled_at is not None
