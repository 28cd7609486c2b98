"""A nudge's claim and its lease: a worker that outlives its lease finds the nudge
taken over and writes nothing, and the new owner looks before it posts."""

from __future__ import annotations

import threading
import zlib
from datetime import timedelta

from sqlalchemy import select

from bot.domain.cooldown import CooldownPolicy
from bot.services.nudges import CLAIM_LEASE, IncomingMessage, NudgeService, RecordedNudge
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


def record(
    worker: NudgeService, delivery: str = "ephemeral", user: str = "U0SLOW"
) -> RecordedNudge:
    ts = f"1700000300.{zlib.crc32(user.encode()) % 1_000_000:06d}"
    message = IncomingMessage("T0TEAM", "C0DEAL", user, ts, None, VENT)
    recorded = worker.on_message(message)
    assert recorded is not None
    if delivery != "ephemeral":
        with worker._db.transaction() as session:  # noqa: SLF001 - set up the row's mode
            session.get_one(Nudge, recorded.claim.nudge_id).delivery = delivery
    return recorded


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
    recorded = record(a)
    nudge_id = recorded.claim.nudge_id
    outcomes["a"] = a.deliver_recorded(recorded)
    # B could not tell whether A's ephemeral post showed, so it did not post again.
    assert outcomes == {"b": "unconfirmed", "a": "claim_lost"}
    assert shows == {nudge_id: 1}
    assert status(running_app, nudge_id) == ("unconfirmed", True, 2)


def test_a_thread_nudge_taken_over_after_a_crash_is_found_not_reposted(
    running_app: RunningApp,
) -> None:
    shows: dict[int, int] = {}
    a = service(running_app, Recorder(shows))
    nudge_id = record(a, delivery="thread").claim.nudge_id
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


def test_recording_claims_the_nudge_and_delivering_it_reads_nothing_back(
    running_app: RunningApp,
) -> None:
    """One transaction records the nudge already claimed for attempt 1; posting it
    then runs one statement (marking it sent), no claim and no read."""
    from sqlalchemy import event

    shows: dict[int, int] = {}
    worker = service(running_app, Recorder(shows))
    recorded = record(worker)
    nudge_id = recorded.claim.nudge_id
    assert status(running_app, nudge_id) == ("sending", False, 1)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split()[0])

    engine = running_app.reframe.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert worker.deliver_recorded(recorded) == "sent"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["UPDATE"]
    assert shows == {nudge_id: 1}
    assert status(running_app, nudge_id) == ("sent", False, 1)
    # The sweep finds nothing left to do.
    running_app.clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    assert worker.deliver_due() == 0 and shows == {nudge_id: 1}


def test_a_delivery_that_never_starts_gives_its_claim_back(running_app: RunningApp) -> None:
    """Stopping: queued deliveries are cancelled, and one refused outright. Their
    nudges go back to pending (not in doubt), and the sweep posts each once."""
    from concurrent.futures import ThreadPoolExecutor

    shows: dict[int, int] = {}
    worker = service(running_app, Recorder(shows))
    refused, queued = record(worker), record(worker, user="U0OTHERREP")
    stopped = ThreadPoolExecutor(max_workers=1)
    stopped.shutdown()
    worker.deliver_on(stopped, refused)  # submit raises: nothing was started

    blocking = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    blocking.submit(gate.wait)
    worker.deliver_on(blocking, queued)
    blocking.shutdown(wait=False, cancel_futures=True)
    gate.set()
    blocking.shutdown(wait=True)
    for recorded in (refused, queued):
        assert status(running_app, recorded.claim.nudge_id) == ("pending", False, 0)
    assert shows == {}
    assert worker.deliver_due() == 2
    assert shows == {refused.claim.nudge_id: 1, queued.claim.nudge_id: 1}
    # A released claim is only given back once: the second call finds it gone.
    worker.release(refused)
    assert status(running_app, refused.claim.nudge_id) == ("sent", False, 1)


def test_two_sweeps_share_the_pending_nudges_without_walking_the_same_rows(
    running_app: RunningApp,
) -> None:
    """Two processes' sweeps at once: each claims the next nudge nobody else is
    claiming, so every nudge is posted once and no claim is spent on a nudge the
    other sweep already holds (one empty claim each, when nothing is left)."""
    import time

    from sqlalchemy import event

    shows: dict[int, int] = {}
    lock = threading.Lock()

    class Slow(Recorder):
        def send_nudge(self, nudge: OutgoingNudge) -> None:
            time.sleep(0.01)  # a Slack call's worth: the two sweeps overlap
            with lock:
                super().send_nudge(nudge)

    recorder = Slow(shows)
    a, b = service(running_app, recorder), service(running_app, recorder)
    recorded = [record(a, user=f"U0REP{i:02d}") for i in range(8)]
    for r in recorded:
        a.release(r)  # pending, as after a refused delivery
    claims: list[str] = []

    def before(_c: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE nudges SET status") and "RETURNING" in statement:
            claims.append(statement)

    engine = running_app.reframe.db.engine
    event.listen(engine, "before_cursor_execute", before)
    sent: dict[str, int] = {}
    try:
        threads = [
            threading.Thread(target=lambda n=n, w=w: sent.__setitem__(n, w.deliver_due()))
            for n, w in (("a", a), ("b", b))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert sent["a"] + sent["b"] == 8
    assert shows == {r.claim.nudge_id: 1 for r in recorded}
    # 8 claims that won, and one per sweep that found nothing left.
    assert len(claims) <= 8 + 2, len(claims)
