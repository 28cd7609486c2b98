"""The managers' weekly team digest: settings, what it shows for teams of 1, 4, 5
and 50 reps, and end to end: the scheduler posts it once, at its time, to the
channel, with no user id and no note in the payload, whatever retries and
however many processes run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import SettingsError, load_settings
from bot.domain.clock import FixedClock
from bot.domain.questions import QuestionLibrary
from bot.domain.schedule import (
    WeeklySchedule,
    local_to_utc,
    occurrence,
    parse_week,
    shift_week,
    week_of,
)
from bot.processes.cli import main as cli_main
from bot.processes.web import make_http_server, serve_in_thread
from bot.services.digest import DigestService
from bot.slack.digest_blocks import DigestWording, build_digest_blocks, render_text
from bot.storage.db import Database
from bot.storage.models import Checkin, DigestPost, Nudge, Rep
from bot.wiring import Reframe, build
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack, Fault

TEAM = "T0TEAM"
CHANNEL = "C0DIGEST"
SCHEDULE = WeeklySchedule(weekday=0, at=dtime(12, 0), tz="UTC")  # the defaults
NOTE_MARK = "PRIVATE-NOTE"
ANSWERS = ("trust_excitement", "both", "chasing_happiness")
# Anything that looks like a Slack user id (U… or W…, as Slack makes them).
USER_ID = re.compile(r"(?<![A-Za-z0-9])[UW][A-Z0-9]{6,}(?![A-Za-z0-9])")


def user(rep: int) -> str:
    return f"U0REP{rep:04d}"


def last_due(now: datetime) -> datetime:
    """The digest time of last week: in the past, so the fake's message
    timestamps (real time) come after it, as Slack's would."""
    return occurrence(shift_week(week_of(now, "UTC"), -1), SCHEDULE).due_at


def week_start(week: str) -> datetime:
    year, number = parse_week(week)
    return local_to_utc(date.fromisocalendar(year, number, 1), dtime(0, 0), "UTC")


def seed_team(db: Database, *, reps: int, week: str, team: str = TEAM) -> None:
    """`reps` reps, each with an answered check-in (and a private note) in each of
    the 12 weeks up to `week`, and in `week` itself nudges and ratings:
    labeling for everyone (rated, evidence check), mind reading for half,
    competitor bias for three reps and blaming for three others."""
    now = week_start(shift_week(week, 1))
    with db.transaction() as session:
        for rep in range(reps):
            session.add(Rep(team_id=team, user_id=user(rep), created_at=now - timedelta(weeks=13)))
            for back in range(12):
                w = shift_week(week, -back)
                start = week_start(w)
                session.add(
                    Checkin(
                        team_id=team,
                        user_id=user(rep),
                        week=w,
                        due_at=start + timedelta(hours=9),
                        expires_at=start + timedelta(days=7),
                        status="sent",
                        sent_at=start + timedelta(hours=9),
                        answer=ANSWERS[(rep + back) % 3],
                        answered_at=start + timedelta(hours=10),
                        note=f"{NOTE_MARK} {rep}: the Acme buyer is a weasel",
                    )
                )
        nudges = [(rep, "labeling", "evidence-said-done") for rep in range(reps)]
        nudges += [(rep, "mind_reading", "evidence-said-done") for rep in range(0, reps, 2)]
        nudges += [(rep, "competitor_bias,labeling", "swap-lean") for rep in range(min(reps, 3))]
        nudges += [(rep, "blaming", "own-ours") for rep in range(3, min(reps, 6))]
        for number, (rep, traps, question_id) in enumerate(nudges):
            created = week_start(week) + timedelta(days=1, minutes=number)
            session.add(
                Nudge(
                    team_id=team,
                    channel_id="C0DEAL",
                    user_id=user(rep),
                    message_ts=f"1700000000.{number:06d}",
                    trigger="message",
                    traps=traps,
                    question_id=question_id,
                    delivery="ephemeral",
                    status="sent",
                    attempts=1,
                    created_at=created,
                    sent_at=created + timedelta(seconds=2),
                    feedback="helpful" if number % 2 == 0 else "not_for_me",
                    feedback_at=created + timedelta(hours=1),
                )
            )


def digest_service(db: Database, clock: FixedClock, k: int = 5) -> DigestService:
    return DigestService(db=db, clock=clock, library=QuestionLibrary.load(), schedule=SCHEDULE, k=k)


def as_text(service: DigestService, week: str) -> str:
    digest = service.compose(TEAM, week)
    return render_text(build_digest_blocks(digest, DigestWording.load()))


# -- settings -------------------------------------------------------------------


