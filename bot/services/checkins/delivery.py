"""The check-in tick: who is due, claim, post, mark, remind, exactly once.

What is due lives in the database, so a restart loses nothing. A tick (run by
the scheduler, or `python -m bot checkins send-due`) does four things:

1. refresh: look up reps whose eligibility or time zone is unknown or a day old
   (users.info; bots, deleted users and guests are never sent anything);
2. plan: insert this week's row for every rep whose check-in has fallen due
   (one row per rep per ISO week, a unique key, so any number of processes
   planning at once still make one); after more than a batch, the table's
   statistics are refreshed before the first claim and after the last post;
3. send: claim a due row with a conditional UPDATE (SKIP LOCKED on PostgreSQL),
   post the DM with no transaction open, then mark it sent. A claim left by a
   crashed process expires after a lease and is taken again; before posting a
   second time we look in the DM for the first post, so a crash or a timeout
   after Slack took the message does not make a duplicate;
4. remind: one reminder for check-ins still unanswered after a day (looked for
   in the DM before a second try, like the check-in itself).

Posts are paced: each one takes the workspace's next send slot from a schedule
shared by every process through the database (bot/storage/pacing.py), so the
DMs go out evenly at the configured rate instead of in bursts that run into
429s. When Slack answers 429 anyway, every process waits out Retry-After and
the pace slows; within a process the workers also share one "not before" time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.domain.clock import Clock
from bot.domain.schedule import (
    WeeklySchedule,
    catch_up_time,
    next_look,
    owed,
    retry_backoff,
)
from bot.domain.statuses import CheckinState, ReminderState
from bot.observability import metrics
from bot.services.checkins import due
from bot.services.checkins.ports import CheckinSlack, OutgoingCheckin, PostedMessage, RepProfile
from bot.services.checkins.results import SentCheckin, TickReport
from bot.services.ports import DeliveryFailed, PostPacer
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.models import Checkin, Rep

log = logging.getLogger(__name__)

# A claim older than this belongs to a process that died mid-send.
CLAIM_LEASE = timedelta(minutes=2)
# Eligibility and time zone are looked up again after this long.
PROFILE_MAX_AGE = timedelta(days=1)
PROFILE_BATCH = 2000
# Reps planned per transaction (each batch's row locks are held until it commits).
PLAN_BATCH = 1000
# Slack asking us to wait longer than this ends the tick's sending; the rest
# goes out on a later tick rather than holding claims while we sleep.
MAX_INLINE_WAIT = 20.0
MAX_INLINE_RATE_LIMITS = 30
REMINDER_RETRY = timedelta(minutes=5)
REMINDER_WINDOW = timedelta(days=8)


# What a claim returns, in _Claim's field order.
_CLAIM_COLUMNS = (
    Checkin.id,
    Checkin.team_id,
    Checkin.user_id,
    Checkin.week,
    Checkin.attempts,
    Checkin.due_at,
    Checkin.dm_channel_id,
)


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    team_id: str
    user_id: str
    week: str
    attempts: int
    due_at: datetime
    dm_channel_id: str | None


# -- the shared rate-limit pause --------------------------------------------


def claimable_checkins(now: datetime) -> tuple[Any, Any]:
    """(pending and due, claimed by a process whose lease ran out): what a claim takes."""
    due = and_(Checkin.due_at <= now, Checkin.expires_at > now)
    pending = and_(
        Checkin.status == CheckinState.PENDING,
        due,
        or_(Checkin.next_attempt_at.is_(None), Checkin.next_attempt_at <= now),
    )
    stale = and_(
        Checkin.status == CheckinState.SENDING, due, Checkin.claimed_at < now - CLAIM_LEASE
    )
    return pending, stale


def claim_candidate(claimable: Any, *only: Any) -> Select[int]:
    """The first free check-in of one kind (`claimable_checkins`), locked."""
    return (
        select(Checkin.id)
        .where(claimable, *only)
        .order_by(Checkin.due_at, Checkin.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


class RateGate:
    """A "not before" time shared by every worker in the process.

    A 429 moves it forward by Retry-After; every worker waits for it before its
    next call, so the whole process backs off at once and resumes at once.
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
    ) -> None:
        self._sleep = sleep
        self._monotonic = monotonic
        self._stopping = stopping or threading.Event()
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._deferrals = 0

    def defer(self, seconds: float) -> None:
        """Slack answered 429: nobody in this process posts for `seconds`."""
        with self._lock:
            self._deferrals += 1
        self.hold(seconds)

    def hold(self, seconds: float) -> None:
        """Take no new work for `seconds`; slots already taken stay good (no 429 came)."""
        with self._lock:
            self._not_before = max(self._not_before, self._monotonic() + max(0.0, seconds))

    @property
    def deferrals(self) -> int:
        """How many 429s moved the gate: a change means one came back meanwhile."""
        with self._lock:
            return self._deferrals

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._not_before - self._monotonic())

    def wait(self) -> None:
        """Until the pause ends, or the process is stopping."""
        while (delay := self.remaining()) > 0 and not self._stopping.is_set():
            self._sleep(delay)


