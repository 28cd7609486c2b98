"""The weekly team digest for managers: gather a closed week's figures, post them once.

`compose` reads one workspace's check-in answers, nudges and ratings and hands
them to bot/domain/digest.py with each rep replaced by a number, so the rules
there decide what may be shown and no user id can reach a digest.

A digest reports on the ISO week (in DIGEST_TZ) that ended before it went out.
A week's check-ins count when they closed (the rep's week ended, so the answer
can no longer change) by the time that week's digest is due; a week's figures
therefore come out the same in every later digest's trend, and comparing two
digests cannot reveal one rep's late answer.

`post_due` is the scheduler's tick. Once the digest time has come, it inserts
one row per workspace for the week just ended (unique per team and week, so
any number of processes make one), claims a row with a conditional UPDATE,
posts with no transaction open, and marks it. A failed post goes back to
pending for a later tick. A claim older than the lease belongs to a process
that died mid-send; its successor looks in each destination for the first post
before posting again. A digest not posted by the next one's time is missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.clock import Clock
from bot.domain.digest import (
    TREND_WEEKS,
    AnswerRecord,
    Digest,
    NudgeRecord,
    RatingRecord,
    build_digest,
    check_k,
)
from bot.domain.questions import QuestionLibrary
from bot.domain.schedule import (
    WeeklySchedule,
    local_to_utc,
    occurrence,
    parse_week,
    retry_backoff,
    shift_week,
    week_of,
)
from bot.domain.statuses import DigestState, NudgeFeedback, NudgeState, NudgeTrigger
from bot.services.ports import DeliveryFailed
from bot.storage.db import Database
from bot.storage.models import Checkin, DigestPost, Nudge, Rep

log = logging.getLogger(__name__)

# A post to a few destinations, each with the client's own retries, fits well inside.
CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
# Nudges that went out to a rep: from their messages and @mentions, not /reframe's
# own answers (those are asked for, not sent).
NUDGE_TRIGGERS = (NudgeTrigger.MESSAGE, NudgeTrigger.MENTION)
RATINGS = (NudgeFeedback.HELPFUL, NudgeFeedback.NOT_FOR_ME)


class DigestSlack(Protocol):
    """What the digest needs from Slack; bot/slack/digest_client.py implements it."""

    def post_digest(self, team_id: str, destination: str, digest: Digest) -> None:
        """Post to a channel id or a user id (a DM); raises DeliveryFailed."""
        ...

    def find_digest(self, team_id: str, destination: str, week: str, since: datetime) -> bool:
        """Whether our digest of `week` is among the destination's messages since
        `since`; raises DeliveryFailed when Slack cannot say."""
        ...


@dataclass
class DigestTick:
    planned: int = 0
    posted: list[tuple[str, str]] = field(default_factory=list)  # (team, week)
    retrying: int = 0
    failed: int = 0
    missed: int = 0

    def __bool__(self) -> bool:
        return bool(self.planned or self.posted or self.retrying or self.failed or self.missed)

    def __str__(self) -> str:
        return (
            f"posted {len(self.posted)}, planned {self.planned}, retrying {self.retrying}, "
            f"failed {self.failed}, missed {self.missed}"
        )


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    team_id: str
    week: str
    attempts: int
    due_at: datetime
    delivered: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """One workspace's digest: when, where to, and k."""

    schedule: WeeklySchedule
    k: int
    destinations: tuple[str, ...]


