"""Weekly check-ins against a real database and the fake Slack Web API over HTTP:
due times, exactly once under races, crashes and Slack faults, reminders, answers."""

from __future__ import annotations

import threading
import time as wallclock
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot.domain.clock import FixedClock
from bot.domain.schedule import WeeklySchedule
from bot.services.checkins import CheckinDelivery, CheckinService, OutgoingCheckin
from bot.slack.checkin_blocks import THE_QUESTION, CheckinContent
from bot.slack.checkin_client import METADATA_EVENT, REMINDER_EVENT, SlackCheckins
from bot.slack.client import build_web_client
from bot.storage.db import Database
from bot.storage.models import Checkin, Rep
from tests.fakes.slack_api import Call, FakeSlack, Fault

TEAM = "T0TEAM"
# Monday 23 November 2026 (ISO week 2026-W48); the workspace default is Mondays 09:00 UTC.
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
DEFAULT = WeeklySchedule(weekday=0, at=time(9, 0), tz="UTC")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY - timedelta(days=7))  # enrolments happen the week before


def make_service(
    db: Database, slack: FakeSlack, clock: FixedClock, *, timeout: int = 5, **options: object
) -> CheckinService:
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    gateway = SlackCheckins(
        client_for=lambda _team: client,
        content=CheckinContent.load(),
        make_client=lambda token, base_url: build_web_client(
            token=token, base_url=base_url, timeout=timeout, retries=False
        ),
    )
    delivery = CheckinDelivery(
        db=db,
        clock=clock,
        slack=gateway,
        default_schedule=DEFAULT,
        **options,  # type: ignore[arg-type]
    )
    # Delivery is under test here: a post in a deal channel enrols (the `auto` join mode).
    return CheckinService(db=db, clock=clock, delivery=delivery, join_mode="auto")


@pytest.fixture
def service(db: Database, slack: FakeSlack, clock: FixedClock) -> CheckinService:
    return make_service(db, slack, clock)


def enrol(service: CheckinService, slack: FakeSlack, *users: str, tz: str | None = None) -> None:
    for user in users:
        slack.add_user(user, tz=tz) if tz else slack.add_user(user)
        service.on_rep_seen(TEAM, user)


def posts(slack: FakeSlack) -> list[str]:
    """Who got a check-in DM (not counting reminders)."""
    return [c.params["channel"] for c in posted(slack, METADATA_EVENT)]


def posted(slack: FakeSlack, event_type: str) -> list[Call]:
    """Our chat.postMessage calls whose message metadata names this event type."""
    calls = slack.calls("chat.postMessage")
    return [c for c in calls if (c.params.get("metadata") or {}).get("event_type") == event_type]


def checkin(db: Database, user: str) -> Checkin:
    with db.transaction() as session:
        return session.scalars(select(Checkin).where(Checkin.user_id == user)).one()


