"""Check-ins for a large company: a tick costs O(due), not O(enrolled).

`reps.next_due_at` says when the tick next looks at a rep; these tests count
what a tick reads, follow next_due_at through DST and a change of zone, race
planners on PostgreSQL, and run retention from two processes at once.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.domain.clock import FixedClock
from bot.domain.schedule import WeeklySchedule
from bot.domain.statuses import CheckinState
from bot.services.checkins import CheckinService
from bot.services.checkins import delivery as delivery_module
from bot.services.privacy import PrivacyService
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import Checkin, JobRun, Nudge, Rep
from tests.fakes.slack_api import FakeSlack
from tests.test_checkins import MONDAY, TEAM, enrol, make_service, posts

DUE = MONDAY + timedelta(hours=9)  # the default: Mondays 09:00 UTC


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY - timedelta(days=2))  # the Saturday before


@pytest.fixture
def service(db: Database, slack: FakeSlack, clock: FixedClock) -> CheckinService:
    return make_service(db, slack, clock)


@dataclass
class Reads:
    """What one engine was asked: statements, and rows PostgreSQL returned for them
    (psycopg's rowcount is the result's size; SQLite does not say)."""

    statements: list[str] = field(default_factory=list)
    rows: int = 0
    reps_loaded: int = 0


@contextmanager
def counting(engine: Engine) -> Iterator[Reads]:
    reads = Reads()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        reads.statements.append(statement)

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if engine.dialect.name == "postgresql" and statement.lstrip().upper().startswith(
            ("SELECT", "WITH")
        ):
            reads.rows += max(cursor.rowcount, 0)

    def loaded(_target: Any, _context: Any) -> None:
        reads.reps_loaded += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(Rep, "load", loaded)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        event.remove(Rep, "load", loaded)


def add_quiet_reps(db: Database, count: int, *, next_due_at: datetime) -> None:
    """Enrolled, eligible reps whose profiles are fresh and whose check-in is not due."""
    enrolled = MONDAY - timedelta(days=30)
    rows = [
        {
            "team_id": TEAM,
            "user_id": f"UQ{i:05d}",
            "created_at": enrolled,
            "checkins_enrolled_at": enrolled,
            "checkins_enabled": True,
            "eligible": True,
            "tz": "UTC",
            "tz_checked_at": DUE,
            "next_due_at": next_due_at,
        }
        for i in range(count)
    ]
    with db.transaction() as session:
        session.execute(insert(Rep), rows)


def next_due(db: Database, user: str) -> datetime | None:
    with db.transaction() as session:
        return session.scalar(select(Rep.next_due_at).where(Rep.user_id == user))


def test_a_tick_reads_only_the_reps_that_are_due(
    db: Database, service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "U1", "U2", "U3")
    clock.set(DUE - timedelta(hours=1))
    service.refresh_profiles()  # as the ticks before the due time do
    add_quiet_reps(db, 2000, next_due_at=DUE + timedelta(days=3))
    clock.set(DUE)
    with counting(db.engine) as reads:
        report = service.send_due()
    assert sorted(s.user_id for s in report.sent) == ["U1", "U2", "U3"]
    assert report.planned == 3
    assert reads.reps_loaded == 3
    if db.is_postgres:
        assert reads.rows < 40, reads.statements  # the old tick read all 2,003 reps
    # ...and an idle tick reads nothing at all about reps.
    clock.advance(timedelta(minutes=1))
    with counting(db.engine) as idle:
        assert not service.send_due()
    assert idle.reps_loaded == 0
    if db.is_postgres:
        assert idle.rows == 0, idle.statements
    # The statements do not grow with the company either.
    with db.transaction() as session:
        session.execute(
            insert(Rep),
            [
                {
                    "team_id": TEAM,
                    "user_id": f"UR{i:05d}",
                    "created_at": DUE,
                    "checkins_enrolled_at": DUE,
                    "eligible": True,
                    "tz_checked_at": DUE,
                    "next_due_at": DUE + timedelta(days=7),
                }
                for i in range(3000)
            ],
        )
    with counting(db.engine) as bigger:
        assert not service.send_due()
    assert len(bigger.statements) == len(idle.statements)
    assert bigger.reps_loaded == 0 and bigger.rows == idle.rows


def test_next_due_at_moves_on_after_each_week_across_the_clock_change(
    db: Database, service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    # Berlin leaves summer time on Sunday 25 October 2026: 09:00 is 07:00 UTC on
    # Monday the 19th and 08:00 UTC on Monday the 26th.
    clock.set(datetime(2026, 10, 12, 12, tzinfo=UTC))
    enrol(service, slack, "U1", tz="Europe/Berlin")
    assert next_due(db, "U1") is None  # eligibility not known yet: nothing to send
    service.refresh_profiles()
    summer = datetime(2026, 10, 19, 7, tzinfo=UTC)
    assert next_due(db, "U1") == summer
    clock.set(summer - timedelta(seconds=1))
    assert not service.send_due().sent
    clock.set(summer)
    assert [s.week for s in service.send_due().sent] == ["2026-W43"]
    winter = datetime(2026, 10, 26, 8, tzinfo=UTC)
    assert next_due(db, "U1") == winter
    clock.set(winter)
    assert [s.week for s in service.send_due().sent] == ["2026-W44"]
    assert next_due(db, "U1") == datetime(2026, 11, 2, 8, tzinfo=UTC)


def test_a_new_time_zone_moves_next_due_at(
    db: Database, service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "U1", tz="Europe/Berlin")
    service.refresh_profiles()
    assert next_due(db, "U1") == MONDAY + timedelta(hours=8)
    slack.add_user("U1", tz="America/Los_Angeles")  # the rep moved
    clock.advance(timedelta(days=1, minutes=1))  # the profile is a day old
    assert service.refresh_profiles() == 1
    assert next_due(db, "U1") == MONDAY + timedelta(hours=17)  # 09:00 in Los Angeles
    clock.set(MONDAY + timedelta(hours=8))
    assert not service.send_due().sent  # Berlin's nine means nothing to them now
    clock.set(MONDAY + timedelta(hours=17))
    assert [s.user_id for s in service.send_due().sent] == ["U1"]


def test_each_change_of_the_reps_own_moves_next_due_at(
    db: Database, service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "U1")
    service.refresh_profiles()
    assert next_due(db, "U1") == DUE
    service.set_schedule(TEAM, "U1", 2, "16:30")  # Wednesdays
    assert next_due(db, "U1") == MONDAY + timedelta(days=2, hours=16, minutes=30)
    service.turn_off(TEAM, "U1")
    assert next_due(db, "U1") is None
    service.turn_on(TEAM, "U1")
    assert next_due(db, "U1") == MONDAY + timedelta(days=2, hours=16, minutes=30)
    service.skip_next(TEAM, "U1")  # the skipped week still gets its (skipped) row
    clock.set(MONDAY + timedelta(days=2, hours=16, minutes=30))
    report = service.send_due()
    assert not report.sent and report.planned == 1
    assert next_due(db, "U1") == MONDAY + timedelta(days=9, hours=16, minutes=30)
    service.turn_off(TEAM, "U1")
    service.turn_on(TEAM, "U1")  # this week is already planned (skipped): next week's
    assert next_due(db, "U1") == MONDAY + timedelta(days=9, hours=16, minutes=30)


def test_a_new_workspace_default_is_looked_at_again(
    db: Database, slack: FakeSlack, clock: FixedClock
) -> None:
    defaults = {TEAM: WeeklySchedule(weekday=0, at=time(9, 0), tz="UTC")}
    service = make_service(db, slack, clock, default_for=lambda team: defaults[team])
    enrol(service, slack, "UDEFAULT", "UOWN")
    service.set_schedule(TEAM, "UOWN", 4, "10:00")
    service.refresh_profiles()
    assert next_due(db, "UDEFAULT") == DUE
    defaults[TEAM] = WeeklySchedule(weekday=1, at=time(11, 0), tz="UTC")  # admins: Tuesdays
    look_at = clock.now() + timedelta(seconds=30)
    with db.transaction() as session:
        assert repos.look_again_at_team(session, TEAM, at=look_at) == 1
    assert next_due(db, "UOWN") == MONDAY + timedelta(days=4, hours=10)
    clock.set(look_at)
    assert not service.send_due().sent
    assert next_due(db, "UDEFAULT") == MONDAY + timedelta(days=1, hours=11)
    clock.set(DUE)
    assert not service.send_due().sent  # Monday's nine is not theirs any more
    clock.set(MONDAY + timedelta(days=1, hours=11))
    assert [s.user_id for s in service.send_due().sent] == ["UDEFAULT"]


@pytest.mark.postgres  # SKIP LOCKED planning is PostgreSQL's; SQLite has one writer
def test_planners_racing_on_postgres_plan_each_rep_once(
    database_url: str, slack: FakeSlack, clock: FixedClock, service: CheckinService
) -> None:
    users = [f"U{i:04d}" for i in range(300)]
    enrol(service, slack, *users)
    service.refresh_profiles()
    clock.set(DUE)
    others = [Database.connect(database_url) for _ in range(3)]
    racers = [make_service(each, slack, clock) for each in others]
    start = threading.Barrier(len(racers))
    planned: list[int] = []

    def plan(each: CheckinService) -> None:
        start.wait()
        planned.append(each.delivery._plan(clock.now()))

    threads = [threading.Thread(target=plan, args=(each,)) for each in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(planned) == len(users)
    for racer in racers:
        racer.send_due()
    for each in others:
        each.dispose()
    assert Counter(posts(slack)) == Counter(users)  # none twice, none lost
    db = Database.connect(database_url)
    try:
        with db.transaction() as session:
            moved = set(session.scalars(select(Rep.next_due_at).distinct()))
    finally:
        db.dispose()
    assert moved == {DUE + timedelta(days=7)}


def test_a_large_tick_analyzes_the_table_once_between_planning_and_the_first_claim(
    db: Database,
    service: CheckinService,
    slack: FakeSlack,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery_module, "PLAN_BATCH", 2)
    users = [f"U{i:04d}" for i in range(7)]  # batches of 2, 2, 2 and 1
    enrol(service, slack, *users)
    clock.set(DUE - timedelta(hours=1))
    service.refresh_profiles()  # as the ticks before the due time do
    clock.set(DUE)
    with counting(db.engine) as sent:
        report = service.send_due()
    statements = sent.statements
    analyzed = [i for i, s in enumerate(statements) if "ANALYZE checkins" in s]
    inserts = [i for i, s in enumerate(statements) if s.startswith("INSERT INTO checkins")]
    claims = [
        i
        for i, s in enumerate(statements)
        if "SKIP LOCKED" in s and s.startswith("UPDATE checkins")
    ]
    marks = [i for i, s in enumerate(statements) if s.startswith("UPDATE checkins SET status")]
    # PostgreSQL learns how many rows wait before the first claim, and how many were
    # sent after the last one is marked; SQLite has no need.
    assert len(analyzed) == (2 if db.is_postgres else 0)
    assert len(inserts) == 4
    if db.is_postgres:
        assert inserts[-1] < analyzed[0] < claims[0]
        assert marks[-1] < analyzed[1]
    assert report.planned == len(users)
    assert Counter(posts(slack)) == Counter(users)  # none twice, none left behind
    # A small tick does not analyze: autovacuum keeps up with a few rows.
    clock.advance(timedelta(minutes=1))
    with counting(db.engine) as again:
        quiet = service.send_due()
    assert quiet.planned == 0 and not quiet.sent
    assert not [s for s in again.statements if "ANALYZE" in s]


@pytest.mark.postgres  # ANALYZE and its lock are PostgreSQL's
def test_a_large_tick_goes_on_when_the_table_cannot_be_analyzed(
    db: Database,
    service: CheckinService,
    slack: FakeSlack,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An autovacuum holding the table's lock past the lock timeout: the ANALYZE
    gives up, the tick says so and sends every check-in all the same."""
    monkeypatch.setattr(delivery_module, "PLAN_BATCH", 2)
    users = [f"U{i:04d}" for i in range(5)]
    enrol(service, slack, *users)
    clock.set(DUE - timedelta(hours=1))
    service.refresh_profiles()
    clock.set(DUE)
    with db.engine.connect() as vacuum:
        vacuum.execute(text("LOCK TABLE checkins IN SHARE UPDATE EXCLUSIVE MODE"))
        report = service.send_due()
        vacuum.rollback()
    assert "could not analyze the check-ins table" in caplog.text
    assert report.planned == len(users)
    assert Counter(posts(slack)) == Counter(users)