class DigestService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        library: QuestionLibrary,
        schedule: WeeklySchedule,
        k: int,
        destinations: Sequence[str] = (),
        slack: DigestSlack | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        config_for: Callable[[str], DigestConfig] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._library = library
        self.schedule = schedule
        self.k = check_k(k)
        self.destinations = tuple(destinations)
        self._slack = slack
        self._max_attempts = max_attempts
        default = DigestConfig(schedule, self.k, self.destinations)
        # A workspace's own digest settings (App Home), else the environment's.
        self._config_for = config_for or (lambda _team_id: default)
        self._per_workspace = config_for is not None
        # The reported week this process has planned, per workspace: the tick runs
        # every few seconds, the workspaces need reading once a week (a rep who
        # joins later in the week is in next week's digest).
        self._planned_week: dict[str, str] = {}

    @property
    def enabled(self) -> bool:
        """Whether the tick has anything to do: Slack, and somewhere to post (the
        environment names it, or workspaces may choose their own)."""
        return self._slack is not None and (bool(self.destinations) or self._per_workspace)

    def config(self, team_id: str) -> DigestConfig:
        return self._config_for(team_id)

    # -- which week -----------------------------------------------------------

    def reported_week(self, now: datetime, schedule: WeeklySchedule | None = None) -> str:
        """The week a digest made at `now` reports on: the last one that ended."""
        return shift_week(week_of(now, (schedule or self.schedule).tz), -1)

    @staticmethod
    def _cutoff(week: str, schedule: WeeklySchedule) -> datetime:
        """When the digest of `week` is due: the data it counts is what was final by then."""
        return occurrence(shift_week(week, 1), schedule).due_at

    @staticmethod
    def _week_start(week: str, schedule: WeeklySchedule) -> datetime:
        year, number = parse_week(week)
        return local_to_utc(date.fromisocalendar(year, number, 1), time(0, 0), schedule.tz)

    # -- composing ------------------------------------------------------------

    def compose(self, team_id: str, week: str | None = None) -> Digest:
        """The digest of `week` (by default the week just ended) for one workspace."""
        config = self.config(team_id)
        schedule = config.schedule
        week = week or self.reported_week(self._clock.now(), schedule)
        weeks = [shift_week(week, -back) for back in range(TREND_WEEKS - 1, -1, -1)]
        reps = _RepNumbers()
        with self._db.transaction() as session:
            answers = self._answers(session, team_id, weeks, reps, schedule)
            nudges = self._nudges(session, team_id, weeks, reps, schedule)
            ratings = self._ratings(session, team_id, week, reps, schedule)
        return build_digest(
            week=week,
            trend_weeks=weeks,
            k=config.k,
            answers=answers,
            nudges=nudges,
            ratings=ratings,
        )

    def _answers(
        self,
        session: Session,
        team_id: str,
        weeks: Sequence[str],
        reps: _RepNumbers,
        schedule: WeeklySchedule,
    ) -> list[AnswerRecord]:
        rows = session.execute(
            select(Checkin.user_id, Checkin.week, Checkin.answer, Checkin.expires_at).where(
                Checkin.team_id == team_id,
                Checkin.week.in_(weeks),
                Checkin.answer.is_not(None),
            )
        )
        cutoffs = {week: self._cutoff(week, schedule) for week in weeks}
        return [
            AnswerRecord(reps.of(user_id), week, str(answer))
            for user_id, week, answer, expires_at in rows
            # Still open at the cutoff: the rep may change it; counting it would let
            # the next digest's trend differ from this one by one rep's answer.
            if expires_at is None or expires_at <= cutoffs[week]
        ]

    def _nudges(
        self,
        session: Session,
        team_id: str,
        weeks: Sequence[str],
        reps: _RepNumbers,
        schedule: WeeklySchedule,
    ) -> list[NudgeRecord]:
        rows = session.execute(
            select(Nudge.user_id, Nudge.traps, Nudge.created_at, Nudge.sent_at).where(
                Nudge.team_id == team_id,
                Nudge.status == NudgeState.SENT,
                Nudge.trigger.in_(NUDGE_TRIGGERS),
                Nudge.created_at >= self._week_start(weeks[0], schedule),
                Nudge.created_at < self._week_start(shift_week(weeks[-1], 1), schedule),
            )
        )
        cutoffs = {week: self._cutoff(week, schedule) for week in weeks}
        records = []
        for user_id, traps, created_at, sent_at in rows:
            week = week_of(created_at, schedule.tz)
            main_trap = traps.split(",")[0] if traps else ""
            if main_trap and sent_at is not None and sent_at <= cutoffs[week]:
                records.append(NudgeRecord(reps.of(user_id), week, main_trap))
        return records

    def _ratings(
        self,
        session: Session,
        team_id: str,
        week: str,
        reps: _RepNumbers,
        schedule: WeeklySchedule,
    ) -> list[RatingRecord]:
        """Ratings given during the week (a rating can come weeks after its nudge)."""
        rows = session.execute(
            select(Nudge.user_id, Nudge.question_id, Nudge.feedback).where(
                Nudge.team_id == team_id,
                Nudge.feedback.in_(RATINGS),
                Nudge.feedback_at >= self._week_start(week, schedule),
                Nudge.feedback_at < self._week_start(shift_week(week, 1), schedule),
            )
        )
        records = []
        for user_id, question_id, feedback in rows:
            question = self._library.get(question_id)
            if question is not None:  # a question since removed from the library
                helpful = feedback == NudgeFeedback.HELPFUL
                records.append(RatingRecord(reps.of(user_id), question.move, helpful))
        return records

    # -- the tick -------------------------------------------------------------

    def post_due(self) -> DigestTick:
        """Plan this week's digests once their time has come, post what is due."""
        tick = DigestTick()
        if not self.enabled:
            return tick
        now = self._clock.now()
        tick.planned = self._plan(now)
        tick.missed = self._expire(now)
        while (claim := self._claim(now)) is not None:
            self._post_claimed(claim, tick)
        return tick  # the scheduler logs it when anything happened

    def _plan(self, now: datetime) -> int:
        """A row per workspace whose digest time has come this week, each on its own
        schedule (App Home), for the week that ended; workspaces posting nowhere skip."""
        with self._db.transaction() as session:
            teams = list(session.scalars(select(Rep.team_id).distinct()))
        rows: list[dict[str, object]] = []
        for team in teams:
            config = self.config(team)
            if not config.destinations:
                continue
            this_week = week_of(now, config.schedule.tz)
            due = occurrence(this_week, config.schedule)
            week = shift_week(this_week, -1)
            if now < due.due_at or self._planned_week.get(team) == week:
                continue
            expires_at = occurrence(shift_week(this_week, 1), config.schedule).due_at
            rows.append(
                {
                    "team_id": team,
                    "week": week,
                    "due_at": due.due_at,
                    "expires_at": expires_at,
                    "status": DigestState.PENDING,
                    "attempts": 0,
                }
            )
        if not rows:
            return 0
        with self._db.transaction() as session:
            existing = {
                (team, week)
                for team, week in session.execute(
                    select(DigestPost.team_id, DigestPost.week).where(
                        DigestPost.team_id.in_([r["team_id"] for r in rows])
                    )
                )
            }
            new = [r for r in rows if (r["team_id"], r["week"]) not in existing]
            if new:
                session.execute(_insert_ignoring_conflicts(session, new))
        for r in rows:
            self._planned_week[str(r["team_id"])] = str(r["week"])
        return len(new)

    def _expire(self, now: datetime) -> int:
        with self._db.transaction() as session:
            missed = session.execute(
                update(DigestPost)
                .where(
                    DigestPost.expires_at <= now,
                    or_(
                        DigestPost.status == DigestState.PENDING,
                        (DigestPost.status == DigestState.SENDING)
                        & (DigestPost.claimed_at < now - CLAIM_LEASE),
                    ),
                )
                .values(
                    status=DigestState.MISSED,
                    last_error="the next digest was due before it went out",
                )
                .returning(DigestPost.id)
            ).all()
        if missed:
            log.warning("team digests missed", extra={"count": len(missed)})
        return len(missed)

    @staticmethod
    def _claimable(now: datetime) -> Any:
        return and_(
            DigestPost.due_at <= now,
            DigestPost.expires_at > now,
            or_(
                (DigestPost.status == DigestState.PENDING)
                & or_(DigestPost.next_attempt_at.is_(None), DigestPost.next_attempt_at <= now),
                (DigestPost.status == DigestState.SENDING)
                & (DigestPost.claimed_at < now - CLAIM_LEASE),
            ),
        )

    def _claim(self, now: datetime) -> _Claim | None:
        """Take one due digest; of several processes racing for it, one wins (the
        UPDATE checks the condition again, whatever the database)."""
        candidate = (
            select(DigestPost.id)
            .where(self._claimable(now))
            .order_by(DigestPost.due_at, DigestPost.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._db.transaction() as session:
            row = session.execute(
                update(DigestPost)
                .where(DigestPost.id == candidate, self._claimable(now))
                .values(
                    status=DigestState.SENDING,
                    claimed_at=self._clock.now(),
                    attempts=DigestPost.attempts + 1,
                )
                .returning(
                    DigestPost.id,
                    DigestPost.team_id,
                    DigestPost.week,
                    DigestPost.attempts,
                    DigestPost.due_at,
                    DigestPost.delivered,
                )
            ).one_or_none()
        if row is None:
            return None
        delivered = tuple(d for d in (row.delivered or "").split(",") if d)
        return _Claim(row.id, row.team_id, row.week, row.attempts, row.due_at, delivered)

    def _post_claimed(self, claim: _Claim, tick: DigestTick) -> None:
        assert self._slack is not None
        digest = self.compose(claim.team_id, claim.week)
        delivered = list(claim.delivered)
        failures: list[DeliveryFailed] = []
        for destination in self.config(claim.team_id).destinations:
            if destination in delivered:
                continue
            try:
                # Claimed before: the earlier attempt may have reached Slack (a
                # timeout, a crash after posting), so look before posting again.
                found = claim.attempts > 1 and self._slack.find_digest(
                    claim.team_id, destination, claim.week, since=claim.due_at
                )
                if not found:
                    self._slack.post_digest(claim.team_id, destination, digest)
            except DeliveryFailed as failure:
                failures.append(failure)
                if failure.retry_after is not None:
                    break  # Slack asks us to slow down: the rest waits for the retry
                continue
            delivered.append(destination)
            if not self._update(claim, delivered=",".join(delivered)):
                return  # another process took the claim over: it owns the rest
        if not failures:
            self._update(claim, status=DigestState.SENT, sent_at=self._clock.now(), last_error=None)
            tick.posted.append((claim.team_id, claim.week))
            log.info("team digest posted", extra={"team_id": claim.team_id, "week": claim.week})
            return
        self._record_failure(claim, failures, tick)

    def _record_failure(
        self, claim: _Claim, failures: Sequence[DeliveryFailed], tick: DigestTick
    ) -> None:
        reason = ", ".join(failure.reason for failure in failures)[:200]
        retryable = any(failure.retryable for failure in failures)
        if not retryable or claim.attempts >= self._max_attempts:
            self._update(claim, status=DigestState.FAILED, last_error=reason)
            tick.failed += 1
            log.error(
                "team digest could not be posted; giving up",
                extra={"team_id": claim.team_id, "week": claim.week, "reason": reason},
            )
            return
        wait = retry_backoff(claim.attempts)
        waits = [failure.retry_after for failure in failures if failure.retry_after is not None]
        if waits:
            wait = timedelta(seconds=max(waits))
        self._update(
            claim,
            status=DigestState.PENDING,
            last_error=reason,
            next_attempt_at=self._clock.now() + wait,
        )
        tick.retrying += 1
        log.warning(
            "team digest post failed; will retry",
            extra={"team_id": claim.team_id, "week": claim.week, "reason": reason},
        )

    def _update(self, claim: _Claim, **values: Any) -> bool:
        """Write as the claim's owner: nothing changes if another process took it over."""
        with self._db.transaction() as session:
            result = session.execute(
                update(DigestPost)
                .where(
                    DigestPost.id == claim.id,
                    DigestPost.status == DigestState.SENDING,
                    DigestPost.attempts == claim.attempts,
                )
                .values(**values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class _RepNumbers:
    """Numbers reps in the order they are met: the domain counts distinct reps
    without ever holding a user id."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def of(self, user_id: str) -> int:
        return self._numbers.setdefault(user_id, len(self._numbers))


def _insert_ignoring_conflicts(session: Session, rows: Iterable[dict[str, object]]) -> Any:
    """One INSERT that leaves a row another process planned first alone."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(DigestPost).values(list(rows)).on_conflict_do_nothing()
