"""Nudges: hear a vent in a deal channel, decide, record, deliver exactly once.

Recording and delivering are separate steps. The decision is written to the
database before Slack gets its acknowledgement (so a crash cannot lose it and
the unique key stops any second copy); delivery then claims the row, posts,
and marks it sent. Rows left behind by a crash or a Slack outage are picked up
again by `deliver_due`, run by the scheduler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Row,
    bindparam,
    case,
    or_,
    select,
    true,
    update,
)

from bot.domain.clock import Clock
from bot.domain.cooldown import CooldownPolicy, PastNudge
from bot.domain.detection import Detection, detect
from bot.domain.questions import QuestionLibrary, move_scores
from bot.domain.statuses import DeliveryMode, NudgeFeedback, NudgeState, NudgeTrigger
from bot.domain.traps import Trap
from bot.observability import metrics
from bot.services.channels import ChannelDirectory
from bot.services.ports import DeliveryFailed, NudgeSender, OutgoingNudge
from bot.storage import repos
from bot.storage.db import Database, UTCDateTime
from bot.storage.models import Nudge, Rep

log = logging.getLogger(__name__)

# What IncomingMessage carries: a message or a mention ("command" rows are /reframe's own).
Trigger = NudgeTrigger
FeedbackChoice = NudgeFeedback

# A claim older than this belongs to a process that died mid-send.
CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
PAUSE_LENGTH = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    team_id: str
    channel_id: str
    user_id: str
    ts: str
    thread_ts: str | None
    text: str
    trigger: Trigger = NudgeTrigger.MESSAGE


@dataclass(frozen=True, slots=True)
class _Claim:
    """Which attempt this worker owns: the attempts count its claim wrote."""

    nudge_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class RecordedNudge:
    """A nudge just recorded, already claimed by this process for its first attempt
    (one transaction records and claims it), with what posting it needs: delivering
    it reads nothing back."""

    claim: _Claim
    outgoing: OutgoingNudge
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    recorded: bool
    reason: str  # recorded | not_found | not_yours
    paused_until: datetime | None = None
    question: str | None = None
    trigger: NudgeTrigger | None = None  # COMMAND: the rating was on a /reframe answer


def _claimable(
    now: datetime | BindParameter[datetime], lease_ended: datetime | BindParameter[datetime]
) -> ColumnElement[bool]:
    """Pending and due, or claimed by a worker whose lease ran out (table columns:
    an ORM attribute here would turn the Core statements below into ORM ones)."""
    c = repos.NUDGES.c
    return or_(
        (c.status == NudgeState.PENDING)
        & or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
        (c.status == NudgeState.SENDING) & (c.claimed_at < lease_ended),
    )


# Built once (bound parameters), on the table (Core): every nudge runs them.
_NUDGES = repos.NUDGES
_NOW = bindparam("now", type_=UTCDateTime())
_CLAIMABLE = _claimable(_NOW, bindparam("lease_ended", type_=UTCDateTime()))
# Taking a claim: the attempt counted, and a claim taken over from a worker whose
# lease ran out marked in doubt (it may have posted).
_TAKE = {
    "status": NudgeState.SENDING,
    "claimed_at": _NOW,
    "attempts": _NUDGES.c.attempts + 1,
    "in_doubt": case((_NUDGES.c.status == NudgeState.SENDING, true()), else_=_NUDGES.c.in_doubt),
}
_CLAIM = (
    update(_NUDGES)
    .where(_NUDGES.c.id == bindparam("nudge_id"), _CLAIMABLE)
    .values(_TAKE)
    .returning(*_NUDGES.c)
)
# The sweep's claim: the oldest claimable nudge no other process is claiming right
# now (SKIP LOCKED; SQLite has one writer at a time), so sweeping processes share
# the work instead of each walking the same rows.
_NEXT_CLAIMABLE = (
    select(_NUDGES.c.id)
    .where(_CLAIMABLE)
    .order_by(_NUDGES.c.created_at, _NUDGES.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM_NEXT = (
    update(_NUDGES)
    .where(_NUDGES.c.id == _NEXT_CLAIMABLE, _CLAIMABLE)
    .values(_TAKE)
    .returning(*_NUDGES.c)
)
_FINISH = (
    update(_NUDGES)
    .where(
        _NUDGES.c.id == bindparam("nudge_id"),
        _NUDGES.c.attempts == bindparam("claimed_attempts"),
        # A write retried after a lost commit finds its own status already there.
        _NUDGES.c.status.in_((NudgeState.SENDING, bindparam("new_status"))),
    )
    .values(
        status=bindparam("new_status"),
        last_error=bindparam("new_last_error"),
        sent_at=bindparam("new_sent_at", type_=UTCDateTime()),
        next_attempt_at=bindparam("new_next_attempt_at", type_=UTCDateTime()),
        in_doubt=bindparam("new_in_doubt"),
    )
)


# A recorded nudge whose delivery never started (the process is stopping): its
# first attempt was never made, so it goes back to pending, not in doubt.
_RELEASE = (
    update(_NUDGES)
    .where(
        _NUDGES.c.id == bindparam("nudge_id"),
        _NUDGES.c.attempts == bindparam("claimed_attempts"),
        _NUDGES.c.status == NudgeState.SENDING,
    )
    .values(status=NudgeState.PENDING, attempts=_NUDGES.c.attempts - 1, claimed_at=None)
)


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 60 s, 120 s… between delivery attempts."""
    return timedelta(seconds=15 * 2 ** max(0, attempts - 1))