def _old_rows(db: Database, count: int, at: datetime) -> None:
    with db.transaction() as session:
        session.execute(
            insert(Nudge),
            [
                {
                    "team_id": TEAM,
                    "channel_id": "C1",
                    "user_id": "U1",
                    "message_ts": f"{i}.000",
                    "trigger": "message",
                    "traps": "t",
                    "question_id": "q",
                    "delivery": "ephemeral",
                    "created_at": at,
                }
                for i in range(count)
            ],
        )


def _nudges(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Nudge)) or 0)


def test_retention_runs_once_per_period_in_the_cluster(db: Database, clock: FixedClock) -> None:
    period = timedelta(hours=6)
    year = timedelta(days=365)
    privacy = PrivacyService(db=db, clock=clock)
    _old_rows(db, 3, clock.now() - timedelta(days=400))
    assert privacy.purge_older_than(year, once_per=period).nudges == 3
    _old_rows(db, 2, clock.now() - timedelta(days=400))
    clock.advance(timedelta(hours=5))
    assert privacy.purge_older_than(year, once_per=period).nudges == 0  # ran this period
    assert _nudges(db) == 2
    clock.advance(timedelta(hours=1))
    assert privacy.purge_older_than(year, once_per=period).nudges == 2
    with db.transaction() as session:
        assert session.get(JobRun, "retention") is not None


