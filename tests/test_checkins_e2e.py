"""Check-ins end to end over real HTTP: signed commands, buttons, the note modal and
App Home in; the fake Slack Web API out."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.schedule import WeeklySchedule, next_occurrence
from bot.observability import metrics
from bot.processes.cli import main as cli_main
from bot.slack.checkin_blocks import NOTE_BLOCK, NOTE_INPUT, NOTE_VIEW, THE_QUESTION
from bot.storage.models import Checkin, Rep
from tests.conftest import RunningApp, make_settings
from tests.fakes.slack_api import FakeSlack

NEUTRAL = "sent the revised SOW to their procurement team, call booked for Thursday"


def checkins(app: RunningApp) -> list[Checkin]:
    with app.reframe.db.transaction() as session:
        return list(session.scalars(select(Checkin).order_by(Checkin.id)))


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def send_now(app: RunningApp) -> dict[str, Any]:
    """`/reframe checkin now`, then the DM it produced."""
    reply = app.slack.command("checkin now")
    assert reply.status == 200 and "on its way" in reply.json()["text"]
    [call] = app.fake.wait_for("chat.postMessage")
    assert wait_until(lambda: checkins(app)[0].status == "sent")
    return {"channel": call.response["channel"], "ts": call.response["ts"], **call.params}  # type: ignore[index]


def dm_container(posted: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "is_ephemeral": False,
        "channel_id": posted["channel"],
        "message_ts": posted["ts"],
    }


def test_posting_in_a_deal_channel_enrols_without_calling_slack(running_app: RunningApp) -> None:
    assert running_app.slack.message(NEUTRAL).status == 200
    with running_app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", "U0REP"))
        assert rep is not None and rep.checkins_enrolled_at is not None
    assert running_app.fake.calls("users.info") == []  # eligibility waits for the tick


def test_checkin_command_sets_shows_and_is_listed_in_help(running_app: RunningApp) -> None:
    s = running_app.slack
    assert "checkin" in s.command("help").json()["text"]
    text = s.command("checkin fri 16:30").json()["text"]
    assert "Fridays at 16:30" in text
    assert "Fridays at 16:30" in s.command("checkin").json()["text"]
    assert "off" in s.command("checkin off").json()["text"]
    assert "is not a time" in s.command("checkin fri 25:00").json()["text"]
    with running_app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", "U0REP"))
        assert rep is not None and (rep.checkin_weekday, rep.checkin_time) == (4, "16:30")
        assert rep.checkins_enabled is False


def test_answer_button_updates_the_dm_in_place(running_app: RunningApp) -> None:
    posted = send_now(running_app)
    assert posted["text"] == THE_QUESTION
    checkin_id = posted["blocks"][2]["elements"][1]["value"]
    reply = running_app.slack.action(
        "checkin_answer_chasing_happiness",
        checkin_id,
        response_url=running_app.fake.response_url(),
        container=dm_container(posted),
    )
    assert reply.status == 200
    [update] = running_app.fake.wait_for("chat.update")
    assert update.params["channel"] == posted["channel"] and update.params["ts"] == posted["ts"]
    shown = " ".join(str(b.get("text", {}).get("text", "")) for b in update.params["blocks"])
    assert "Chasing happiness" in shown and "feel safe" in shown
    # Changing the answer within the week replaces it; still one message.
    running_app.slack.action(
        "checkin_answer_trust_excitement",
        checkin_id,
        response_url=running_app.fake.response_url(),
        container=dm_container(posted),
    )
    running_app.fake.wait_for("chat.update", 2)
    assert [c.answer for c in checkins(running_app)] == ["trust_excitement"]
    assert len(running_app.fake.calls("chat.postMessage")) == 1


def test_note_modal_opens_and_stores_the_reflection(running_app: RunningApp) -> None:
    posted = send_now(running_app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    reply = running_app.slack.action(
        "checkin_note",
        checkin_id,
        response_url=running_app.fake.response_url(),
        container=dm_container(posted),
    )
    assert reply.status == 200
    [opened] = running_app.fake.wait_for("views.open")
    assert opened.params["trigger_id"] == "1337.42.abcd"
    view = opened.params["view"]
    assert view["callback_id"] == NOTE_VIEW and view["private_metadata"] == checkin_id
    submitted = running_app.slack.view_submission(
        NOTE_VIEW,
        {NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": "I over-promised"}}},
        private_metadata=checkin_id,
    )
    assert submitted.status == 200
    assert [c.note for c in checkins(running_app)] == ["I over-promised"]
    # Opening it again shows the note to edit.
    running_app.slack.action(
        "checkin_note",
        checkin_id,
        response_url=running_app.fake.response_url(),
        container=dm_container(posted),
    )
    reopened = running_app.fake.wait_for("views.open", 2)[-1].params["view"]
    assert reopened["blocks"][0]["element"]["initial_value"] == "I over-promised"


def test_note_after_the_week_is_refused_in_the_modal(running_app: RunningApp) -> None:
    posted = send_now(running_app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    running_app.clock.advance(timedelta(days=8))
    submitted = running_app.slack.view_submission(
        NOTE_VIEW,
        {NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": "late"}}},
        private_metadata=checkin_id,
    )
    assert submitted.status == 200
    assert submitted.json()["response_action"] == "errors"
    assert [c.note for c in checkins(running_app)] == [None]


def test_app_home_shows_twelve_weeks_and_pauses(running_app: RunningApp) -> None:
    posted = send_now(running_app)
    running_app.slack.action(
        "checkin_answer_both",
        posted["blocks"][2]["elements"][2]["value"],
        response_url=running_app.fake.response_url(),
        container=dm_container(posted),
    )
    running_app.fake.wait_for("chat.update")
    event = {"type": "app_home_opened", "user": "U0REP", "channel": "D0REP", "tab": "home"}
    assert running_app.slack.event(event).status == 200
    [published] = running_app.fake.wait_for("views.publish")
    assert published.params["user_id"] == "U0REP"
    view = published.params["view"]
    assert view["type"] == "home"
    weeks = next(b for b in view["blocks"] if b.get("block_id") == "checkin_weeks")
    marks = weeks["text"]["text"].split("\n")[1].split(" ")
    assert len(marks) == 12 and marks[-1] == ":large_yellow_circle:"
    assert marks[:-1] == [":white_circle:"] * 11
    toggle = next(b for b in view["blocks"] if b.get("block_id") == "checkin_toggle")
    assert toggle["elements"][0]["action_id"] == "checkin_home_pause"
    running_app.slack.action(
        "checkin_home_pause", "pause", response_url=running_app.fake.response_url()
    )
    republished = running_app.fake.wait_for("views.publish", 2)[-1].params["view"]
    toggle = next(b for b in republished["blocks"] if b.get("block_id") == "checkin_toggle")
    assert toggle["elements"][0]["action_id"] == "checkin_home_resume"
    with running_app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", "U0REP"))
        assert rep is not None and rep.checkins_enabled is False


def test_scheduler_tick_sends_via_the_jobs_list(running_app: RunningApp) -> None:
    running_app.slack.message(NEUTRAL)
    names = [job.name for job in running_app.reframe.jobs]
    assert "send_due_checkins" in names
    # A little after the next Monday 09:00 in Los Angeles (the rep's zone in the fake).
    los_angeles = WeeklySchedule(weekday=0, at=dtime(9, 0), tz="America/Los_Angeles")
    due = next_occurrence(running_app.clock.now(), los_angeles).due_at
    running_app.clock.set(due + timedelta(minutes=5))
    running_app.reframe.run_jobs_once()
    assert [c.params["channel"] for c in running_app.fake.calls("chat.postMessage")] == ["U0REP"]
    running_app.reframe.run_jobs_once()
    assert len(running_app.fake.calls("chat.postMessage")) == 1


def test_cli_send_due_prints_what_it_sent(
    database_url: str,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    settings = make_settings(database_url, fake_slack)
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": database_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade

    db = Database.connect(database_url)
    upgrade(db.engine)
    enrolled = datetime(2026, 11, 16, tzinfo=UTC)
    with db.transaction() as session:
        session.add(Rep(team_id="T0TEAM", user_id="U0REP", created_at=enrolled))
        session.flush()
        session.get(Rep, ("T0TEAM", "U0REP")).checkins_enrolled_at = enrolled  # type: ignore[union-attr]
    db.dispose()
    assert cli_main(["checkins", "send-due", "--at", "2026-11-23T16:59:00Z"]) == 0
    assert "sent 0" in capsys.readouterr().out  # 08:59 in Los Angeles
    assert cli_main(["checkins", "send-due", "--at", "2026-11-23T17:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "sent T0TEAM U0REP 2026-W48" in out
    assert len(fake_slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("when", ["fri 4:30pm", "fri 4:30 pm", "Fri 4.30 p.m."])
def test_checkin_command_takes_a_twelve_hour_time(running_app: RunningApp, when: str) -> None:
    text = running_app.slack.command(f"checkin {when}").json()["text"]
    assert text.startswith("Done.") and "Fridays at 16:30" in text
    with running_app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", "U0REP"))
        assert rep is not None and (rep.checkin_weekday, rep.checkin_time) == (4, "16:30")


def test_weeks_read_as_people_say_them(running_app: RunningApp) -> None:
    reply = running_app.slack.command("checkin skip").json()["text"]
    assert "check-in of the week of " in reply and "-W" not in reply


def test_an_on_demand_check_in_and_its_answer_are_counted(running_app: RunningApp) -> None:
    sent, answered = metrics.value("checkins_sent"), metrics.value("checkins_answered")
    posted = send_now(running_app)
    assert wait_until(lambda: metrics.value("checkins_sent") == sent + 1)
    running_app.slack.action(
        "checkin_answer_both",
        posted["blocks"][2]["elements"][2]["value"],
        response_url=running_app.fake.response_url(),
        container=dm_container(posted),
    )
    running_app.fake.wait_for("chat.update")
    assert metrics.value("checkins_answered") == answered + 1


def test_a_schedule_is_never_announced_in_a_zone_that_later_moves(running_app: RunningApp) -> None:
    """Before Slack has told us the rep's zone the reply speaks of their own time, and
    the zone is looked up after the answer; from then on it is named."""
    first = running_app.slack.command("checkin fri 4:30pm").json()["text"]
    assert "Fridays at 16:30 in your own time zone" in first and "UTC" not in first
    assert wait_until(lambda: rep_tz(running_app) == "America/Los_Angeles")
    later = running_app.slack.command("checkin").json()["text"]
    assert "Fridays at 16:30 (America/Los_Angeles)" in later


def rep_tz(app: RunningApp) -> str | None:
    with app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", "U0REP"))
        return rep.tz if rep is not None else None