class NudgeService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        library: QuestionLibrary,
        channels: ChannelDirectory,
        sender: NudgeSender,
        policy: CooldownPolicy,
        delivery_window: timedelta,
        detector: Callable[[str], Detection] = detect,
        on_rep_seen: Callable[[str, str, str], None] | None = None,
        policy_for: Callable[[str], CooldownPolicy] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._library = library
        self._channels = channels
        self._sender = sender
        self._policy = policy
        # A workspace's own cooldown and daily limit (App Home), else `policy`.
        self._policy_for = policy_for or (lambda _team_id: policy)
        self._window = delivery_window
        self._detect = detector
        self._on_rep_seen = on_rep_seen
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Shutdown: the sweep takes no further nudges (they stay pending for the next start)."""
        self._stopping.set()

    # -- deciding ---------------------------------------------------------

    def on_message(self, message: IncomingMessage) -> RecordedNudge | None:
        """Record a nudge for this message if it deserves one, claimed for delivery.

        Returns None when the bot stays silent: not a deal channel, no trap,
        the rep paused us or heard from us recently, or the message already
        has its nudge (a retry or a duplicate delivery). Hand what it returns to
        `deliver_recorded` (or `deliver_on`).
        """
        if message.trigger == NudgeTrigger.MESSAGE:
            if not self._channels.is_deal_channel(message.team_id, message.channel_id):
                return None
            if self._on_rep_seen is not None:
                self._on_rep_seen(message.team_id, message.user_id, message.channel_id)
        detection = self._detect(message.text)
        if not detection.nudge and message.trigger == NudgeTrigger.MESSAGE:
            return None
        delivery = (
            self._channels.delivery_mode(message.team_id, message.channel_id)
            if message.trigger == NudgeTrigger.MESSAGE
            else DeliveryMode.EPHEMERAL
        )
        return self._record(message, detection, delivery)

    def _record(
        self, message: IncomingMessage, detection: Detection, delivery: DeliveryMode
    ) -> RecordedNudge | None:
        """One transaction of four statements on a Core connection: the rep's row
        locked (decisions about one rep take turns), its history read in one round
        trip, the nudge inserted already claimed for its first attempt."""
        now = self._clock.now()
        # Read before the transaction (the settings have one of their own; SQLite
        # allows one writer at a time).
        policy = self._policy_for(message.team_id)
        who = {"team_id": message.team_id, "user_id": message.user_id}
        traps = ",".join(detection.traps)
        with self._db.connection() as connection:
            rep = repos.lock_rep_gate(connection, **who, now=now)
            history = repos.rep_history(
                connection,
                team_id=message.team_id,
                user_id=message.user_id,
                since=now - policy.lookback,
            )
            if message.trigger == NudgeTrigger.MESSAGE and not self._may_nudge(
                rep, message, now, policy, history.nudges
            ):
                return None
            if message.trigger == NudgeTrigger.MENTION and rep.opted_out_at is not None:
                repos.opt_back_in(connection, **who)
            question = self._library.choose(
                detection.main_trap,
                history.question_ids,
                heard=detection.traps,
                move_scores=move_scores(history.feedback, self._library),
            )
            inserted = repos.insert_nudge(
                connection,
                **who,
                channel_id=message.channel_id,
                message_ts=message.ts,
                thread_ts=message.thread_ts,
                trigger=message.trigger,
                traps=traps,
                question_id=question.id,
                delivery=delivery,
                # Claimed by this process for its first attempt, so delivering it
                # needs no claim of its own. Should the process die before posting,
                # the sweep takes it over when the lease ends, as any claim.
                status=NudgeState.SENDING,
                attempts=1,
                claimed_at=now,
                created_at=now,
            )
        if inserted is None:
            log.info("nudge already recorded for this message; not sending another")
            return None
        metrics.count("nudges_recorded")
        log.info(
            "nudge recorded",
            extra={"team_id": message.team_id, "nudge_id": inserted, "traps": detection.traps},
        )
        outgoing = OutgoingNudge(
            nudge_id=inserted,
            team_id=message.team_id,
            channel_id=message.channel_id,
            user_id=message.user_id,
            message_ts=message.ts,
            thread_ts=message.thread_ts,
            delivery=delivery,
            question=question.text,
            heard=_heard(traps) if message.trigger == NudgeTrigger.MENTION else (),
        )
        return RecordedNudge(_Claim(inserted, attempts=1), outgoing, created_at=now)

    def _may_nudge(
        self,
        rep: repos.RepGate,
        message: IncomingMessage,
        now: datetime,
        policy: CooldownPolicy,
        history: list[PastNudge],
    ) -> bool:
        if rep.opted_out_at is not None:
            return False  # forget-me: left out until they ask for Reframe again
        if rep.nudges_paused_until is not None and rep.nudges_paused_until > now:
            return False
        return policy.allows(now=now, channel_id=message.channel_id, history=history)

    # -- delivering -------------------------------------------------------

    def deliver_on(self, executor: Executor, recorded: RecordedNudge) -> None:
        """Deliver a recorded nudge on `executor` (after Slack has its answer). If
        the executor never runs it (the process is stopping), the claim is let go
        at once, so the sweep sends it without treating it as in doubt."""

        def never_ran(done: Future[Any]) -> None:
            if done.cancelled():
                self.release(recorded)

        try:
            future = executor.submit(self.deliver_recorded, recorded)
        except RuntimeError:  # a stdlib executor already shut down refuses outright
            self.release(recorded)
            return
        future.add_done_callback(never_ran)

    def deliver_recorded(self, recorded: RecordedNudge) -> str:
        """Post a nudge `on_message` recorded and claimed, and mark it. Returns the
        nudge's status afterwards."""
        if self._clock.now() - recorded.created_at > self._window:
            return self._finish(
                recorded.claim, NudgeState.EXPIRED, error="older than the delivery window"
            )
        return self._post(recorded.claim, recorded.outgoing)

    def release(self, recorded: RecordedNudge) -> None:
        """Give back the claim of a recorded nudge whose delivery never started."""
        claim = recorded.claim
        values = {"nudge_id": claim.nudge_id, "claimed_attempts": claim.attempts}

        def write(connection: Connection) -> int:
            return int(connection.execute(_RELEASE, values).rowcount)

        try:
            released = self._db.write_retrying_statement(write)
        except Exception:  # noqa: BLE001 - the lease ends anyway; the sweep settles it then
            log.exception("could not give back a nudge's claim", extra={"nudge_id": claim.nudge_id})
            return
        if released:
            log.info("nudge left pending for the sweep", extra={"nudge_id": claim.nudge_id})

    def deliver(self, nudge_id: int) -> str:
        """Claim, post, mark. Returns the nudge's status afterwards (or 'not_claimed').

        Exactly once: a nudge whose earlier attempt may have reached Slack (its
        answer was lost, or the process died mid-send) is looked for before it
        is posted again. An ephemeral nudge leaves nothing to look for, so a
        doubtful one is dropped ("unconfirmed") rather than risk showing it twice.
        """
        nudge = self._claim(_CLAIM, self._clock.now(), nudge_id=nudge_id)
        if nudge is None:
            return "not_claimed"
        return self._deliver_claimed(nudge)

    def _deliver_claimed(self, nudge: Row[Any]) -> str:
        now = self._clock.now()
        claim = _Claim(nudge.id, nudge.attempts)
        if now - nudge.created_at > self._window:
            return self._finish(claim, NudgeState.EXPIRED, error="older than the delivery window")
        question = self._library.get(nudge.question_id)
        if question is None:  # the library changed under a pending nudge
            return self._finish(
                claim, NudgeState.FAILED, error=f"unknown question {nudge.question_id}"
            )
        outgoing = OutgoingNudge(
            nudge_id=nudge.id,
            team_id=nudge.team_id,
            channel_id=nudge.channel_id,
            user_id=nudge.user_id,
            message_ts=nudge.message_ts,
            thread_ts=nudge.thread_ts,
            delivery=nudge.delivery,
            question=question.text,
            heard=_heard(nudge.traps) if nudge.trigger == NudgeTrigger.MENTION else (),
        )
        if nudge.in_doubt:
            settled = self._settle_doubt(claim, nudge, outgoing)
            if settled is not None:
                return settled
        return self._post(claim, outgoing)

    def _post(self, claim: _Claim, outgoing: OutgoingNudge) -> str:
        try:
            self._sender.send_nudge(outgoing)
        except DeliveryFailed as failure:
            return self._failed(claim, failure)
        return self._finish(claim, NudgeState.SENT, sent_at=self._clock.now())

    def _settle_doubt(self, claim: _Claim, nudge: Row[Any], outgoing: OutgoingNudge) -> str | None:
        """Look for the earlier attempt's post; None when it is not there (post now)."""
        try:
            found = self._sender.find_nudge(outgoing)
        except DeliveryFailed as failure:
            # Cannot look: try again later, still in doubt (a guess could double it).
            return self._failed(claim, failure, in_doubt=True)
        if found is None:
            log.warning(
                "an earlier try of an ephemeral nudge may have been shown; not posting again",
                extra={"nudge_id": nudge.id, "attempts": nudge.attempts},
            )
            return self._finish(
                claim,
                NudgeState.UNCONFIRMED,
                error="an earlier try may have been shown; not resent",
                in_doubt=True,
            )
        if found:
            metrics.count("nudges_found")
            log.info("nudge found already posted; marking it sent", extra={"nudge_id": nudge.id})
            return self._finish(claim, NudgeState.SENT, sent_at=self._clock.now())
        return None

    def deliver_due(self, limit: int = 200) -> int:
        """Deliver nudges left pending (Slack failed earlier, or a process died): up
        to `limit`, each claimed by one statement as the sweep comes to it."""
        sent = 0
        for _ in range(limit):
            if self._stopping.is_set():
                break
            nudge = self._claim(_CLAIM_NEXT, self._clock.now())
            if nudge is None:
                break
            sent += self._deliver_claimed(nudge) == NudgeState.SENT
        return sent

    def _claim(self, statement: Any, now: datetime, **which: int) -> Row[Any] | None:
        """Atomically take a nudge (this one, or the sweep's next); only one process
        can win. One statement: the claim returns the row as it now stands.

        Taking over a claim whose lease ran out means its worker died or hung
        mid-send: Slack may have the post, so the nudge is now in doubt.
        """
        values = {**which, "now": now, "lease_ended": now - CLAIM_LEASE}
        with self._db.statement() as connection:
            return connection.execute(statement, values).one_or_none()

    def _failed(self, claim: _Claim, failure: DeliveryFailed, *, in_doubt: bool = False) -> str:
        in_doubt = in_doubt or failure.maybe_delivered
        log.warning(
            "nudge delivery failed",
            extra={
                "nudge_id": claim.nudge_id,
                "reason": failure.reason,
                "retryable": failure.retryable,
                "in_doubt": in_doubt,
            },
        )
        if not failure.retryable or claim.attempts >= MAX_ATTEMPTS:
            return self._finish(claim, NudgeState.FAILED, error=failure.reason, in_doubt=in_doubt)
        wait = backoff(claim.attempts)
        if failure.retry_after is not None:
            wait = max(wait, timedelta(seconds=failure.retry_after))
        return self._finish(
            claim,
            NudgeState.PENDING,
            error=failure.reason,
            next_attempt_at=self._clock.now() + wait,
            in_doubt=in_doubt,
        )

    def _finish(
        self,
        claim: _Claim,
        status: NudgeState,
        *,
        error: str | None = None,
        sent_at: datetime | None = None,
        next_attempt_at: datetime | None = None,
        in_doubt: bool = False,
    ) -> str:
        """The attempt's outcome, written only while this worker still owns the claim.

        A worker that outlived its lease (Slack held it past the lease, the process
        froze) finds another worker took the nudge over: it writes nothing, and the
        new owner, seeing the nudge in doubt, looks before posting.
        """
        values = {
            "nudge_id": claim.nudge_id,
            "claimed_attempts": claim.attempts,
            "new_status": status,
            "new_last_error": error[:200] if error else None,
            "new_sent_at": sent_at,
            "new_next_attempt_at": next_attempt_at,
            "new_in_doubt": in_doubt,
        }

        # Slack may already have the message: losing this write to a dropped
        # connection or a restarting server would let the sweep send it again.
        def write(connection: Connection) -> int:
            return int(connection.execute(_FINISH, values).rowcount)

        written = self._db.write_retrying_statement(write)
        if not written:
            metrics.count("nudge_claims_lost")
            log.error(
                "nudge claim lost: another worker took this nudge over after its lease",
                extra={"nudge_id": claim.nudge_id, "attempts": claim.attempts, "status": status},
            )
            return "claim_lost"
        metrics.nudge_outcome(status)
        return status

    # -- feedback ---------------------------------------------------------

    def record_feedback(
        self, *, team_id: str, user_id: str, nudge_id: int, choice: FeedbackChoice
    ) -> FeedbackResult:
        now = self._clock.now()
        with self._db.transaction() as session:
            nudge = session.get(Nudge, nudge_id)
            if nudge is None or nudge.team_id != team_id:
                return FeedbackResult(False, "not_found")
            if nudge.user_id != user_id:
                return FeedbackResult(False, "not_yours")
            nudge.feedback = choice
            nudge.feedback_at = now
            paused_until = None
            if choice == NudgeFeedback.PAUSE:
                repos.ensure_rep(session, team_id=team_id, user_id=user_id, now=now)
                rep = repos.lock_rep(session, team_id=team_id, user_id=user_id)
                paused_until = now + PAUSE_LENGTH
                rep.nudges_paused_until = paused_until
        question = self._library.get(nudge.question_id)
        text = question.text if question else None
        return FeedbackResult(True, "recorded", paused_until, text, nudge.trigger)

    def resume(self, *, team_id: str, user_id: str) -> None:
        with self._db.transaction() as session:
            rep = session.get(Rep, (team_id, user_id))
            if rep is not None:
                rep.nudges_paused_until = None


_TRAP_CODES = frozenset(trap.value for trap in Trap)


def _heard(traps: str) -> tuple[Trap, ...]:
    return tuple(Trap(code) for code in traps.split(",") if code in _TRAP_CODES)