@pytest.mark.postgres  # the advisory lock is PostgreSQL's
def test_two_processes_purging_at_once_on_postgres_one_does_the_work(
    database_url: str, clock: FixedClock
) -> None:
    first, second = Database.connect(database_url), Database.connect(database_url)
    try:
        _old_rows(first, 5, clock.now() - timedelta(days=400))
        inside = threading.Event()
        second_done = threading.Event()
        results: dict[str, int] = {}

        def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.startswith("DELETE FROM nudges"):
                inside.set()  # the first holds the lock mid-purge...
                assert second_done.wait(30)  # ...until the second has had its turn

        event.listen(first.engine, "before_cursor_execute", hold)

        def purge(name: str, db: Database) -> None:
            deleted = PrivacyService(db=db, clock=clock).purge_older_than(
                timedelta(days=365), once_per=timedelta(hours=6)
            )
            results[name] = deleted.nudges

        runner = threading.Thread(target=purge, args=("first", first))
        runner.start()
        assert inside.wait(30)
        purge("second", second)  # at once: it does not wait for the first
        second_done.set()
        runner.join()
        assert results == {"first": 5, "second": 0}
        assert _nudges(second) == 0
    finally:
        first.dispose()
        second.dispose()


def test_the_migration_backfills_next_due_at_and_goes_back(db: Database) -> None:
    downgrade(db.engine, "0007")
    enrolled = MONDAY - timedelta(days=3)
    with db.engine.begin() as connection:
        reps = (("UON", True, True), ("UOFF", True, False), ("UBOT", False, True))
        for user, eligible, enabled in reps:
            connection.execute(
                text(
                    "INSERT INTO reps (team_id, user_id, created_at, checkins_enrolled_at, "
                    "checkins_enabled, eligible) VALUES (:t, :u, :c, :c, :enabled, :eligible)"
                ),
                {
                    "t": TEAM,
                    "u": user,
                    "c": enrolled.replace(tzinfo=None) if not db.is_postgres else enrolled,
                    "enabled": enabled,
                    "eligible": eligible,
                },
            )
    upgrade(db.engine)
    assert next_due(db, "UON") == enrolled  # "look at once": the first tick computes it
    assert next_due(db, "UOFF") is None and next_due(db, "UBOT") is None
    downgrade(db.engine, "0007")
    columns = {column["name"] for column in inspect(db.engine).get_columns("reps")}
    assert "next_due_at" not in columns
    upgrade(db.engine)


