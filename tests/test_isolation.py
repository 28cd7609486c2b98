"""One workspace can never see or touch another's data, even where Slack ids
coincide (the same channel or user id in two workspaces, as in Enterprise Grid)."""

from __future__ import annotations

from sqlalchemy import select

from bot.slack.listeners.privacy import FORGET_CONFIRM
from bot.storage.models import Nudge, Rep
from tests.conftest import RunningApp
from tests.test_privacy import counts, seed

TEAM_A, TEAM_B = "T0TEAM", "T0OTHER"
VENT = "their DM is a jerk tbh, he'll never give us a shot"


def nudges_of(app: RunningApp, team_id: str) -> list[Nudge]:
    with app.reframe.db.transaction() as session:
        return list(session.scalars(select(Nudge).where(Nudge.team_id == team_id)))


def rep(app: RunningApp, team_id: str, user_id: str = "U0REP") -> Rep | None:
    with app.reframe.db.transaction() as session:
        return session.get(Rep, (team_id, user_id))


def vent(app: RunningApp, team_id: str, ts: str, channel: str = "C0DEAL") -> None:
    event = {
        "type": "message",
        "channel": channel,
        "user": "U0REP",
        "text": VENT,
        "ts": ts,
        "channel_type": "channel",
    }
    assert app.slack.event(event, team=team_id).status == 200


def test_feedback_from_another_workspace_changes_nothing(running_app: RunningApp) -> None:
    app = running_app
    vent(app, TEAM_A, "1.1")
    app.fake.wait_for("chat.postEphemeral")
    [nudge] = nudges_of(app, TEAM_A)

    # Same user id, same nudge id, but the click comes from workspace B.
    reply = app.slack.action(
        "nudge_pause", str(nudge.id), team=TEAM_B, response_url=app.fake.response_url()
    )

    assert reply.status == 200
    [answer] = app.fake.wait_for("response_url")
    assert answer.params["replace_original"] is False
    assert "nothing was changed" in answer.params["text"]
    [after] = nudges_of(app, TEAM_A)
    assert after.feedback is None and after.feedback_at is None
    rep_a = rep(app, TEAM_A)
    assert rep_a is not None and rep_a.nudges_paused_until is None
    assert rep(app, TEAM_B) is None


def test_a_pause_in_one_workspace_does_not_silence_the_other(running_app: RunningApp) -> None:
    app = running_app
    vent(app, TEAM_A, "1.1")
    app.fake.wait_for("chat.postEphemeral")
    [nudge] = nudges_of(app, TEAM_A)
    app.slack.action("nudge_pause", str(nudge.id), response_url=app.fake.response_url())
    app.fake.wait_for("response_url")
    paused = rep(app, TEAM_A)
    assert paused is not None and paused.nudges_paused_until is not None

    vent(app, TEAM_B, "1.2")

    assert len(app.fake.wait_for("chat.postEphemeral", 2)) == 2
    assert len(nudges_of(app, TEAM_B)) == 1


def test_channel_settings_in_one_workspace_do_not_reach_the_other(
    running_app: RunningApp,
) -> None:
    app = running_app
    app.fake.add_channel("C0DEAL", "deal-acme-renewal", creator="U0REP")  # may make it visible
    assert app.slack.command("channel off", team=TEAM_A).status == 200
    assert app.slack.command("channel mode thread", team=TEAM_B).status == 200

    vent(app, TEAM_A, "1.1")  # C0DEAL is switched off in A only
    vent(app, TEAM_B, "1.2")  # the same channel id in B: on, answering in the thread

    [posted] = app.fake.wait_for("chat.postMessage")
    assert posted.params["thread_ts"] == "1.2"
    app.wait_until_idle()
    assert nudges_of(app, TEAM_A) == []
    assert app.fake.calls("chat.postEphemeral") == []
    status_a = app.slack.command("channel status", team=TEAM_A).json()["text"]
    assert "does not listen" in status_a and "`ephemeral`" in status_a


def test_forget_me_in_one_workspace_leaves_the_other(running_app: RunningApp) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id="U0REP", at=app.clock.now())
    seed(app.reframe.db, team_id=TEAM_B, user_id="U0REP", at=app.clock.now(), tag="2")
    body = app.slack.command("forget-me", team=TEAM_A).json()
    [confirm] = [
        e
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == FORGET_CONFIRM
    ]

    app.slack.action(FORGET_CONFIRM, confirm["value"], response_url=app.fake.response_url())

    app.fake.wait_for("response_url")
    assert counts(app.reframe.db, team_id=TEAM_A, user_id="U0REP")["nudges"] == 0
    assert counts(app.reframe.db, team_id=TEAM_B, user_id="U0REP") == {
        "nudges": 1,
        "checkins": 1,
        "reps": 1,
        "opted_out": 0,
        "channels": 1,
    }


def test_a_confirm_button_from_one_workspace_cannot_delete_in_the_other(
    running_app: RunningApp,
) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_B, user_id="U0REP", at=app.clock.now())

    # A button minted for workspace B's rep, clicked by workspace A's U0REP.
    app.slack.action(
        FORGET_CONFIRM, f"{TEAM_B}:U0REP", team=TEAM_A, response_url=app.fake.response_url()
    )

    [answer] = app.fake.wait_for("response_url")
    assert "nothing was deleted" in answer.params["text"]
    assert counts(app.reframe.db, team_id=TEAM_B, user_id="U0REP")["nudges"] == 1


def test_uninstalling_one_workspace_keeps_the_others_working(running_app: RunningApp) -> None:
    app = running_app
    vent(app, TEAM_B, "1.1")
    app.fake.wait_for("chat.postEphemeral")

    app.slack.event({"type": "app_uninstalled"}, team=TEAM_A)
    vent(app, TEAM_B, "1.2", channel="C0PRIVATE")

    assert len(app.fake.wait_for("chat.postEphemeral", 2)) == 2
    assert len(nudges_of(app, TEAM_B)) == 2
