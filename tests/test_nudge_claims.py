"""A nudge's claim and its lease: a worker that outlives its lease finds the nudge
taken over and writes nothing, and the new owner looks before it posts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.cooldown import CooldownPolicy
from bot.services.nudges import CLAIM_LEASE, IncomingMessage, NudgeService
from bot.services.ports import OutgoingNudge
from bot.slack.client import MAX_INLINE_RETRY_AFTER, build_web_client
from bot.storage.models import Nudge
from tests.conftest import RunningApp

VENT = "their DM is a jerk tbh, he'll never give us a shot"


class Recorder:
    """A sender that records posts and can run something in the middle of one."""

    def __init__(self, shows: dict[int, int], during: object = None) -> None:
        self.shows = shows  # nudge id -> times shown to the rep
        self.during = during

    def send_nudge(self, nudge: OutgoingNudge) -> None:
        if callable(self.during):
            self.during()
        self.shows[nudge.nudge_id] = self.shows.get(nudge.nudge_id, 0) + 1

    def find_nudge(self, nudge: OutgoingNudge) -> bool | None:
        if nudge.delivery == "ephemeral":
            return None
        return self.shows.get(nudge.nudge_id, 0) > 0


def service(app: RunningApp, sender: Recorder) -> NudgeService:
    r = app.reframe
    return NudgeService(
        db=r.db,
        clock=app.clock,
        library=r.library,
        channels=r.channels,
        sender=sender,
        policy=CooldownPolicy(per_channel=timedelta(hours=4), daily_limit=3),
        delivery_window=timedelta(minutes=15),
    )


def record(worker: NudgeService, delivery: str = "ephemeral") -> int:
    message = IncomingMessage("T0TEAM", "C0DEAL", "U0SLOW", "1700000300.000001", None, VENT)
    nudge_id = worker.on_message(message)
    assert nudge_id is not None
    if delivery != "ephemeral":
        with worker._db.transaction() as session:  # noqa: SLF001 - set up the row's mode
            session.get_one(Nudge, nudge_id).delivery = delivery
    return nudge_id


def status(app: RunningApp, nudge_id: int) -> tuple[str, bool, int]:
    with app.reframe.db.transaction() as session:
        row = session.scalars(select(Nudge).where(Nudge.id == nudge_id)).one()
        return row.status, row.in_doubt, row.attempts


def test_a_worker_that_outlives_its_lease_writes_nothing(running_app: RunningApp) -> None:
    """Worker A hangs past the lease inside its post; worker B (another process's
    sweep) takes the nudge over. A's late "sent" must not overwrite B's outcome."""
    shows: dict[int, int] = {}
    outcomes: dict[str, str] = {}
    b = service(running_app, Recorder(shows))

    def hang_past_the_lease() -> None:
        running_app.clock.advance(CLAIM_LEASE + timedelta(seconds=1))
        outcomes["b"] = b.deliver(nudge_id)

    a = service(running_app, Recorder(shows, during=hang_past_the_lease))
    nudge_id = record(a)
    outcomes["a"] = a.deliver(nudge_id)
    # B could not tell whether A's ephemeral post showed, so it did not post again.
    assert outcomes == {"b": "unconfirmed", "a": "claim_lost"}
    assert shows == {nudge_id: 1}
    assert status(running_app, nudge_id) == ("unconfirmed", True, 2)


def test_a_thread_nudge_taken_over_after_a_crash_is_found_not_reposted(
    running_app: RunningApp,
) -> None:
    shows: dict[int, int] = {}
    a = service(running_app, Recorder(shows))
    nudge_id = record(a, delivery="thread")
    # A posted, then died before writing "sent": the row stays claimed.
    with running_app.reframe.db.transaction() as session:
        row = session.get_one(Nudge, nudge_id)
        row.status, row.claimed_at, row.attempts = "sending", running_app.clock.now(), 1
    shows[nudge_id] = 1
    b = service(running_app, Recorder(shows))
    assert b.deliver(nudge_id) == "not_claimed"  # the lease still runs
    running_app.clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    assert b.deliver_due() == 1
    assert shows == {nudge_id: 1}
    assert status(running_app, nudge_id) == ("sent", False, 2)


def test_one_send_cannot_outlast_the_claim_lease() -> None:
    """The background client's worst case (every retry, every timeout, every inline
    Retry-After wait) ends well inside the lease, so a live worker's claim is never
    taken over while it is still sending."""
    client = build_web_client(token="xoxb-test", base_url="http://127.0.0.1:9/api/")
    calls = 1 + sum(handler.max_retry_count for handler in client.retry_handlers)
    waits = sum(
        handler.max_retry_count * (MAX_INLINE_RETRY_AFTER + 1)
        for handler in client.retry_handlers
        if type(handler).__name__ == "PatientRateLimitHandler"
    ) + sum(
        handler.max_retry_count * 2.0  # the SDK's backoff: 0.5 s, 1 s, ...
        for handler in client.retry_handlers
        if type(handler).__name__ != "PatientRateLimitHandler"
    )
    worst = calls * client.timeout + waits
    assert worst < CLAIM_LEASE.total_seconds() * 0.75, worst
