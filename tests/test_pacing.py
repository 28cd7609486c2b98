"""The shared send schedule on a real database: processes racing for slots never
share one, a 429 seen by one process pauses the others, and the check-in
service spaces its DMs by it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.clock import FixedClock
from bot.services.checkins import CheckinService, RateGate
from bot.services.privacy import PrivacyService
from bot.storage.db import Database
from bot.storage.models import Checkin, PostPace
from bot.storage.pacing import SharedPostPacer
from tests.fakes.slack_api import FakeSlack, Fault
from tests.test_checkins import MONDAY, TEAM, enrol, make_service, posts

T0 = 1_800_000_000.0


class ManualWall:
    """Wall-clock seconds that move only when slept through (thread-safe)."""

    def __init__(self, at: float = T0) -> None:
        self._at = at
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._at

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._at += seconds


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@contextmanager
def two_processes(
    db: Database, database_url: str, rate: float
) -> Iterator[tuple[SharedPostPacer, SharedPostPacer, ManualWall]]:
    """Two pacers on their own connections to one database, as two scheduler
    processes have, reading one wall clock."""
    wall = ManualWall()
    other = Database.connect(database_url)
    try:
        yield (
            SharedPostPacer(db, rate=rate, wall=wall),
            SharedPostPacer(other, rate=rate, wall=wall),
            wall,
        )
    finally:
        other.dispose()


def test_a_new_workspace_posts_at_once_then_one_slot_per_interval(db: Database) -> None:
    wall = ManualWall()
    pacer = SharedPostPacer(db, rate=4.0, wall=wall)
    # The first post of a burst is followed by two intervals, the others in its first
    # second by a tenth more than one (bot/domain/pacing.py), then one interval.
    waits = [pacer.reserve(TEAM) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.5, 0.775, 1.05, 1.3], abs=1e-6)
    assert pacer.reserve("T0OTHER") == 0.0  # every workspace has its own limit
    wall.sleep(10)
    assert pacer.reserve(TEAM) == 0.0  # idle time is not saved up for a burst


def test_processes_racing_for_slots_never_share_one(db: Database, database_url: str) -> None:
    wall = ManualWall()  # frozen: every slot is a distinct offset from the same now
    dbs = [Database.connect(database_url) for _ in range(2)]
    pacers = [SharedPostPacer(each, rate=100.0, wall=wall) for each in dbs]
    delays: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def take(pacer: SharedPostPacer) -> None:
        start.wait()
        for _ in range(25):
            delay = pacer.reserve(TEAM)
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=take, args=(pacers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in dbs:
        each.dispose()
    # The burst's first slot, a doubled interval, a tenth wider ones up to a second
    # after the first slot, then one slot per interval.
    expected, at = [0.0], 0.02
    while len(expected) < 200:
        expected.append(at)
        at += 0.011 if at < 1.0 else 0.01
    assert sorted(delays) == pytest.approx(expected, abs=1e-5)


def test_a_429_in_one_process_holds_back_the_other(db: Database, database_url: str) -> None:
    with two_processes(db, database_url, rate=50.0) as (a, b, _wall):
        assert b.reserve(TEAM) == 0.0
        a.rate_limited(TEAM, 3.0)
        assert b.reserve(TEAM) == pytest.approx(3.0, abs=1e-6)
        pace = b.pace(TEAM)
        assert pace is not None and pace.rate == pytest.approx(47.5)
        assert pace.limited_at == T0


def test_every_process_paces_a_burst_s_first_window_from_the_shared_start(
    db: Database, database_url: str
) -> None:
    with two_processes(db, database_url, rate=10.0) as (a, b, wall):
        waits = [a.reserve(TEAM), b.reserve(TEAM), a.reserve(TEAM)]
        # The burst's first slot, two intervals, then a tenth wider (0.11 s) for b too.
        assert waits == pytest.approx([0.0, 0.2, 0.31], abs=1e-6)
        pace = b.pace(TEAM)
        assert pace is not None and pace.burst_at == T0
        wall.sleep(1.2)  # the first window is over: plain intervals
        assert [b.reserve(TEAM), a.reserve(TEAM)] == pytest.approx([0.0, 0.1], abs=1e-6)


def test_a_post_woken_late_moves_every_process_s_free_slots_back(
    db: Database, database_url: str
) -> None:
    with two_processes(db, database_url, rate=10.0) as (a, b, _wall):
        # A burst's first second: two intervals after its first slot, then 0.11 s.
        assert [a.reserve(TEAM), b.reserve(TEAM)] == pytest.approx([0.0, 0.2], abs=1e-6)
        a.posted_late(TEAM, 0.04)  # jitter: under half an interval (50 ms)
        assert b.reserve(TEAM) == pytest.approx(0.31, abs=1e-6)
        a.posted_late(TEAM, 0.3)  # a post left 300 ms after its slot
        assert b.reserve(TEAM) == pytest.approx(0.72, abs=1e-6)  # 0.42 + 0.3 behind
        assert a.reserve(TEAM) == pytest.approx(0.83, abs=1e-6)


def test_an_uninstalled_workspace_starts_a_fresh_schedule(db: Database) -> None:
    pacer = SharedPostPacer(db, rate=10.0, wall=ManualWall())
    pacer.reserve(TEAM)
    pacer.rate_limited(TEAM, 30.0)
    with db.transaction() as session:
        session.query(PostPace).delete()
    assert pacer.reserve(TEAM) == 0.0


def make_paced_service(
    db: Database, slack: FakeSlack, clock: FixedClock, wall: ManualWall, rate: float
) -> CheckinService:
    pacer = SharedPostPacer(db, rate=rate, wall=wall)
    return make_service(db, slack, clock, workers=1, pacer=pacer, sleep=wall.sleep, monotonic=wall)


def test_checkins_go_out_one_slot_apart(db: Database, slack: FakeSlack) -> None:
    clock = FixedClock(MONDAY - timedelta(days=7))
    wall = ManualWall()
    service = make_paced_service(db, slack, clock, wall, rate=5.0)
    users = [f"U{i:02d}" for i in range(10)]
    enrol(service, slack, *users)
    clock.set(MONDAY + timedelta(hours=9))
    assert len(service.send_due().sent) == 10
    assert sorted(posts(slack)) == users
    # Ten posts at 5 per second: the first at once, two intervals to the second (the
    # first of a burst), 0.22 s apart inside the burst's first second, then 0.2 s.
    assert wall() - T0 == pytest.approx(2.06, abs=1e-6)
    assert [round(s, 6) for s in wall.slept] == [0.4] + [0.22] * 3 + [0.2] * 5


def test_a_long_pause_from_another_process_gives_the_claim_back_untried(
    db: Database, slack: FakeSlack
) -> None:
    clock = FixedClock(MONDAY - timedelta(days=7))
    wall = ManualWall()
    service = make_paced_service(db, slack, clock, wall, rate=5.0)
    enrol(service, slack, "U1", "U2")
    clock.set(MONDAY + timedelta(hours=9))
    # Another scheduler process was told to wait two minutes.
    SharedPostPacer(db, rate=5.0, wall=wall).rate_limited(TEAM, 120.0)
    report = service.send_due()
    assert not report.sent and posts(slack) == []
    with db.transaction() as session:
        rows = {row.user_id: row for row in session.scalars(select(Checkin))}
    assert {row.status for row in rows.values()} == {"pending"}
    assert [row.attempts for row in rows.values()] == [0, 0]  # nothing was tried
    released = [row for row in rows.values() if row.next_attempt_at is not None]
    assert len(released) == 1  # one claim was given back; the tick then stopped claiming
    assert released[0].next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=60))
    wall.sleep(60)
    assert not service.send_due().sent  # Retry-After is not over yet
    clock.advance(timedelta(seconds=61))
    wall.sleep(61)
    assert sorted(s.user_id for s in service.send_due().sent) == ["U1", "U2"]
    assert sorted(posts(slack)) == ["U1", "U2"]


def test_a_reminder_tried_before_and_given_back_is_still_looked_for_first(
    db: Database, slack: FakeSlack
) -> None:
    clock = FixedClock(MONDAY - timedelta(days=7))
    wall = ManualWall()
    pacer = SharedPostPacer(db, rate=5.0, wall=wall)
    service = make_paced_service(db, slack, clock, wall, rate=5.0)
    enrol(service, slack, "U1")
    clock.set(MONDAY + timedelta(hours=9))
    assert len(service.send_due().sent) == 1
    clock.advance(timedelta(hours=24))
    slack.fail("chat.postMessage", Fault(500))
    service.send_due()  # the first reminder fails: it will be tried again
    clock.advance(timedelta(minutes=5))
    pacer.rate_limited(TEAM, 120.0)  # another process was told to wait two minutes
    assert service.send_due().reminded == 0
    assert len(slack.calls("conversations.history")) == 1  # looked, found nothing, gave it back
    with db.transaction() as session:
        row = session.scalars(select(Checkin)).one()
    assert row.reminder_status == "retry"  # still marked as tried before
    clock.advance(timedelta(minutes=5))
    wall.sleep(121)
    assert service.send_due().reminded == 1
    assert len(slack.calls("conversations.history")) == 2  # looked again before posting


def test_uninstalling_deletes_only_that_workspaces_schedule(db: Database) -> None:
    pacer = SharedPostPacer(db, rate=10.0, wall=ManualWall())
    pacer.reserve(TEAM)
    pacer.reserve("T0OTHER")
    PrivacyService(db=db, clock=FixedClock(MONDAY)).forget_team(TEAM)
    assert pacer.pace(TEAM) is None
    assert pacer.pace("T0OTHER") is not None


class ScriptedPacer:
    """Hands out the given waits in turn and records every call."""

    def __init__(self, *waits: float) -> None:
        self.waits = list(waits)
        self.reserved: list[str] = []
        self.limited: list[tuple[str, float]] = []
        self.late: list[tuple[str, float]] = []

    def reserve(self, team_id: str) -> float:
        self.reserved.append(team_id)
        return self.waits.pop(0)

    def rate_limited(self, team_id: str, retry_after: float) -> None:
        self.limited.append((team_id, retry_after))

    def posted_late(self, team_id: str, lateness: float) -> None:
        self.late.append((team_id, lateness))


def test_a_slot_taken_before_a_429_is_given_up_for_one_after_the_pause(
    db: Database, slack: FakeSlack
) -> None:
    wall = ManualWall()
    gate = RateGate(sleep=wall.sleep, monotonic=wall)
    pacer = ScriptedPacer(0.5, 0.0)

    def sleep(seconds: float) -> None:
        wall.sleep(seconds)
        if len(wall.slept) == 1:  # while this worker waits for its slot, another one meets a 429
            gate.defer(1.0)

    service = make_service(db, slack, FixedClock(MONDAY), gate=gate, pacer=pacer, sleep=sleep)
    assert service.delivery._wait_for_slot(TEAM) is None
    assert pacer.reserved == [TEAM, TEAM]  # the first slot fell inside the pause: a new one
    assert wall.slept == pytest.approx([0.5, 1.0])  # the slot, then the rest of Retry-After


def test_rate_limits_reach_the_shared_schedule(db: Database, slack: FakeSlack) -> None:
    wall = ManualWall()
    pacer = ScriptedPacer(0.0, 0.0)
    clock = FixedClock(MONDAY - timedelta(days=7))
    service = make_service(
        db, slack, clock, workers=1, pacer=pacer, sleep=wall.sleep, monotonic=wall
    )
    enrol(service, slack, "U1")
    slack.fail("chat.postMessage", Fault(429, retry_after=2))
    clock.set(MONDAY + timedelta(hours=9))
    assert [s.user_id for s in service.send_due().sent] == ["U1"]
    assert pacer.limited == [(TEAM, 2.0)]
    assert posts(slack) == ["U1"]


def test_a_far_slot_elsewhere_does_not_cost_a_sleeping_worker_its_near_one(
    db: Database, slack: FakeSlack
) -> None:
    wall = ManualWall()
    gate = RateGate(sleep=wall.sleep, monotonic=wall)
    pacer = ScriptedPacer(0.5)

    def sleep(seconds: float) -> None:
        wall.sleep(seconds)
        gate.hold(30.0)  # meanwhile another worker drew a slot 30 s away and stops claiming

    service = make_service(db, slack, FixedClock(MONDAY), gate=gate, pacer=pacer, sleep=sleep)
    assert service.delivery._wait_for_slot(TEAM) is None  # posts in its own slot
    assert pacer.reserved == [TEAM]
    assert wall.slept == [0.5]
    assert gate.remaining() == pytest.approx(30.0)  # and no new claims until then


def test_a_wait_for_the_schedules_lock_does_not_hand_out_a_slot_already_past(
    db: Database,
) -> None:
    """The slot is taken at the time the row was locked: had it been read before a
    0.3 s wait behind another process, the first post would go out 0.3 s after its
    slot, at the same moment as the next one."""
    readings = iter([T0, T0 + 0.3, T0 + 0.3, T0 + 0.3])
    pacer = SharedPostPacer(db, rate=4.0, wall=lambda: next(readings))
    assert pacer.reserve(TEAM) == 0.0  # posts at T0 + 0.3, when it got the row
    # Two slots later (the first of a burst), not at once.
    assert pacer.reserve(TEAM) == pytest.approx(0.5, abs=1e-6)


def test_a_worker_tells_the_schedule_how_late_it_woke_for_its_slot(
    db: Database, slack: FakeSlack
) -> None:
    wall = ManualWall()
    pacer = ScriptedPacer(0.5, 0.25)
    oversleep = [0.3, 0.0]

    def sleep(seconds: float) -> None:  # a busy machine wakes the first sleeper late
        wall.sleep(seconds + oversleep.pop(0))

    service = make_service(db, slack, FixedClock(MONDAY), pacer=pacer, sleep=sleep, monotonic=wall)
    assert service.delivery._wait_for_slot(TEAM) is None
    assert service.delivery._wait_for_slot(TEAM) is None
    assert pacer.late == [(TEAM, pytest.approx(0.3, abs=1e-6)), (TEAM, pytest.approx(0.0))]


def test_after_a_late_wake_the_next_post_keeps_a_full_interval_behind_it(
    db: Database, slack: FakeSlack
) -> None:
    clock = FixedClock(MONDAY - timedelta(days=7))
    wall = ManualWall()
    late = [0.15]

    def sleep(seconds: float) -> None:  # the first sleeper wakes 150 ms late
        wall.sleep(seconds + (late.pop() if late else 0.0))

    pacer = SharedPostPacer(db, rate=5.0, wall=wall)
    service = make_service(db, slack, clock, workers=1, pacer=pacer, sleep=sleep, monotonic=wall)
    enrol(service, slack, "U1", "U2", "U3")
    clock.set(MONDAY + timedelta(hours=9))
    assert len(service.send_due().sent) == 3
    # Slots at 0, 0.4 (the first of a burst is followed by two intervals) and 0.62 s
    # (a tenth wider in the burst's first second); the second post left at 0.55, so
    # the third waits until 0.77, a full 0.22 s after it (not 0.62, 70 ms after it).
    assert wall.slept == pytest.approx([0.55, 0.22], abs=1e-6)
    assert wall() - T0 == pytest.approx(0.77, abs=1e-6)
