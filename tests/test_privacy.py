"""Letting go of data: forget-me, uninstall, export and retention."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.clock import FixedClock
from bot.processes.cli import main as cli_main
from bot.processes.web import make_http_server, serve_in_thread
from bot.services.privacy import Deleted, PrivacyService, parse_age
from bot.slack.listeners.privacy import FORGET_CANCEL, FORGET_CONFIRM
from bot.storage.db import Database
from bot.storage.models import Channel, Checkin, Nudge, Rep
from bot.wiring import build
from tests.conftest import RunningApp, make_settings, wait_until_idle
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSender

TEAM_A, TEAM_B = "T0TEAM", "T0OTHER"
REP, OTHER_REP = "U0REP", "U0OTHER"


def seed(db: Database, *, team_id: str, user_id: str, at: datetime, tag: str = "1") -> None:
    """One rep's worth of everything we store: settings, a nudge with feedback,
    an answered check-in with a note, and a channel choice in their workspace."""
    with db.transaction() as session:
        session.merge(
            Rep(team_id=team_id, user_id=user_id, created_at=at, tz="Europe/Paris", eligible=True)
        )
        session.add(
            Nudge(
                team_id=team_id,
                channel_id="C0DEAL",
                user_id=user_id,
                message_ts=f"1700000000.{tag}",
                trigger="message",
                traps="labeling,fortune_telling",
                question_id="labeling-01",
                delivery="ephemeral",
                status="sent",
                attempts=1,
                created_at=at,
                sent_at=at,
                feedback="helpful",
                feedback_at=at,
            )
        )
        session.add(
            Checkin(
                team_id=team_id,
                user_id=user_id,
                week=f"2026-W{tag:0>2}"[:8],
                due_at=at,
                status="sent",
                attempts=1,
                answer="both",
                answered_at=at,
                note=f"private note {team_id} {user_id}",
                note_updated_at=at,
            )
        )
        session.merge(Channel(team_id=team_id, channel_id="C0DEAL", mode="thread", updated_at=at))


def counts(db: Database, *, team_id: str, user_id: str | None = None) -> dict[str, int]:
    found = {}
    with db.transaction() as session:
        for name, model in (("nudges", Nudge), ("checkins", Checkin), ("reps", Rep)):
            query = select(func.count()).select_from(model).where(model.team_id == team_id)
            if user_id is not None:
                query = query.where(model.user_id == user_id)
            if model is Rep:  # forget-me's bare "leave me out" rows are counted apart
                found["opted_out"] = session.scalar(query.where(Rep.opted_out_at.is_not(None))) or 0
                query = query.where(Rep.opted_out_at.is_(None))
            found[name] = session.scalar(query) or 0
        found["channels"] = (
            session.scalar(
                select(func.count()).select_from(Channel).where(Channel.team_id == team_id)
            )
            or 0
        )
    return found


# -- the service ----------------------------------------------------------


def test_forget_rep_deletes_only_that_rep_in_that_workspace(
    db: Database, clock: FixedClock
) -> None:
    now = clock.now()
    seed(db, team_id=TEAM_A, user_id=REP, at=now)
    seed(db, team_id=TEAM_A, user_id=OTHER_REP, at=now, tag="2")
    seed(db, team_id=TEAM_B, user_id=REP, at=now, tag="3")  # same user id, other workspace

    deleted = PrivacyService(db=db, clock=clock).forget_rep(team_id=TEAM_A, user_id=REP)

    assert deleted == Deleted(nudges=1, checkins=1, reps=1)
    assert counts(db, team_id=TEAM_A, user_id=REP) == {
        "nudges": 0,
        "checkins": 0,
        "reps": 0,
        "opted_out": 1,
        "channels": 1,  # a channel's setting belongs to the channel, not the rep
    }
    assert counts(db, team_id=TEAM_A, user_id=OTHER_REP)["nudges"] == 1
    assert counts(db, team_id=TEAM_B, user_id=REP) == {
        "nudges": 1,
        "checkins": 1,
        "reps": 1,
        "opted_out": 0,
        "channels": 1,
    }


def test_forget_team_deletes_the_workspace_and_nothing_else(
    db: Database, clock: FixedClock
) -> None:
    seed(db, team_id=TEAM_A, user_id=REP, at=clock.now())
    seed(db, team_id=TEAM_A, user_id=OTHER_REP, at=clock.now(), tag="2")
    seed(db, team_id=TEAM_B, user_id=REP, at=clock.now(), tag="3")

    deleted = PrivacyService(db=db, clock=clock).forget_team(TEAM_A)

    assert deleted == Deleted(nudges=2, checkins=2, reps=2, channels=1)
    assert counts(db, team_id=TEAM_A) == {
        "nudges": 0,
        "checkins": 0,
        "reps": 0,
        "opted_out": 0,
        "channels": 0,
    }
    assert counts(db, team_id=TEAM_B) == {
        "nudges": 1,
        "checkins": 1,
        "reps": 1,
        "opted_out": 0,
        "channels": 1,
    }


def test_export_has_nudges_checkins_and_settings_of_one_rep(
    db: Database, clock: FixedClock
) -> None:
    seed(db, team_id=TEAM_A, user_id=REP, at=clock.now())
    seed(db, team_id=TEAM_B, user_id=REP, at=clock.now(), tag="3")

    exported = PrivacyService(db=db, clock=clock).export_rep(team_id=TEAM_A, user_id=REP)

    json.dumps(exported)  # plain JSON values only
    [nudge] = exported["nudges"]
    assert nudge["traps"] == ["labeling", "fortune_telling"]
    assert nudge["question_id"] == "labeling-01"
    assert nudge["feedback"] == "helpful"
    assert nudge["created_at"] == clock.now().isoformat()
    [checkin] = exported["checkins"]
    assert checkin["answer"] == "both"
    assert checkin["note"] == f"private note {TEAM_A} {REP}"
    assert exported["settings"]["tz"] == "Europe/Paris"
    assert exported["settings"]["created_at"] == clock.now().isoformat()
    assert {"checkins_enabled", "nudges_paused_until"} <= set(exported["settings"])


def test_export_of_an_unknown_rep_is_empty(db: Database, clock: FixedClock) -> None:
    exported = PrivacyService(db=db, clock=clock).export_rep(team_id=TEAM_A, user_id="U0NOBODY")
    assert exported["settings"] is None
    assert exported["nudges"] == [] and exported["checkins"] == []


def test_purge_removes_only_rows_older_than_the_retention(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    seed(db, team_id=TEAM_A, user_id=REP, at=now - timedelta(days=400), tag="1")
    seed(db, team_id=TEAM_B, user_id=REP, at=now - timedelta(days=400), tag="2")
    seed(db, team_id=TEAM_A, user_id=OTHER_REP, at=now - timedelta(days=10), tag="3")

    deleted = PrivacyService(db=db, clock=clock).purge_older_than(timedelta(days=365))

    assert deleted == Deleted(nudges=2, checkins=2)
    assert counts(db, team_id=TEAM_A, user_id=OTHER_REP)["nudges"] == 1
    assert counts(db, team_id=TEAM_A, user_id=REP)["reps"] == 1  # settings stay


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("365d", timedelta(days=365)),
        ("52w", timedelta(weeks=52)),
        ("12h", timedelta(hours=12)),
        ("30", timedelta(days=30)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "-3d", "1y", "d", "12 hours"])
def test_parse_age_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        parse_age(text)


# -- the command line -----------------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli_main(list(argv))
    return code, out.getvalue()


def test_cli_export_writes_the_reps_json(
    db: Database, database_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db, team_id=TEAM_A, user_id=REP, at=clock.now())
    seed(db, team_id=TEAM_B, user_id=REP, at=clock.now(), tag="3")

    code, out = run_cli(
        monkeypatch, database_url, "data", "export", "--team", TEAM_A, "--user", REP
    )

    assert code == 0
    exported = json.loads(out)
    assert exported["team_id"] == TEAM_A and exported["user_id"] == REP
    assert [c["note"] for c in exported["checkins"]] == [f"private note {TEAM_A} {REP}"]
    assert len(exported["nudges"]) == 1


def test_cli_purge_deletes_old_rows_and_prints_counts(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now().astimezone()
    seed(db, team_id=TEAM_A, user_id=REP, at=now - timedelta(days=60), tag="1")
    seed(db, team_id=TEAM_A, user_id=OTHER_REP, at=now - timedelta(days=1), tag="2")

    code, out = run_cli(monkeypatch, database_url, "data", "purge", "--older-than", "4w")

    assert code == 0
    assert "1 nudge" in out and "1 check-in" in out
    assert counts(db, team_id=TEAM_A) == {
        "nudges": 1,
        "checkins": 1,
        "reps": 2,
        "opted_out": 0,
        "channels": 1,
    }


def test_cli_purge_defaults_to_the_retention_setting(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now().astimezone()
    seed(db, team_id=TEAM_A, user_id=REP, at=now - timedelta(days=20), tag="1")
    monkeypatch.setenv("DATA_RETENTION_DAYS", "10")

    code, _ = run_cli(monkeypatch, database_url, "data", "purge")

    assert code == 0
    assert counts(db, team_id=TEAM_A)["nudges"] == 0


def test_cli_purge_refuses_a_malformed_age(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    seed(db, team_id=TEAM_A, user_id=REP, at=datetime.now().astimezone() - timedelta(days=900))
    code, _ = run_cli(monkeypatch, database_url, "data", "purge", "--older-than", "soon")
    assert code == 2
    assert "365d" in capsys.readouterr().err
    assert counts(db, team_id=TEAM_A)["nudges"] == 1


# -- end to end: /reframe forget-me ---------------------------------------


def test_forget_me_asks_first_and_deletes_nothing_yet(running_app: RunningApp) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id=REP, at=app.clock.now())

    reply = app.slack.command("forget-me")

    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    buttons = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Yes, delete my data", "Cancel"]
    assert buttons[0]["action_id"] == FORGET_CONFIRM and buttons[0]["style"] == "danger"
    assert counts(app.reframe.db, team_id=TEAM_A, user_id=REP)["nudges"] == 1


def test_forget_me_confirmed_deletes_and_replaces_the_message(running_app: RunningApp) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id=REP, at=app.clock.now())
    seed(app.reframe.db, team_id=TEAM_A, user_id=OTHER_REP, at=app.clock.now(), tag="2")
    value = _confirm_value(app)

    reply = app.slack.action(FORGET_CONFIRM, value, response_url=app.fake.response_url("fm"))

    assert reply.status == 200
    [answer] = app.fake.wait_for("response_url")
    assert answer.params["replace_original"] is True
    assert "Deleted 1 nudge(s), 1 check-in(s)" in answer.params["text"]
    assert counts(app.reframe.db, team_id=TEAM_A, user_id=REP) == {
        "nudges": 0,
        "checkins": 0,
        "reps": 0,
        "opted_out": 1,
        "channels": 1,
    }
    assert counts(app.reframe.db, team_id=TEAM_A, user_id=OTHER_REP)["checkins"] == 1


def test_forget_me_button_clicked_by_someone_else_deletes_nothing(
    running_app: RunningApp,
) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id=REP, at=app.clock.now())
    value = _confirm_value(app)

    app.slack.action(FORGET_CONFIRM, value, user=OTHER_REP, response_url=app.fake.response_url())
    app.slack.action(
        FORGET_CONFIRM, value, team=TEAM_B, response_url=app.fake.response_url("other-team")
    )

    answers = app.fake.wait_for("response_url", 2)
    assert len(answers) == 2
    assert all(a.params.get("replace_original") is False for a in answers)
    assert all("nothing was deleted" in a.params["text"] for a in answers)
    assert counts(app.reframe.db, team_id=TEAM_A, user_id=REP)["nudges"] == 1


def test_forget_me_cancel_keeps_everything(running_app: RunningApp) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id=REP, at=app.clock.now())

    app.slack.action(FORGET_CANCEL, "cancel", response_url=app.fake.response_url())

    [answer] = app.fake.wait_for("response_url")
    assert answer.params["replace_original"] is True
    assert "Nothing was deleted" in answer.params["text"]
    assert counts(app.reframe.db, team_id=TEAM_A, user_id=REP)["nudges"] == 1


def test_forget_me_is_listed_in_help(running_app: RunningApp) -> None:
    reply = running_app.slack.command("help")
    assert "/reframe forget-me" in json.dumps(reply.json())


# -- end to end: uninstall ------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
def test_uninstall_deletes_the_workspaces_data(running_app: RunningApp, event: dict) -> None:  # type: ignore[type-arg]
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id=REP, at=app.clock.now())
    seed(app.reframe.db, team_id=TEAM_B, user_id=REP, at=app.clock.now(), tag="2")

    assert app.slack.event(event).status == 200

    assert counts(app.reframe.db, team_id=TEAM_A) == {
        "nudges": 0,
        "checkins": 0,
        "reps": 0,
        "opted_out": 0,
        "channels": 0,
    }
    assert counts(app.reframe.db, team_id=TEAM_B)["nudges"] == 1


def test_revoking_only_a_user_token_keeps_the_workspaces_data(running_app: RunningApp) -> None:
    app = running_app
    seed(app.reframe.db, team_id=TEAM_A, user_id=REP, at=app.clock.now())
    event = {"type": "tokens_revoked", "tokens": {"oauth": ["U0INSTALLER"], "bot": []}}

    assert app.slack.event(event).status == 200

    assert counts(app.reframe.db, team_id=TEAM_A)["nudges"] == 1


def _confirm_value(app: RunningApp) -> str:
    body = app.slack.command("forget-me").json()
    buttons = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return str(buttons[0]["value"])


def test_database_errors_never_carry_the_values_that_were_sent(db: Database) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as failure, db.transaction() as session:
        session.execute(
            text("insert into no_such_table (note) values (:note)"),
            {"note": "canary: my private check-in note"},
        )
    assert "canary" not in str(failure.value)
    assert "hidden" in str(failure.value)


# -- forget-me means "leave me out", in every process --------------------------------


VENT = "their DM is a jerk tbh, he'll never give us a shot"


def rep_row(db: Database, user_id: str = REP) -> Rep | None:
    with db.transaction() as session:
        return session.get(Rep, (TEAM_A, user_id))


def test_forget_me_leaves_the_rep_out_in_every_process_until_they_opt_in(
    running_app: RunningApp, database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    """Process B enrolled the rep (and remembers doing so); the rep says forget-me
    through process A. Posting again through either process, or a third one,
    neither enrols nor nudges them; `/reframe checkin on` brings them back."""
    a = running_app
    b_app = build(make_settings(database_url, fake_slack), clock=clock)
    server = make_http_server(b_app.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    b = SlackSender(f"http://127.0.0.1:{server.server_address[1]}")
    c_app = build(make_settings(database_url, fake_slack), clock=clock)  # a third, fresh one
    try:
        assert b.message("call booked for Thursday", ts="1700000400.000001").status == 200
        enrolled = rep_row(a.reframe.db)
        assert enrolled is not None and enrolled.checkins_enrolled_at is not None

        value = _confirm_value(a)
        assert (
            a.slack.action(FORGET_CONFIRM, value, response_url=fake_slack.response_url()).status
            == 200
        )
        [answer] = fake_slack.wait_for("response_url")
        assert "left out" in answer.params["text"]

        # The rep vents through each process: no enrolment, no nudge, no row but the mark.
        assert b.message(VENT, ts="1700000400.000002").status == 200
        assert a.slack.message(VENT, ts="1700000400.000003").status == 200
        c_app.checkins.on_rep_seen(TEAM_A, REP)
        for process in (a.reframe, b_app):
            wait_until_idle(process)  # not shut down: A nudges the rep once they are back
        row = rep_row(a.reframe.db)
        assert row is not None and row.opted_out_at is not None
        assert (row.checkins_enrolled_at, row.tz, row.checkin_time) == (None, None, None)
        assert counts(a.reframe.db, team_id=TEAM_A, user_id=REP)["nudges"] == 0
        assert fake_slack.calls("chat.postEphemeral") == []

        assert b.command("checkin on").status == 200
        back = rep_row(a.reframe.db)
        assert back is not None and back.opted_out_at is None
        assert back.checkins_enrolled_at is not None
        assert a.slack.message(VENT, ts="1700000400.000004").status == 200
        [nudge] = fake_slack.wait_for("chat.postEphemeral")
        assert nudge.params["user"] == REP
    finally:
        server.shutdown()
        server.server_close()
        b_app.shutdown()
        c_app.shutdown()