def test_the_first_tick_after_the_upgrade_plans_what_the_old_tick_had_not(
    db: Database, service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "UPLANNED", "UNEW")
    service.refresh_profiles()
    clock.set(DUE)
    service.send_due()
    assert sorted(posts(slack)) == ["UNEW", "UPLANNED"]
    # As the migration leaves them: both to be looked at once, one already sent.
    with db.transaction() as session:
        session.execute(update(Rep).values(next_due_at=Rep.checkins_enrolled_at))
        session.execute(update(Checkin).where(Checkin.user_id == "UNEW").values(week="2026-W47"))
    clock.advance(timedelta(minutes=1))
    report = service.send_due()
    assert [s.user_id for s in report.sent] == ["UNEW"] and report.planned == 1
    assert next_due(db, "UPLANNED") == next_due(db, "UNEW") == DUE + timedelta(days=7)


def _checkins(db: Database, rows: list[dict[str, Any]]) -> None:
    base = {"team_id": TEAM, "week": "2026-W48", "attempts": 0, "is_manual": False}
    with db.transaction() as session:
        session.execute(insert(Checkin), [{**base, **row} for row in rows])


def test_a_claim_takes_a_check_in_whose_lease_ran_out_before_the_next_pending_one(
    db: Database, slack: FakeSlack, clock: FixedClock
) -> None:
    from bot.services.checkins.delivery import CLAIM_LEASE

    now = DUE + timedelta(minutes=30)
    clock.set(now)
    window = {"due_at": DUE, "expires_at": DUE + timedelta(hours=8)}
    _checkins(
        db,
        [
            {"user_id": "UPENDING", "status": "pending", **window},
            {
                "user_id": "UDIED",
                "status": "sending",
                "claimed_at": now - 2 * CLAIM_LEASE,
                **window,
            },
            {"user_id": "UBUSY", "status": "sending", "claimed_at": now, **window},
        ],
    )
    service = make_service(db, slack, clock)
    delivery = service.delivery  # type: ignore[attr-defined]
    claimed = []
    for _ in range(3):
        with db.transaction() as session:
            claim = delivery._claim(session, now)
        claimed.append(claim.user_id if claim else None)
    assert claimed == ["UDIED", "UPENDING", None]  # never the one still being sent