def test_settings_name_where_and_when_and_never_take_k_below_three() -> None:
    settings = load_settings(
        _env_file=None,
        digest_channel=" C0DIGEST ",
        digest_dm_users="U0MGR0001, W0MGR0002",
        digest_weekday="fri",
        digest_time="9:30",
        digest_tz="Europe/Berlin",
        digest_min_reps=7,
    )
    assert settings.digest_destinations == ("C0DIGEST", "U0MGR0001", "W0MGR0002")
    assert (settings.digest_weekday, settings.digest_time) == (4, "09:30")
    assert settings.digest_min_reps == 7
    defaults = load_settings(_env_file=None)
    assert defaults.digest_destinations == () and defaults.digest_min_reps == 5
    assert load_settings(_env_file=None, digest_min_reps=3).digest_min_reps == 3
    with pytest.raises(SettingsError) as error:
        load_settings(
            _env_file=None,
            digest_min_reps=2,
            digest_channel="#sales-leads",
            digest_dm_users="jane",
            digest_tz="Mars/Olympus",
        )
    message = str(error.value)
    for name in ("DIGEST_MIN_REPS", "DIGEST_CHANNEL", "DIGEST_DM_USERS", "DIGEST_TZ"):
        assert name in message
    assert "at least 3" in message


# -- what a digest shows for teams of 1, 4, 5 and 50 ---------------------------------


@pytest.mark.parametrize("reps", [1, 4])
def test_a_team_under_k_gets_not_enough_data_for_every_figure(
    db: Database, clock: FixedClock, reps: int
) -> None:
    week = "2026-W47"
    seed_team(db, reps=reps, week=week)
    text = as_text(digest_service(db, clock), week)
    assert "Not enough data yet to show how the team answered" in text
    assert text.count("Not enough data yet: a figure needs at least 5 reps.") == 2
    assert "Not enough data yet for a trend." in text
    assert "%" not in text and "reps answered" not in text


def test_a_team_of_five_sees_its_figures(db: Database, clock: FixedClock) -> None:
    week = "2026-W47"
    seed_team(db, reps=5, week=week)
    digest = digest_service(db, clock).compose(TEAM, week)
    assert digest.answers is not None and digest.answers.reps == 5
    assert [w.split is not None for w in digest.trend] == [True] * 12
    assert digest.nudges.total is not None and "labeling" in digest.nudges.shown
    text = as_text(digest_service(db, clock), week)
    assert "5 reps answered" in text


def test_a_team_of_five_sees_nothing_when_k_is_raised(db: Database, clock: FixedClock) -> None:
    week = "2026-W47"
    seed_team(db, reps=5, week=week)
    digest = digest_service(db, clock, k=6).compose(TEAM, week)
    assert digest.answers is None and digest.nudges.total is None


def test_a_team_of_fifty_hides_traps_and_moves_under_k(db: Database, clock: FixedClock) -> None:
    week = "2026-W47"
    seed_team(db, reps=50, week=week)
    digest = digest_service(db, clock).compose(TEAM, week)
    assert digest.answers is not None and digest.answers.reps == 50
    nudges = digest.nudges
    assert nudges.total is not None and nudges.total.reps == 50
    # Competitor bias (3 reps) and blaming (3 others) are held back, and cover each other.
    assert set(nudges.shown) == {"labeling", "mind_reading"}
    assert nudges.held_back == ("blaming", "competitor_bias")
    assert nudges.rest is not None and nudges.rest.count == 6 and nudges.rest.reps == 6
    ratings = digest.ratings
    assert ratings.total is not None and set(ratings.shown) == {"evidence_check"}
    assert ratings.held_back == ("ownership", "perspective_swap")
    text = as_text(digest_service(db, clock), week)
    assert "50 reps answered" in text
    assert "Not enough data yet for: Blaming, Competitor bias (together 6 nudges)." in text
    assert "Competitor bias  " not in text  # no row of its own


def test_the_trend_counts_a_week_as_it_stood_when_its_digest_was_due(
    db: Database, clock: FixedClock
) -> None:
    """A check-in still open at the week's digest time never counts for that week,
    so a later digest cannot differ from an earlier one by one rep's answer."""
    week = "2026-W47"
    seed_team(db, reps=6, week=week)
    cutoff = occurrence(shift_week(week, 1), SCHEDULE).due_at
    with db.transaction() as session:
        late = session.scalars(
            select(Checkin).where(Checkin.user_id == user(0), Checkin.week == week)
        ).one()
        late.expires_at = cutoff + timedelta(minutes=1)  # a rep far west of UTC
    digest = digest_service(db, clock).compose(TEAM, week)
    assert digest.answers is not None and digest.answers.reps == 5


def test_default_week_is_the_one_that_ended(db: Database) -> None:
    clock = FixedClock(datetime(2026, 11, 30, 12, 5, tzinfo=UTC))  # Monday of W49
    service = digest_service(db, clock)
    assert service.reported_week(clock.now()) == "2026-W48"
    assert service.compose(TEAM).week == "2026-W48"