# -- the service -----------------------------------------------------------


class CheckinDelivery:
    """Sends the weekly check-ins and their reminders; see the module docstring."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        slack: CheckinSlack,
        default_schedule: WeeklySchedule,
        reminder_after: timedelta = timedelta(hours=24),
        max_attempts: int = 6,
        workers: int = 8,
        gate: RateGate | None = None,
        pacer: PostPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        default_for: Callable[[str], WeeklySchedule] | None = None,
    ) -> None:
        # A workspace's own default day and time (App Home), else `default_schedule`.
        self.default_for = default_for or (lambda _team_id: default_schedule)
        # Set on shutdown: workers finish the post in hand and take no more; a
        # sleep for a slot or a rate-limit pause ends at once (claims go back).
        self._stopping = threading.Event()
        if sleep is time.sleep:
            sleep = self._nap
        self._db = db
        self._clock = clock
        self._slack = slack
        self._default = default_schedule
        self._reminder_after = reminder_after
        self._max_attempts = max_attempts
        self._workers = workers
        self._post_gate = gate or RateGate(
            sleep=sleep, monotonic=monotonic, stopping=self._stopping
        )
        self._profile_gate = RateGate(sleep=sleep, monotonic=monotonic, stopping=self._stopping)
        self._pacer: PostPacer = pacer or _Unpaced()
        self._sleep = sleep
        self._monotonic = monotonic

    @property
    def default_schedule(self) -> WeeklySchedule:
        return self._default

    def post_invitation(self, team_id: str, channel_id: str, user_id: str, when: str) -> None:
        """The one private invitation to join; raises DeliveryFailed."""
        self._slack.post_invitation(team_id, channel_id, user_id, when)

    def refresh_one(self, team_id: str, user_id: str) -> bool | None:
        """users.info for one rep now (the invitation, a command); see refresh_profiles."""
        return self._refresh_one(team_id, user_id, self._clock.now())

    def stop(self) -> None:
        """Stop sending promptly (SIGTERM): what is not sent stays due for the next start."""
        self._stopping.set()

    def _nap(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def send_due(self) -> TickReport:
        """One tick: refresh profiles, plan what fell due, send, remind."""
        report = TickReport()
        report.profiles_checked = self.refresh_profiles()
        now = self._clock.now()
        report.planned, more = self._plan_batch(now)
        if more:
            # A large company's Monday: the table grew by more than a batch.
            report.planned += self._plan(now)
            self._analyze_checkins()
        report.missed = self._expire(now)
        self._run_workers(lambda: self._drain_checkins(now, report))
        if more:
            # ...and its rows went from pending to sent: what the next ticks look for.
            self._analyze_checkins()
        self._run_workers(lambda: self._drain_reminders(now, report))
        if report.sent or report.failed or report.missed:
            log.info("check-in tick: %s", report)
        return report

    def deliver(self, checkin_id: int) -> str:
        """Send one check-in now (after `/reframe checkin now`); returns its status."""
        now = self._clock.now()
        with self._db.transaction() as session:
            row = session.get(Checkin, checkin_id)
            if row is None:
                return "not_found"
            rep_key = (row.team_id, row.user_id)
            rep = session.get(Rep, rep_key)
            eligible = rep.eligible if rep is not None else None
        if eligible is None:
            eligible = self._refresh_one(*rep_key, now)
        if eligible is False:
            self._finish(checkin_id, status=CheckinState.FAILED, error="not_eligible")
            return CheckinState.FAILED
        with self._db.transaction() as session:
            claim = self._claim(session, now, Checkin.id == checkin_id)
        if claim is None:
            return "not_claimed"
        report = TickReport()
        self._send_claimed(claim, report)
        if report.sent:
            return CheckinState.SENT
        return CheckinState.FAILED if report.failed else CheckinState.PENDING

    # refresh ------------------------------------------------------------

    def refresh_profiles(self) -> int:
        """Look up reps whose eligibility is unknown or whose time zone is a day old.

        A batch is claimed first (its check time set to now) so that two
        processes do not both ask Slack about the same reps; a rep whose lookup
        failed is asked about again once that claim is older than the lease.
        """
        now = self._clock.now()
        # Written as the partial indexes' conditions (ACTIVE_REP, UNKNOWN_REP), so that
        # PostgreSQL reads only the reps to look up ("IS true" would not match them).
        stale_rep = and_(
            Rep.checkins_enrolled_at.is_not(None),
            Rep.checkins_enabled,
            or_(
                Rep.tz_checked_at.is_(None),
                Rep.tz_checked_at < now - PROFILE_MAX_AGE,
                Rep.eligible.is_(None) & (Rep.tz_checked_at < now - CLAIM_LEASE),
            ),
        )
        batch = (
            select(Rep.team_id, Rep.user_id)
            .where(stale_rep)
            .order_by(Rep.eligible.is_not(None), Rep.tz_checked_at)
            .limit(PROFILE_BATCH)
            .with_for_update(skip_locked=True)
        )
        with self._db.transaction() as session:
            stale = session.execute(
                update(Rep)
                .where(tuple_(Rep.team_id, Rep.user_id).in_(batch), stale_rep)
                .values(tz_checked_at=now)
                .returning(Rep.team_id, Rep.user_id)
            ).all()
        if not stale:
            return 0
        work = iter(stale)
        lock = threading.Lock()
        checked = [0]

        def drain() -> None:
            while not self._stopping.is_set() and self._profile_gate.remaining() <= MAX_INLINE_WAIT:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                if self._refresh_one(item[0], item[1], now) is not None:
                    with lock:
                        checked[0] += 1

        self._run_workers(drain)
        return checked[0]

    def _refresh_one(self, team_id: str, user_id: str, now: datetime) -> bool | None:
        """users.info for one rep; the new eligibility, or None when Slack did not say."""
        self._profile_gate.wait()
        try:
            profile = self._slack.user_profile(team_id, user_id)
        except DeliveryFailed as failure:
            if failure.retry_after is not None:
                self._profile_gate.defer(failure.retry_after)
            if failure.retryable:
                log.info("users.info failed (%s); will ask again", failure.reason)
                return None
            profile = RepProfile(eligible=False, tz=None)  # user_not_found and the like
        default = self.default_for(team_id)  # before the transaction: SQLite's one writer
        with self._db.transaction() as session:
            rep = session.get(Rep, (team_id, user_id), with_for_update=True)
            if rep is None:  # forgotten meanwhile (forget-me, uninstall)
                return profile.eligible
            moved = (rep.eligible, rep.tz) != (profile.eligible, profile.tz)
            rep.eligible, rep.tz, rep.tz_checked_at = profile.eligible, profile.tz, now
            if moved or (rep.next_due_at is None and due.is_active(rep)):
                # A new zone moves the due time; a rep found eligible becomes due.
                due.reschedule(session, rep, default=default, now=now)
        return profile.eligible

    # plan ---------------------------------------------------------------

    def _plan(self, now: datetime) -> int:
        """Insert this week's row for every rep whose `next_due_at` has come, and
        move each one's `next_due_at` on; returns how many rows were new.

        Only due reps are read (an index on next_due_at), in batches claimed with
        FOR UPDATE SKIP LOCKED on PostgreSQL: processes planning at once take
        different reps, and a rep's row and its new next_due_at are written in
        the claim's transaction, so a rep is planned by one process once. SQLite
        has one writer at a time. The unique (rep, week) key still stands behind
        it all.
        """
        planned = 0
        while not self._stopping.is_set():
            count, more = self._plan_batch(now)
            planned += count
            if not more:
                break
        return planned

    def _plan_batch(self, now: datetime) -> tuple[int, bool]:
        """Plan up to PLAN_BATCH due reps in one transaction: (rows new, more due?)."""
        # The batch's workspaces' default schedules, read first: they come from
        # a transaction of their own, and SQLite has one writer at a time.
        defaults = {team_id: self.default_for(team_id) for team_id in self._due_teams(now)}
        if not defaults:
            return 0, False
        with self._db.transaction() as session:
            reps = session.scalars(
                select(Rep)
                .where(Rep.next_due_at <= now, Rep.team_id.in_(defaults))
                .order_by(Rep.next_due_at)
                .limit(PLAN_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            rows: list[dict[str, object]] = []
            looks: list[repos.NextLook] = []
            for rep in reps:
                row, next_due_at = self._row_owed(rep, defaults[rep.team_id], now)
                looks.append((rep.team_id, rep.user_id, next_due_at))
                if row is not None:
                    rows.append(row)
            planned = repos.insert_planned_checkins(session, rows)
            repos.move_next_due(session, looks)
        return planned, len(reps) == PLAN_BATCH

    def _analyze_checkins(self) -> None:
        """Fresh statistics after a large tick's planning and after its sending
        (repos.analyze_checkins)."""
        try:
            with self._db.transaction() as session:
                repos.analyze_checkins(session)
        except DBAPIError as error:
            # Plans stay as they were: slower claims, nothing lost.
            log.warning("could not analyze the check-ins table: %s", type(error.orig).__name__)

    def _due_teams(self, now: datetime) -> set[str]:
        """The workspaces of the next batch of due reps."""
        with self._db.transaction() as session:
            batch = (
                select(Rep.team_id)
                .where(Rep.next_due_at <= now)
                .order_by(Rep.next_due_at)
                .limit(PLAN_BATCH)
                .subquery()
            )
            return set(session.scalars(select(batch.c.team_id).distinct()))

    def _row_owed(
        self, rep: Rep, default: WeeklySchedule, now: datetime
    ) -> tuple[dict[str, object] | None, datetime | None]:
        """The row of the check-in this rep is owed now, if any, and the rep's next
        look: past that check-in, or at the first check-in still to come. (Written
        for the whole batch at once by the caller, not by the ORM rep by rep.)"""
        if not due.is_active(rep):  # a row changed without going through due.py
            return None, None
        assert rep.checkins_enrolled_at is not None
        schedule = due.schedule_of(rep, default)
        owed_now = owed(now, schedule, enrolled_at=rep.checkins_enrolled_at)
        next_due_at = next_look(
            now,
            schedule,
            enrolled_at=rep.checkins_enrolled_at,
            planned_weeks=frozenset() if owed_now is None else frozenset({owed_now.week}),
        )
        if owed_now is None:
            return None, next_due_at
        row = {
            "team_id": rep.team_id,
            "user_id": rep.user_id,
            "week": owed_now.week,
            "due_at": catch_up_time(now, owed_now, schedule.tz),
            "expires_at": owed_now.ends_at,
            "status": CheckinState.SKIPPED
            if rep.skip_week == owed_now.week
            else CheckinState.PENDING,
            "attempts": 0,
            "is_manual": False,
        }
        return row, next_due_at

    def _expire(self, now: datetime) -> int:
        """Check-ins whose week ended before they could be sent are missed, not sent late."""
        with self._db.transaction() as session:
            missed = session.execute(
                update(Checkin)
                .where(
                    Checkin.status.in_((CheckinState.PENDING, CheckinState.SENDING)),
                    Checkin.expires_at <= now,
                    or_(
                        Checkin.status == CheckinState.PENDING,
                        Checkin.claimed_at < now - CLAIM_LEASE,
                    ),
                )
                .values(status=CheckinState.MISSED, last_error="week ended before it could be sent")
                .returning(Checkin.id)
            ).all()
        if missed:
            log.warning("check-ins missed: their week ended unsent", extra={"count": len(missed)})
        return len(missed)

    # send ---------------------------------------------------------------

    def _run_workers(self, work: Callable[[], None]) -> None:
        with ThreadPoolExecutor(self._workers, thread_name_prefix="reframe-checkin") as pool:
            for future in [pool.submit(work) for _ in range(self._workers)]:
                future.result()

    def _drain_checkins(self, now: datetime, report: TickReport) -> None:
        # Claim while Slack's pause runs, post when it ends: the database work is
        # done by the time the gate opens, so the rate-limit window is not wasted.
        while not self._stopping.is_set() and self._post_gate.remaining() <= MAX_INLINE_WAIT:
            with self._db.transaction() as session:
                claim = self._claim(session, now)
            if claim is None:
                return
            self._send_claimed(claim, report)

    def _claim(self, session: Session, now: datetime, *only: Any) -> _Claim | None:
        """Take one due check-in; of several processes racing for it, one wins.

        On PostgreSQL, SKIP LOCKED lets racing workers take different rows instead
        of queueing on the same one, and FOR UPDATE checks the WHERE again on the
        row it locks; SQLite runs the statement with its one writer. A claim whose
        lease ran out (its process died) is taken first, then the next pending one:
        each a separate statement, so each reads the (status, due_at, id) index in
        order and stops at the first free row. One statement with both (an OR) read
        and sorted every pending row: 135 ms a claim with 50,000 waiting.

        The plan reads the index only while PostgreSQL's statistics know how many
        rows wait; a large tick refreshes them before its first claim
        (`_analyze_checkins`). The UPDATE finds the row by its id alone:
        FOR UPDATE has checked the WHERE on the row it locked.
        """
        for claimable in reversed(claimable_checkins(now)):
            candidate = claim_candidate(claimable, *only).scalar_subquery()
            row = session.execute(
                update(Checkin)
                .where(Checkin.id == candidate)
                .values(
                    status=CheckinState.SENDING,
                    claimed_at=self._clock.now(),
                    attempts=Checkin.attempts + 1,
                )
                .returning(*_CLAIM_COLUMNS)
            ).one_or_none()
            if row is not None:
                return _Claim(*row)
        return None

    def _send_claimed(self, claim: _Claim, report: TickReport) -> None:
        if claim.attempts > 1:
            # Claimed before: the earlier attempt may have reached Slack (a crash
            # after posting, or a timeout on the answer). Look before posting again.
            found = self._find_earlier_post(claim)
            if found is not None:
                self._mark_sent(claim, found, report)
                return
        outgoing = OutgoingCheckin(claim.id, claim.team_id, claim.user_id, claim.week)
        for _ in range(MAX_INLINE_RATE_LIMITS):
            wait = self._wait_for_slot(claim.team_id)
            if wait is not None:
                # The slot is too far off to hold the claim: give it back untried.
                self._finish(
                    claim.id,
                    status=CheckinState.PENDING,
                    attempts=claim.attempts - 1,
                    next_attempt_at=self._clock.now() + timedelta(seconds=wait),
                )
                return
            try:
                posted = self._slack.post_checkin(outgoing)
            except DeliveryFailed as failure:
                if failure.retry_after is not None:
                    self._rate_limited(claim.team_id, failure.retry_after)
                    if failure.retry_after <= MAX_INLINE_WAIT:
                        continue  # the same claim, once the whole process has waited
                self._record_failure(claim, failure, report)
                return
            self._mark_sent(claim, posted, report)
            return
        self._record_failure(
            claim, DeliveryFailed("ratelimited", retryable=True, retry_after=1.0), report
        )

    def _wait_for_slot(self, team_id: str) -> float | None:
        """Sleep until this post's slot in the workspace's shared schedule.

        None once it is time to post; the seconds still to go when the slot is
        further away than a tick should hold a claim (after a long Retry-After).
        A 429 answered to this process while we slept means the slot was taken
        before the pause began: take a new one.
        """
        while True:
            pause = self._post_gate.remaining()
            if pause > MAX_INLINE_WAIT or self._stopping.is_set():
                return pause  # stopping: give the claim back, due again at once
            self._post_gate.wait()
            seen = self._post_gate.deferrals
            delay = self._pacer.reserve(team_id)
            slot = self._monotonic() + delay
            if delay > MAX_INLINE_WAIT:
                # A long Retry-After met by another process, or a slow pace:
                # this process stops claiming until then (the drain loops
                # watch the gate), while workers already holding a nearer
                # slot still post in it.
                self._post_gate.hold(delay)
                return delay
            if delay > 0:
                self._sleep(delay)
            if self._stopping.is_set():
                return 0.0
            if self._post_gate.deferrals == seen:
                # Woken late (a busy machine, a collection): the posts a window later
                # would arrive too close behind this one; the schedule moves back.
                self._pacer.posted_late(team_id, self._monotonic() - slot)
                return None

    def _rate_limited(self, team_id: str, retry_after: float) -> None:
        self._post_gate.defer(retry_after)
        self._pacer.rate_limited(team_id, retry_after)

    def _find_earlier_post(self, claim: _Claim) -> PostedMessage | None:
        try:
            return self._slack.find_checkin(claim.team_id, claim.user_id, claim.id)
        except DeliveryFailed as failure:
            # Better a rare duplicate than a lost check-in; say so in the log.
            log.warning(
                "could not look for an earlier post; sending again",
                extra={"checkin_id": claim.id, "reason": failure.reason},
            )
            return None

    def _mark_sent(self, claim: _Claim, posted: PostedMessage, report: TickReport) -> None:
        self._finish(
            claim.id,
            status=CheckinState.SENT,
            sent_at=self._clock.now(),
            dm_channel_id=posted.channel_id,
            message_ts=posted.ts,
        )
        report.sent.append(SentCheckin(claim.team_id, claim.user_id, claim.week))
        # Every path that sends one (the tick, `/reframe checkin now`) passes here.
        metrics.count("checkins_sent")
        log.info("check-in sent", extra={"team_id": claim.team_id, "checkin_id": claim.id})

    def _record_failure(self, claim: _Claim, failure: DeliveryFailed, report: TickReport) -> None:
        if not failure.retryable or claim.attempts >= self._max_attempts:
            self._finish(claim.id, status=CheckinState.FAILED, error=failure.reason)
            report.failed += 1
            metrics.count("checkins_failed")
            log.error(
                "check-in could not be delivered; giving up",
                extra={
                    "team_id": claim.team_id,
                    "checkin_id": claim.id,
                    "attempts": claim.attempts,
                    "reason": failure.reason,
                },
            )
            return
        wait = retry_backoff(claim.attempts)
        if failure.retry_after is not None:
            # Slack said exactly when; a 429 is about our pace, not this message,
            # so no extra backoff on top (it only left the tail of a big send idle).
            wait = timedelta(seconds=failure.retry_after)
        self._finish(
            claim.id,
            status=CheckinState.PENDING,
            error=failure.reason,
            next_attempt_at=self._clock.now() + wait,
        )
        report.retrying += 1
        log.warning(
            "check-in delivery failed; will retry",
            extra={"checkin_id": claim.id, "attempts": claim.attempts, "reason": failure.reason},
        )

    def _finish(
        self, checkin_id: int, *, status: CheckinState, error: str | None = None, **values: Any
    ) -> None:
        with self._db.transaction() as session:
            session.execute(
                update(Checkin)
                .where(Checkin.id == checkin_id)
                .values(status=status, last_error=error[:200] if error else None, **values)
            )

    # remind -------------------------------------------------------------

    def _reminder_claimable(self, now: datetime) -> Any:
        return and_(
            Checkin.status == CheckinState.SENT,
            Checkin.answer.is_(None),
            Checkin.dm_channel_id.is_not(None),
            Checkin.sent_at <= now - self._reminder_after,
            # Implied by expires_at (a week is at most 7 days and an hour), and what
            # lets the sweep read only recent rows (ix_checkins_awaiting_reminder).
            Checkin.sent_at > now - REMINDER_WINDOW,
            Checkin.expires_at > now,
            or_(Checkin.next_attempt_at.is_(None), Checkin.next_attempt_at <= now),
            or_(
                Checkin.reminder_status.is_(None),
                Checkin.reminder_status == ReminderState.RETRY,
                Checkin.reminder_status.in_((ReminderState.SENDING, ReminderState.RESENDING))
                & (Checkin.claimed_at < now - CLAIM_LEASE),
            ),
        )

    def _drain_reminders(self, now: datetime, report: TickReport) -> None:
        while not self._stopping.is_set() and self._post_gate.remaining() <= MAX_INLINE_WAIT:
            self._post_gate.wait()
            with self._db.transaction() as session:
                claimed = self._claim_reminder(session, now)
            if claimed is None:
                return
            self._send_reminder(*claimed, report)

    def _claim_reminder(self, session: Session, now: datetime) -> tuple[_Claim, bool] | None:
        """Take one due reminder, and whether it was tried before ("resending"):
        then Slack may already have it, and the DM is looked at before posting."""
        enabled = (
            select(Rep.user_id)
            .where(
                Rep.team_id == Checkin.team_id,
                Rep.user_id == Checkin.user_id,
                Rep.checkins_enabled.is_(True),
            )
            .exists()
        )
        candidate: Select[Any] = (
            select(Checkin.id)
            .where(self._reminder_claimable(now), enabled)
            .order_by(Checkin.sent_at, Checkin.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=Checkin)
        )
        row = session.execute(
            update(Checkin)
            .where(Checkin.id == candidate.scalar_subquery(), self._reminder_claimable(now))
            .values(
                reminder_status=case(
                    (Checkin.reminder_status.is_(None), ReminderState.SENDING.value),
                    else_=ReminderState.RESENDING.value,
                ),
                claimed_at=self._clock.now(),
            )
            .returning(*_CLAIM_COLUMNS, Checkin.reminder_status)
        ).one_or_none()
        if row is None:
            return None
        # `returning(*_CLAIM_COLUMNS, …)` is beyond SQLAlchemy's per-column typing.
        values: tuple[Any, ...] = tuple(row)
        return _Claim(*values[:-1]), values[-1] == ReminderState.RESENDING

    def _send_reminder(self, claim: _Claim, tried_before: bool, report: TickReport) -> None:
        assert claim.dm_channel_id is not None
        if tried_before:
            try:
                found = self._slack.find_reminder(claim.team_id, claim.dm_channel_id, claim.id)
            except DeliveryFailed as failure:
                # A missed reminder is a small loss; a second one is nagging: wait.
                self._reminder_failed(claim, failure)
                return
            if found:
                self._reminder_sent(claim, report)
                return
        wait = self._wait_for_slot(claim.team_id)
        if wait is not None:
            # Untried this time; a reminder tried before still gets looked for first.
            self._update_checkin(
                claim.id,
                reminder_status=ReminderState.RETRY if tried_before else None,
                next_attempt_at=self._clock.now() + timedelta(seconds=wait),
            )
            return
        try:
            self._slack.post_reminder(claim.team_id, claim.dm_channel_id, claim.id)
        except DeliveryFailed as failure:
            if failure.retry_after is not None:
                self._rate_limited(claim.team_id, failure.retry_after)
            self._reminder_failed(claim, failure)
            return
        self._reminder_sent(claim, report)

    def _reminder_sent(self, claim: _Claim, report: TickReport) -> None:
        self._update_checkin(
            claim.id, reminder_status=ReminderState.SENT, reminder_sent_at=self._clock.now()
        )
        report.reminded += 1

    def _reminder_failed(self, claim: _Claim, failure: DeliveryFailed) -> None:
        # RETRY, not None: Slack may have taken it (a timeout), so look first next time.
        values: dict[str, Any] = (
            {
                "reminder_status": ReminderState.RETRY,
                "next_attempt_at": self._clock.now() + REMINDER_RETRY,
            }
            if failure.retryable
            else {"reminder_status": ReminderState.FAILED}
        )
        self._update_checkin(claim.id, **values)
        log.warning(
            "check-in reminder failed",
            extra={"checkin_id": claim.id, "reason": failure.reason},
        )

    def _update_checkin(self, checkin_id: int, **values: Any) -> None:
        with self._db.transaction() as session:
            session.execute(update(Checkin).where(Checkin.id == checkin_id).values(**values))

    def count_by_status(self) -> dict[str, int]:
        """How many check-ins are in each state (benchmarks and operators)."""
        with self._db.transaction() as session:
            return dict(
                session.execute(select(Checkin.status, func.count()).group_by(Checkin.status)).all()
            )


class _Unpaced:
    """No shared schedule (a service built without one): post at once."""

    def reserve(self, team_id: str) -> float:
        return 0.0

    def rate_limited(self, team_id: str, retry_after: float) -> None:
        return None

    def posted_late(self, team_id: str, lateness: float) -> None:
        return None