def test_sends_the_question_once_at_the_due_time(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    enrol(service, slack, "U1")
    clock.set(MONDAY + timedelta(hours=8, minutes=59))
    assert not service.send_due().sent
    clock.set(MONDAY + timedelta(hours=9))
    report = service.send_due()
    assert [(s.user_id, s.week) for s in report.sent] == [("U1", "2026-W48")]
    [call] = slack.calls("chat.postMessage")
    assert call.params["channel"] == "U1"
    assert call.params["text"] == THE_QUESTION
    assert call.params["blocks"][0]["text"]["text"] == f"*{THE_QUESTION}*"
    labels = [e["text"]["text"] for e in call.params["blocks"][2]["elements"]]
    assert labels[:3] == ["Building trust & excitement", "Chasing happiness", "A bit of both"]
    clock.advance(timedelta(hours=1))
    assert not service.send_due().sent
    row = checkin(db, "U1")
    assert row.status == "sent" and row.dm_channel_id == "D1" and row.message_ts
    assert len(slack.calls("users.info")) == 1  # the profile is cached for a day


def test_los_angeles_and_berlin_reps_get_it_at_their_own_nine(
    service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "ULA", tz="America/Los_Angeles")
    enrol(service, slack, "UBER", tz="Europe/Berlin")
    enrol(service, slack, "UNOTZ")  # no zone in the profile: the workspace default (UTC)
    clock.set(MONDAY + timedelta(hours=8))  # 09:00 in Berlin
    assert [s.user_id for s in service.send_due().sent] == ["UBER"]
    clock.set(MONDAY + timedelta(hours=9))
    assert [s.user_id for s in service.send_due().sent] == ["UNOTZ"]
    clock.set(MONDAY + timedelta(hours=17))  # 09:00 in Los Angeles
    assert [s.user_id for s in service.send_due().sent] == ["ULA"]
    assert sorted(posts(slack)) == ["UBER", "ULA", "UNOTZ"]


def test_bots_deleted_users_and_guests_are_never_sent_anything(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    slack.add_user("UBOTX", is_bot=True)
    slack.add_user("UGONE", deleted=True)
    slack.add_user("UGUEST", is_restricted=True)
    slack.add_user("USINGLE", is_ultra_restricted=True)
    for user in ("UBOTX", "UGONE", "UGUEST", "USINGLE", "UNOBODY"):
        service.on_rep_seen(TEAM, user)
    enrol(service, slack, "UREAL")
    clock.set(MONDAY + timedelta(hours=10))
    assert [s.user_id for s in service.send_due().sent] == ["UREAL"]
    with db.transaction() as session:
        eligible = dict(session.execute(select(Rep.user_id, Rep.eligible)).all())
    assert eligible == {
        "UBOTX": False,
        "UGONE": False,
        "UGUEST": False,
        "USINGLE": False,
        "UNOBODY": False,
        "UREAL": True,
    }


def test_enrolment_is_cached_in_memory_and_survives_restarts(
    db: Database, slack: FakeSlack, clock: FixedClock, service: CheckinService
) -> None:
    enrol(service, slack, "U1")
    with db.transaction() as session:
        session.execute(update(Rep).values(checkin_time="07:30"))
    service.on_rep_seen(TEAM, "U1")  # known: no write, so the rep's choice is untouched
    restarted = make_service(db, slack, clock)
    clock.set(MONDAY + timedelta(hours=7, minutes=30))
    assert [s.user_id for s in restarted.send_due().sent] == ["U1"]
    assert slack.calls("auth.test") == [] and len(slack.calls("users.info")) == 1


def test_missed_tick_still_sends_that_week_but_not_after_it(
    service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "U1")
    clock.set(MONDAY + timedelta(days=3, hours=14))  # down from Monday 09:00 to Thursday
    assert [s.week for s in service.send_due().sent] == ["2026-W48"]
    clock.set(MONDAY + timedelta(days=8))  # the next Tuesday 00:00: W49's is owed, W48 is done
    assert service.send_due().sent == []  # ...but a late check-in never arrives at night
    clock.set(MONDAY + timedelta(days=8, hours=8))  # the rep's morning
    assert [s.week for s in service.send_due().sent] == ["2026-W49"]
    assert len(posts(slack)) == 2


def test_two_schedulers_at_once_send_one_dm_per_rep(
    database_url: str, slack: FakeSlack, clock: FixedClock, service: CheckinService
) -> None:
    users = [f"U{i:03d}" for i in range(40)]
    enrol(service, slack, *users)
    clock.set(MONDAY + timedelta(hours=9))
    others = [Database.connect(database_url) for _ in range(2)]
    services = [make_service(db, slack, clock) for db in others]
    start = threading.Barrier(len(services))

    def tick(each: CheckinService) -> None:
        start.wait()
        each.send_due()

    threads = [threading.Thread(target=tick, args=(each,)) for each in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in others:
        db.dispose()
    assert Counter(posts(slack)) == Counter(users)


def test_crash_after_claiming_is_recovered_after_the_lease(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    enrol(service, slack, "U1")
    clock.set(MONDAY + timedelta(hours=9))
    service.refresh_profiles()
    service.delivery._plan(clock.now())
    with db.transaction() as session:  # a process claims it, then dies before posting
        assert service.delivery._claim(session, clock.now()) is not None
    assert not service.send_due().sent  # the claim is still fresh
    clock.advance(timedelta(minutes=3))
    assert [s.user_id for s in service.send_due().sent] == ["U1"]
    assert posts(slack) == ["U1"]


def test_crash_after_posting_does_not_post_twice(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    enrol(service, slack, "U1")
    clock.set(MONDAY + timedelta(hours=9))
    service.refresh_profiles()
    service.delivery._plan(clock.now())
    with db.transaction() as session:
        claim = service.delivery._claim(session, clock.now())
    assert claim is not None
    # Posted, then the process died before marking it sent.
    service.delivery._slack.post_checkin(OutgoingCheckin(claim.id, TEAM, "U1", claim.week))
    clock.advance(timedelta(minutes=3))
    assert [s.user_id for s in service.send_due().sent] == ["U1"]
    assert posts(slack) == ["U1"]
    assert checkin(db, "U1").message_ts == slack.calls("chat.postMessage")[0].response["ts"]  # type: ignore[index]


def test_timeout_after_slack_took_the_message_is_not_a_duplicate(
    db: Database, slack: FakeSlack, clock: FixedClock
) -> None:
    service = make_service(db, slack, clock, timeout=1)
    enrol(service, slack, "U1")
    slack.fail("chat.postMessage", Fault(200, delay=1.5))  # posts, but answers too late
    clock.set(MONDAY + timedelta(hours=9))
    report = service.send_due()
    assert not report.sent and report.retrying == 1
    assert checkin(db, "U1").status == "pending"
    clock.advance(timedelta(minutes=1))
    assert [s.user_id for s in service.send_due().sent] == ["U1"]
    assert posts(slack) == ["U1"]
    assert len(slack.calls("conversations.history")) == 1


def test_429_honours_retry_after_for_all_workers_without_duplicates(
    service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    users = [f"U{i:02d}" for i in range(12)]
    enrol(service, slack, *users)
    slack.fail("chat.postMessage", Fault(429, retry_after=1))
    clock.set(MONDAY + timedelta(hours=9))
    started = wallclock.time()
    report = service.send_due()
    assert len(report.sent) == 12
    assert slack.rejected("chat.postMessage") == 1
    assert Counter(posts(slack)) == Counter(users)
    calls = slack.calls("chat.postMessage")
    assert max(c.at for c in calls) - started >= 0.9  # the refused post waited Retry-After


def test_500_is_retried_with_backoff_on_a_later_tick(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    enrol(service, slack, "U1", "U2")
    slack.fail("chat.postMessage", Fault(500), Fault(500))
    clock.set(MONDAY + timedelta(hours=9))
    report = service.send_due()
    assert len(report.sent) == 0 and report.retrying == 2
    row = checkin(db, "U1")
    assert row.status == "pending" and row.last_error == "http_500"
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert not service.send_due().sent  # not before the backoff
    clock.advance(timedelta(seconds=30))
    assert len(service.send_due().sent) == 2
    assert Counter(posts(slack)) == Counter(["U1", "U2"])


def test_gives_up_after_the_attempt_limit_and_reports_failed(
    db: Database, slack: FakeSlack, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(db, slack, clock, max_attempts=2)
    enrol(service, slack, "U1")
    slack.fail("chat.postMessage", *[Fault(500)] * 5)
    clock.set(MONDAY + timedelta(hours=9))
    service.send_due()
    clock.advance(timedelta(minutes=5))
    assert service.send_due().failed == 1
    row = checkin(db, "U1")
    assert row.status == "failed" and row.attempts == 2
    assert "giving up" in caplog.text
    clock.advance(timedelta(hours=1))
    service.send_due()
    assert posts(slack) == []


def test_unsendable_until_the_week_ends_is_missed(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    enrol(service, slack, "U1")
    slack.fail("chat.postMessage", Fault(500))
    clock.set(MONDAY + timedelta(days=6, hours=23, minutes=59, seconds=50))
    service.send_due()
    clock.set(MONDAY + timedelta(days=7, minutes=1))
    assert service.send_due().missed == 1
    assert checkin(db, "U1").status == "missed"


def test_one_reminder_after_a_day_without_an_answer(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    enrol(service, slack, "U1", "U2")
    clock.set(MONDAY + timedelta(hours=9))
    service.send_due()
    answered = checkin(db, "U2")
    service.record_answer(team_id=TEAM, user_id="U2", checkin_id=answered.id, answer="both")
    clock.advance(timedelta(hours=23))
    assert service.send_due().reminded == 0
    clock.advance(timedelta(hours=1))
    assert service.send_due().reminded == 1
    clock.advance(timedelta(days=1))
    assert service.send_due().reminded == 0
    reminders = posted(slack, REMINDER_EVENT)
    assert [c.params["channel"] for c in reminders] == ["D1"]
    assert checkin(db, "U1").reminder_status == "sent"


def sent_a_day_ago(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, *users: str
) -> None:
    """Each rep got this week's check-in yesterday and has not answered: a reminder is due."""
    enrol(service, slack, *users)
    clock.set(MONDAY + timedelta(hours=9))
    assert len(service.send_due().sent) == len(users)
    clock.advance(timedelta(hours=24))


def test_crash_after_posting_a_reminder_does_not_remind_twice(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    sent_a_day_ago(service, slack, clock, "U1")
    with db.transaction() as session:  # a process claims the reminder...
        claimed = service.delivery._claim_reminder(session, clock.now())
    assert claimed is not None and claimed[1] is False  # (a first try: no look in the DM)
    claim = claimed[0]
    assert claim.dm_channel_id is not None
    # ...posts it, and dies before marking it sent.
    service.delivery._slack.post_reminder(TEAM, claim.dm_channel_id, claim.id)
    assert service.send_due().reminded == 0  # the claim is still fresh
    clock.advance(timedelta(minutes=3))
    assert service.send_due().reminded == 1  # recorded, from the DM's history
    assert len(posted(slack, REMINDER_EVENT)) == 1
    assert len(slack.calls("conversations.history")) == 1
    assert checkin(db, "U1").reminder_status == "sent"


def test_a_reminder_slack_took_but_answered_late_is_not_sent_again(
    db: Database, slack: FakeSlack, clock: FixedClock
) -> None:
    service = make_service(db, slack, clock, timeout=1)
    sent_a_day_ago(service, slack, clock, "U1", "U2")
    # The first reminder is posted but answered too late; the second is refused (500).
    slack.fail("chat.postMessage", Fault(200, delay=1.5), Fault(500))
    assert service.send_due().reminded == 0
    assert {checkin(db, u).reminder_status for u in ("U1", "U2")} == {"retry"}
    clock.advance(timedelta(minutes=5))
    assert service.send_due().reminded == 2
    reminders = posted(slack, REMINDER_EVENT)
    assert sorted(c.params["channel"] for c in reminders) == ["D1", "D2"]  # one each
    assert len(slack.calls("conversations.history")) == 2  # both looked before re-posting
    clock.advance(timedelta(days=1))
    assert service.send_due().reminded == 0


def test_a_reminder_is_not_resent_while_the_dm_cannot_be_read(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    sent_a_day_ago(service, slack, clock, "U1")
    slack.fail("chat.postMessage", Fault(500))
    service.send_due()
    slack.fail("conversations.history", Fault(500))
    clock.advance(timedelta(minutes=5))
    assert service.send_due().reminded == 0  # could not look: wait rather than risk a second
    assert checkin(db, "U1").reminder_status == "retry"
    clock.advance(timedelta(minutes=5))
    assert service.send_due().reminded == 1
    assert len(posted(slack, REMINDER_EVENT)) == 1


def test_skip_now_off_and_own_schedule(
    service: CheckinService, slack: FakeSlack, clock: FixedClock, db: Database
) -> None:
    clock.set(MONDAY - timedelta(days=3))  # Friday of the week before, 00:00
    enrol(service, slack, "USKIP", "UNOW", "UOFF", "UFRI")
    status = service.skip_next(TEAM, "USKIP")
    assert status.skip_week == "2026-W48"
    assert service.skip_next(TEAM, "USKIP").skip_week == "2026-W48"  # twice is still one
    service.turn_off(TEAM, "UOFF")
    fri = service.set_schedule(TEAM, "UFRI", 4, "16:30")
    assert fri.next is not None and fri.next.week == "2026-W47"  # still this week
    requested = service.request_now(TEAM, "UNOW")
    assert requested.reason == "queued" and requested.checkin_id is not None
    assert service.deliver(requested.checkin_id) == "sent"
    assert service.request_now(TEAM, "UNOW").reason == "already_sent"
    clock.set(MONDAY + timedelta(days=4, hours=16, minutes=30))
    sent = {s.user_id: s.week for s in service.send_due().sent}
    # UNOW had W47's at once; W48's comes on Monday like everyone's.
    assert sent == {"UNOW": "2026-W48", "UFRI": "2026-W48"}
    assert checkin(db, "UFRI").due_at == MONDAY + timedelta(days=4, hours=16, minutes=30)
    with db.transaction() as session:
        skipped = session.scalars(select(Checkin).where(Checkin.user_id == "USKIP")).one()
    assert skipped.status == "skipped"
    assert sorted(Counter(posts(slack))) == ["UFRI", "UNOW"]
    assert Counter(posts(slack))["UNOW"] == 2  # one per week: W47 (asked for) and W48


def test_answers_replace_each_other_within_the_week_and_close_after(
    service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "U1")
    clock.set(MONDAY + timedelta(hours=9))
    service.send_due()
    checkin_id = service.home(TEAM, "U1").weeks[0]
    row_id = service.request_now(TEAM, "U1").checkin_id
    assert row_id is not None and checkin_id.sent
    first = service.record_answer(
        team_id=TEAM, user_id="U1", checkin_id=row_id, answer="chasing_happiness"
    )
    second = service.record_answer(
        team_id=TEAM, user_id="U1", checkin_id=row_id, answer="trust_excitement"
    )
    assert first.ok and second.checkin is not None
    assert second.checkin.answer == "trust_excitement"
    other = service.record_answer(team_id=TEAM, user_id="U2", checkin_id=row_id, answer="both")
    assert other.reason == "not_yours"
    noted = service.save_note(
        team_id=TEAM, user_id="U1", checkin_id=row_id, note=" kept a promise "
    )
    assert noted.checkin is not None and noted.checkin.note == "kept a promise"
    clock.set(MONDAY + timedelta(days=7, hours=1))
    late = service.record_answer(team_id=TEAM, user_id="U1", checkin_id=row_id, answer="both")
    assert late.reason == "closed"
    assert service.save_note(team_id=TEAM, user_id="U1", checkin_id=row_id, note="x").reason == (
        "closed"
    )
    marks = service.home(TEAM, "U1").weeks
    assert [(m.week, m.answer) for m in marks[:2]] == [
        ("2026-W49", None),
        ("2026-W48", "trust_excitement"),
    ]
    assert len(marks) == 12