# -- end to end: the running app, its scheduler tick, the fake Slack ------------------


@dataclass
class DigestApp:
    reframe: Reframe
    url: str
    fake: FakeSlack
    clock: FixedClock
    settings_overrides: dict[str, Any]

    def posts(self, channel: str | None = None) -> list[Any]:
        calls = self.fake.calls("chat.postMessage")
        return [c for c in calls if channel is None or c.params.get("channel") == channel]

    def rows(self) -> list[DigestPost]:
        with self.reframe.db.transaction() as session:
            return list(session.scalars(select(DigestPost).order_by(DigestPost.id)))


@contextmanager
def running_digest_app(
    database_url: str, fake: FakeSlack, clock: FixedClock, **overrides: Any
) -> Iterator[DigestApp]:
    """The whole bot over HTTP, with a digest channel and any other settings given."""
    overrides = {"digest_channel": CHANNEL, **overrides}
    reframe = build(make_settings(database_url, fake, **overrides), clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield DigestApp(reframe, url, fake, clock, overrides)
    finally:
        server.shutdown()
        server.server_close()
        reframe.shutdown()


@pytest.fixture
def digest_app(database_url: str, fake_slack: FakeSlack, clock: FixedClock) -> Iterator[DigestApp]:
    with running_digest_app(database_url, fake_slack, clock) as app:
        yield app


def test_the_digest_goes_nowhere_until_someone_names_a_channel(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    """No DIGEST_CHANNEL and no workspace choice: the tick posts and plans nothing
    (the job runs, since a workspace's admins may name a channel in App Home)."""
    plain = build(make_settings(database_url, fake_slack), clock=clock)
    try:
        due = last_due(clock.now())
        seed_team(plain.db, reps=50, week=shift_week(week_of(due, "UTC"), -1))
        clock.set(due + timedelta(minutes=1))
        plain.run_jobs_once()
        with plain.db.transaction() as session:
            assert list(session.scalars(select(DigestPost))) == []
        assert fake_slack.calls("chat.postMessage") == []
    finally:
        plain.shutdown()


def test_scheduler_posts_the_digest_once_at_its_time_with_no_id_and_no_note(
    digest_app: DigestApp, database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    app = digest_app
    assert "post_team_digest" in [job.name for job in app.reframe.jobs]
    due = last_due(clock.now())
    reported = shift_week(week_of(due, "UTC"), -1)
    seed_team(app.reframe.db, reps=50, week=reported)

    clock.set(due - timedelta(minutes=1))
    app.reframe.run_jobs_once()
    assert app.posts() == [] and app.rows() == []

    clock.set(due + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    [post] = app.posts(CHANNEL)
    [row] = app.rows()
    assert (row.team_id, row.week, row.status, row.attempts) == (TEAM, reported, "sent", 1)
    assert post.params["metadata"]["event_payload"] == {"week": reported}
    shown = render_text(post.params["blocks"])
    assert "50 reps answered" in shown and "Last 12 weeks" in shown
    assert "Not enough data yet for: Blaming, Competitor bias" in shown

    # A second tick, and a second process sharing the database, post nothing more.
    clock.set(due + timedelta(minutes=2))
    app.reframe.run_jobs_once()
    second = build(make_settings(database_url, fake_slack, **app.settings_overrides), clock=clock)
    try:
        second.run_jobs_once()
    finally:
        second.shutdown()
    assert len(app.posts()) == 1 and len(app.rows()) == 1

    # Nothing about anyone: no user id and no note text anywhere in what was sent.
    payload = json.dumps(post.params, ensure_ascii=False)
    assert USER_ID.findall(payload) == []
    assert NOTE_MARK not in payload and "weasel" not in payload
    assert "U0REP" not in payload


def test_processes_racing_for_the_same_digest_post_it_once(
    digest_app: DigestApp, database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    import threading

    due = last_due(clock.now())
    seed_team(digest_app.reframe.db, reps=5, week=shift_week(week_of(due, "UTC"), -1))
    clock.set(due + timedelta(minutes=1))
    others = [
        build(make_settings(database_url, fake_slack, digest_channel=CHANNEL), clock=clock)
        for _ in range(2)
    ]
    try:
        ticks = [threading.Thread(target=p.digests.post_due) for p in others]  # type: ignore[union-attr]
        ticks.append(threading.Thread(target=digest_app.reframe.digests.post_due))  # type: ignore[union-attr]
        for thread in ticks:
            thread.start()
        for thread in ticks:
            thread.join(30)
    finally:
        for process in others:
            process.shutdown()
    assert len(digest_app.posts(CHANNEL)) == 1
    assert [r.status for r in digest_app.rows()] == ["sent"]


def test_a_failed_post_is_retried_on_a_later_tick(digest_app: DigestApp, clock: FixedClock) -> None:
    app = digest_app
    due = last_due(clock.now())
    seed_team(app.reframe.db, reps=5, week=shift_week(week_of(due, "UTC"), -1))
    app.fake.fail("chat.postMessage", Fault(200, error="internal_error"))
    clock.set(due + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    assert app.posts() == []
    [row] = app.rows()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "internal_error")

    app.reframe.run_jobs_once()  # not yet: the retry waits its backoff
    assert app.posts() == []
    clock.advance(timedelta(minutes=1))
    app.reframe.run_jobs_once()
    assert len(app.posts(CHANNEL)) == 1
    # Tried before, so it looked for an earlier post first.
    assert [c.params["channel"] for c in app.fake.calls("conversations.history")] == [CHANNEL]
    assert [r.status for r in app.rows()] == ["sent"]


def test_a_post_slack_took_before_the_process_died_is_not_posted_again(
    digest_app: DigestApp, clock: FixedClock
) -> None:
    app = digest_app
    due = last_due(clock.now())
    seed_team(app.reframe.db, reps=5, week=shift_week(week_of(due, "UTC"), -1))
    clock.set(due + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    assert len(app.posts(CHANNEL)) == 1
    # As if the process had died after Slack took the post, before marking it.
    with app.reframe.db.transaction() as session:
        row = session.scalars(select(DigestPost)).one()
        row.status, row.delivered, row.sent_at = "sending", None, None
    clock.advance(timedelta(minutes=10))  # the claim's lease ran out
    app.reframe.run_jobs_once()
    assert len(app.posts(CHANNEL)) == 1
    assert [(r.status, r.attempts) for r in app.rows()] == [("sent", 2)]


def test_a_digest_not_posted_before_the_next_one_is_missed(
    digest_app: DigestApp, clock: FixedClock
) -> None:
    app = digest_app
    due = last_due(clock.now())
    seed_team(app.reframe.db, reps=5, week=shift_week(week_of(due, "UTC"), -1))
    app.fake.fail("chat.postMessage", Fault(200, error="internal_error"))
    clock.set(due + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    clock.set(due + timedelta(days=7))  # the next digest's time: it replaces this one
    app.reframe.run_jobs_once()
    statuses = {r.week: r.status for r in app.rows()}
    assert statuses[shift_week(week_of(due, "UTC"), -1)] == "missed"
    assert statuses[week_of(due, "UTC")] == "sent"
    assert len(app.posts(CHANNEL)) == 1


def test_managers_named_in_the_settings_get_it_by_dm_too(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    with running_digest_app(database_url, fake_slack, clock, digest_dm_users="U0MGR0001") as app:
        _post_to_the_channel_and_a_manager(app, clock)


def _post_to_the_channel_and_a_manager(app: DigestApp, clock: FixedClock) -> None:
    due = last_due(clock.now())
    seed_team(app.reframe.db, reps=5, week=shift_week(week_of(due, "UTC"), -1))
    # The DM fails once: the channel is not posted to twice when it is retried.
    app.fake.fail("chat.postMessage", Fault(200), Fault(200, error="internal_error"))
    clock.set(due + timedelta(minutes=1))
    app.reframe.run_jobs_once()
    clock.advance(timedelta(minutes=1))
    app.reframe.run_jobs_once()
    assert [c.params["channel"] for c in app.posts()] == [CHANNEL, "U0MGR0001"]
    [row] = app.rows()
    assert (row.status, row.delivered) == ("sent", f"{CHANNEL},U0MGR0001")
    for post in app.posts():
        assert USER_ID.findall(json.dumps(post.params["blocks"])) == []


# -- python -m bot digest preview ----------------------------------------------------


def test_cli_preview_prints_block_kit_and_text_and_posts_nothing(
    database_url: str,
    db: Database,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    week = "2026-W47"
    seed_team(db, reps=50, week=week)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    for name, value in {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": fake_slack.api_url,
        "DIGEST_CHANNEL": CHANNEL,
    }.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["digest", "preview", "--team", TEAM, "--week", week]) == 0
    out = capsys.readouterr().out
    message, end = json.JSONDecoder().raw_decode(out)
    assert message["text"].startswith("Team digest for week 47")
    assert [b["type"] for b in message["blocks"]][:2] == ["header", "context"]
    text = out[end:]
    assert "Team digest · week 47" in text and "50 reps answered" in text
    assert "```" not in text and "*" not in text
    assert USER_ID.findall(out) == [] and NOTE_MARK not in out
    assert fake_slack.calls() == []

    assert cli_main(["digest", "preview", "--team", TEAM, "--week", week, "--format", "text"]) == 0
    assert capsys.readouterr().out == text.lstrip("\n")
    assert cli_main(["digest", "preview", "--team", TEAM, "--week", "2026-W99"]) == 2
    assert "does not exist" in capsys.readouterr().err
