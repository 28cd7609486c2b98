"""Workspace settings inside Slack: only settings admins see and change them, every
change is recorded and shown, bad values are refused in the modal, and what an
admin chooses takes effect. Over signed HTTP, as Slack sends it."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.schedule import shift_week, week_of
from bot.domain.workspace_settings import SettingsInvalid, changes, parse_submission
from bot.processes.cli import main as cli_main
from bot.slack.settings_blocks import SETTINGS_EDIT, SETTINGS_VIEW
from bot.storage.models import Nudge, Rep, SettingsChange, WorkspaceSettings
from bot.wiring import workspace_defaults
from tests.conftest import RunningApp, make_settings
from tests.fakes.slack_api import FakeSlack

ADMIN, REP = "U0ADMIN", "U0REP"
HOME = {"type": "view", "view_id": "V0HOME"}
VENT = "their DM is a jerk tbh, he'll never give us a shot"


@pytest.fixture
def app(running_app: RunningApp) -> RunningApp:
    running_app.fake.add_user(ADMIN, tz="Europe/London", is_admin=True)
    return running_app


def open_home(app: RunningApp, user: str) -> list[dict[str, Any]]:
    """Open App Home as `user`; the view published for them."""
    app.reframe.after_ack.wait_idle(timeout=10)  # earlier republishes are done
    before = len(app.fake.calls("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    assert app.slack.event(event).status == 200
    published = app.fake.wait_for("views.publish", before + 1)[-1]
    assert published.params["user_id"] == user
    return list(published.params["view"]["blocks"])


def block(blocks: list[dict[str, Any]], block_id: str) -> dict[str, Any] | None:
    return next((b for b in blocks if b.get("block_id") == block_id), None)


def text(name: str, value: str) -> dict[str, Any]:
    return {name: {name: {"type": "plain_text_input", "value": value}}}


def select_(name: str, value: str) -> dict[str, Any]:
    return {name: {name: {"type": "static_select", "selected_option": {"value": value}}}}


def submit(app: RunningApp, user: str, **values: dict[str, Any]) -> dict[str, Any] | None:
    state: dict[str, Any] = {}
    for value in values.values():
        state.update(value)
    reply = app.slack.view_submission(SETTINGS_VIEW, state, user=user)
    assert reply.status == 200
    return json.loads(reply.body) if reply.body else None


def stored(app: RunningApp) -> WorkspaceSettings | None:
    with app.reframe.db.transaction() as session:
        return session.get(WorkspaceSettings, "T0TEAM")


def recorded(app: RunningApp) -> list[SettingsChange]:
    with app.reframe.db.transaction() as session:
        return list(session.scalars(select(SettingsChange).order_by(SettingsChange.id)))


# -- the rules, without Slack -----------------------------------------------------


def test_submitted_values_are_checked_and_every_problem_named(fake_slack: FakeSlack) -> None:
    defaults = workspace_defaults(make_settings("sqlite://", fake_slack))
    with pytest.raises(SettingsInvalid) as refused:
        parse_submission(
            defaults,
            {
                "checkin_time": "25:00",
                "digest_min_reps": "2",
                "deal_channel_patterns": "deal-*, DROP TABLE;",
                "nudge_daily_limit": "many",
                "join_mode": "always",
            },
        )
    assert set(refused.value.problems) == {
        "checkin_time",
        "digest_min_reps",
        "deal_channel_patterns",
        "nudge_daily_limit",
        "join_mode",
    }
    after = parse_submission(defaults, {"checkin_time": "4:30pm", "digest_min_reps": "7"})
    assert (after.checkin_time, after.digest_min_reps) == (time(16, 30), 7)
    assert [(c.setting, c.old, c.new) for c in changes(defaults, after)] == [
        ("checkin_time", "09:00", "16:30"),
        ("digest_min_reps", "5", "7"),
    ]


# -- who sees them ----------------------------------------------------------------


def test_admins_see_the_settings_and_everyone_else_sees_none(app: RunningApp) -> None:
    assert block(open_home(app, ADMIN), "workspace_settings") is not None
    rep_home = open_home(app, REP)
    assert block(rep_home, "workspace_settings") is None
    assert SETTINGS_EDIT not in json.dumps(rep_home)


def test_the_edit_button_opens_the_modal_for_an_admin_only(app: RunningApp) -> None:
    app.slack.action(
        SETTINGS_EDIT, "edit", user=ADMIN, response_url=app.fake.response_url(), container=HOME
    )
    [opened] = app.fake.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == SETTINGS_VIEW
    app.slack.action(
        SETTINGS_EDIT, "edit", user=REP, response_url=app.fake.response_url(), container=HOME
    )
    app.reframe.after_ack.wait_idle(timeout=10)
    assert len(app.fake.calls("views.open")) == 1


# -- changing them ----------------------------------------------------------------


def test_an_admins_change_is_saved_recorded_and_shown(app: RunningApp) -> None:
    answer = submit(
        app,
        ADMIN,
        time=text("checkin_time", "4:30pm"),
        k=text("digest_min_reps", "6"),
        mode=select_("join_mode", "manual"),
    )
    assert answer is None or not answer.get("errors")
    row = stored(app)
    assert row is not None
    assert (row.checkin_time, row.digest_min_reps, row.join_mode) == ("16:30", 6, "manual")
    assert row.updated_by == ADMIN
    changes_made = recorded(app)
    assert [(c.user_id, c.field, c.old_value, c.new_value) for c in changes_made] == [
        (ADMIN, "checkin_time", "09:00", "16:30"),
        (ADMIN, "join_mode", "auto", "manual"),
        (ADMIN, "digest_min_reps", "5", "6"),
    ]
    home = app.fake.wait_for("views.publish")[-1].params["view"]["blocks"]
    shown = block(home, "workspace_settings_changes")
    assert shown is not None and f"<@{ADMIN}> changed check-in time" in json.dumps(shown)


def test_bad_values_are_refused_in_the_modal_and_nothing_is_saved(app: RunningApp) -> None:
    answer = submit(app, ADMIN, time=text("checkin_time", "25:00"), k=text("digest_min_reps", "2"))
    assert answer is not None and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"checkin_time", "digest_min_reps"}
    assert stored(app) is None and recorded(app) == []


def test_a_forged_change_from_someone_who_is_no_admin_changes_nothing(app: RunningApp) -> None:
    answer = submit(app, REP, patterns=text("deal_channel_patterns", "everything-*"))
    assert answer is not None and answer["response_action"] == "errors"
    assert "admins" in json.dumps(answer["errors"])
    assert stored(app) is None and recorded(app) == []


def test_an_admin_can_name_more_settings_admins(app: RunningApp) -> None:
    users = {
        "settings_admins": {
            "settings_admins": {"type": "multi_users_select", "selected_users": [REP]}
        }
    }
    submit(app, ADMIN, users=users)
    assert block(open_home(app, REP), "workspace_settings") is not None


# -- and they take effect ---------------------------------------------------------


def test_channel_patterns_and_the_join_mode_chosen_take_effect(app: RunningApp) -> None:
    submit(
        app,
        ADMIN,
        patterns=text("deal_channel_patterns", "pipeline-*"),
        mode=select_("join_mode", "manual"),
    )
    # C0DEAL is "deal-acme-renewal": no longer a deal channel here, so no nudge, no enrolment.
    assert app.slack.message(VENT, ts="1700000700.000001").status == 200
    app.reframe.background.wait_idle(timeout=10)
    with app.reframe.db.transaction() as session:
        assert list(session.scalars(select(Nudge))) == []
    app.fake.add_channel("C0PIPE", "pipeline-globex")
    assert app.slack.message(VENT, channel="C0PIPE", ts="1700000700.000002").status == 200
    app.fake.wait_for("chat.postEphemeral")
    with app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", REP))
        assert rep is not None and rep.checkins_enrolled_at is None  # manual: not enrolled


def test_only_admins_make_nudges_visible_when_the_workspace_says_so(app: RunningApp) -> None:
    app.fake.add_channel("C0MINE", "deal-mine", creator=REP)
    submit(app, ADMIN, visible=select_("visible_mode_by", "admins"))
    refused = app.slack.command("channel mode thread", channel="C0MINE", user=REP).json()
    assert "nothing was changed" in refused["text"]
    allowed = app.slack.command("channel mode thread", channel="C0MINE", user=ADMIN).json()
    assert "nothing was changed" not in allowed["text"]


# -- what a reviewer can read offline ---------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli_main(list(argv))
    return code, out.getvalue()


def test_home_preview_prints_what_a_new_rep_an_enrolled_rep_and_an_admin_see(
    app: RunningApp, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, new = run_cli(
        monkeypatch,
        database_url,
        "home",
        "preview",
        "--team",
        "T0TEAM",
        "--user",
        "U0NEW",
        "--format",
        "text",
    )
    assert code == 0
    assert "Welcome to Reframe" in new and "[Join the weekly check-in]" in new
    assert "Workspace settings" not in new

    assert app.slack.command("checkin on").status == 200
    submit(app, ADMIN, time=text("checkin_time", "10:15"))
    code, out = run_cli(
        monkeypatch,
        database_url,
        "home",
        "preview",
        "--team",
        "T0TEAM",
        "--user",
        REP,
        "--admin",
    )
    assert code == 0
    payload, rendered = out.split("\n\n", 1)
    blocks = json.loads(payload)["blocks"]
    assert block(blocks, "checkin_weeks") is not None
    assert block(blocks, "workspace_settings") is not None
    assert "Your weekly check-in" in rendered and "Check-in time: 10:15" in rendered
    assert "[Edit settings]" in rendered


def test_a_digest_channel_and_managers_chosen_in_slack_get_the_digest(app: RunningApp) -> None:
    from tests.test_digest import last_due, seed_team

    channel = {
        "digest_channel": {
            "digest_channel": {"type": "conversations_select", "selected_conversation": "C0DIGEST"}
        }
    }
    managers = {
        "digest_dm_users": {
            "digest_dm_users": {"type": "multi_users_select", "selected_users": [ADMIN]}
        }
    }
    submit(app, ADMIN, channel=channel, managers=managers, k=text("digest_min_reps", "5"))
    due = last_due(app.clock.now())
    seed_team(app.reframe.db, reps=50, week=shift_week(week_of(due, "UTC"), -1))
    app.clock.set(due + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    app.reframe.run_jobs_once()  # once per week, however many ticks
    digests = [
        c.params["channel"]
        for c in app.fake.calls("chat.postMessage")
        if (c.params.get("metadata") or {}).get("event_type") == "reframe_digest"
    ]
    assert sorted(digests) == sorted(["C0DIGEST", ADMIN])