@pytest.mark.postgres  # the plan is PostgreSQL's
def test_a_claim_reads_the_index_in_order_whatever_is_waiting(db: Database) -> None:
    from bot.services.checkins.delivery import claim_candidate, claimable_checkins

    window = {"due_at": DUE, "expires_at": DUE + timedelta(hours=8)}
    _checkins(db, [{"user_id": f"U{i:05d}", "status": "pending", **window} for i in range(5000)])
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE checkins"))
        for claimable in claimable_checkins(DUE + timedelta(minutes=1)):
            compiled = claim_candidate(claimable).compile(dialect=db.engine.dialect)
            plan = "\n".join(
                row[0]
                for row in connection.exec_driver_sql(
                    "EXPLAIN " + str(compiled), compiled.construct_params()
                )
            )
            assert "ix_checkins_claim" in plan, plan
            assert "Sort" not in plan, plan  # read in order, stopped at the first free row


@pytest.mark.postgres  # the plan is PostgreSQL's
def test_a_prepared_claim_finds_its_row_by_id_whatever_the_table_held_when_planned(
    db: Database, slack: FakeSlack, clock: FixedClock
) -> None:
    """psycopg prepares a statement run five times on a connection, and PostgreSQL may
    then keep one generic plan for it, made from the statistics of the moment: on a
    company's first Monday, those of a nearly empty table. That plan must still find
    the claimed row by its id, however many are waiting by then."""
    delivery = _claims_on_a_table_analyzed_empty(db, slack, clock, pending=1000)
    sent: list[tuple[str, dict[str, Any]]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            sent.append((statement, dict(parameters)))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.transaction() as session:
            assert delivery._claim(session, clock.now()) is not None
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    statement, parameters = sent[0]
    # The claim as the driver sent it, its parameters numbered as in a prepared statement.
    names = list(parameters)
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", statement)
    values = ", ".join(_sql_literal(parameters[name]) for name in names)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE claim AS {numbered}")
        plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN EXECUTE claim({values})")]
        connection.rollback()
    # The UPDATE's own scan is the plan's last line at the top level of indentation.
    updated_by = [line for line in plan if line.startswith("  ->")]
    assert len(updated_by) == 1 and "pk_checkins" in updated_by[0], "\n".join(plan)
    assert "ix_checkins_claim" in "\n".join(plan)  # the candidate: the claim index, in order


def _claims_on_a_table_analyzed_empty(
    db: Database, slack: FakeSlack, clock: FixedClock, *, pending: int
) -> Any:
    """The delivery, a minute after DUE, over `pending` due check-ins added after an
    ANALYZE of the empty table (what PostgreSQL knows of it on a first Monday)."""
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE checkins"))
    window = {"due_at": DUE, "expires_at": DUE + timedelta(hours=8)}
    _checkins(db, [{"user_id": f"U{i:05d}", "status": "pending", **window} for i in range(pending)])
    clock.set(DUE + timedelta(minutes=1))
    return make_service(db, slack, clock).delivery  # type: ignore[attr-defined]


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    assert isinstance(value, str), value
    return "'" + value.replace("'", "''") + "'"


@pytest.mark.postgres  # the plan cache and ANALYZE are PostgreSQL's
def test_after_the_analyze_claims_first_run_on_a_small_table_read_the_index(
    db: Database, slack: FakeSlack, clock: FixedClock
) -> None:
    """The plans the claims and marks actually ran, as auto_explain reports them: a
    dozen on a table of 30 rows (enough for psycopg to prepare the statements and
    for PostgreSQL to settle on generic plans), then 5,000 more rows and the
    ANALYZE a large tick runs, then a claim and a mark."""
    delivery = _claims_on_a_table_analyzed_empty(db, slack, clock, pending=30)
    window = {"due_at": DUE, "expires_at": DUE + timedelta(hours=8)}
    plans: list[str] = []

    def explain_each_statement(dbapi_connection: Any, *_: Any) -> None:
        if not getattr(dbapi_connection, "reframe_explains", False):
            dbapi_connection.add_notice_handler(lambda notice: plans.append(notice.message_primary))
            dbapi_connection.reframe_explains = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            cursor.execute("SET auto_explain.log_min_duration = 0")
            cursor.execute("SET auto_explain.log_level = 'notice'")

    event.listen(db.engine, "checkout", explain_each_statement)
    try:
        for _ in range(12):
            with db.transaction() as session:
                claim = delivery._claim(session, clock.now())
            delivery._finish(claim.id, status=CheckinState.SENT)  # as a post does
        _checkins(
            db, [{"user_id": f"V{i:05d}", "status": "pending", **window} for i in range(5_000)]
        )
        with db.transaction() as session:
            repos.analyze_checkins(session)
        plans.clear()
        with db.transaction() as session:
            claim = delivery._claim(session, clock.now())
        delivery._finish(claim.id, status=CheckinState.SENT)
    finally:
        event.remove(db.engine, "checkout", explain_each_statement)
    # A lease run out (none here), the next pending one, and marking it sent.
    stale, pending, sent = [plan for plan in plans if "Update on checkins" in plan]
    assert "Sort" not in pending and "Seq Scan" not in pending, pending
    assert "Index Scan using ix_checkins_claim" in pending, pending
    assert "Seq Scan" not in stale, stale
    assert "Index Scan using pk_checkins" in sent and "Seq Scan" not in sent, sent


def test_a_due_batch_moves_every_reps_next_look_in_one_statement(
    db: Database, service: CheckinService, slack: FakeSlack, clock: FixedClock
) -> None:
    enrol(service, slack, "U1", "U2", "U3")
    clock.set(DUE - timedelta(hours=1))
    service.refresh_profiles()
    # Due as well, but no longer someone the tick sends to (changed behind due.py's back).
    add_quiet_reps(db, 2, next_due_at=DUE)
    with db.transaction() as session:
        session.execute(update(Rep).where(Rep.user_id == "UQ00001").values(eligible=False))
    moves: list[tuple[str, bool]] = []

    def before(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool
    ) -> None:
        if re.match(r"\s*UPDATE reps\b", statement) and "next_due_at" in statement:
            moves.append((statement, many))

    flushed_reps: list[str] = []

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        flushed_reps.extend(r.user_id for r in session.dirty if isinstance(r, Rep))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(Session, "before_flush", before_flush)
    clock.set(DUE)
    try:
        report = service.send_due()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(Session, "before_flush", before_flush)
    assert sorted(s.user_id for s in report.sent) == ["U1", "U2", "U3", "UQ00000"]
    # One statement for the batch's five reps, not the ORM's flush of each one; on
    # PostgreSQL not an executemany either (psycopg sends that as one UPDATE a rep).
    assert flushed_reps == []
    assert len(moves) == 1, moves
    if db.is_postgres:
        assert moves[0][1] is False
    next_week = DUE + timedelta(days=7)
    assert {user: next_due(db, user) for user in ("U1", "UQ00000", "UQ00001")} == {
        "U1": next_week,
        "UQ00000": next_week,
        "UQ00001": None,  # nothing to send: the tick stops looking at them
    }
    with db.transaction() as session:
        planned = set(session.scalars(select(Checkin.user_id)))
    assert planned == {"U1", "U2", "U3", "UQ00000"}


def test_moving_a_next_look_for_a_rep_not_there_rolls_the_batch_back(db: Database) -> None:
    add_quiet_reps(db, 1, next_due_at=DUE)
    later = DUE + timedelta(days=7)
    with pytest.raises(RuntimeError, match="1 reps of 2"), db.transaction() as session:
        repos.move_next_due(session, [(TEAM, "UQ00000", later), (TEAM, "UGONE", later)])
    assert next_due(db, "UQ00000") == DUE  # the whole batch rolled back
    with db.transaction() as session:
        repos.move_next_due(session, [(TEAM, "UQ00000", later)])
    assert next_due(db, "UQ00000") == later
