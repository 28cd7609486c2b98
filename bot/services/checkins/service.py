"""Weekly check-ins for the rep: enrolment, schedule, skip and "now", answers,
notes and the App Home summary. Sending is CheckinDelivery's (delivery.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.caches import TeamSet
from bot.domain.clock import Clock
from bot.domain.schedule import (
    WeeklySchedule,
    effective_schedule,
    format_time,
    next_occurrence,
    occurrence,
    recent_weeks,
    week_label,
    week_of,
    zone,
)
from bot.domain.statuses import CheckinAnswer, CheckinState, InviteAnswer, JoinMode
from bot.observability import metrics
from bot.services.checkins import due
from bot.services.checkins.delivery import CheckinDelivery
from bot.services.checkins.results import (
    ANSWERS,
    CheckinStatus,
    CheckinView,
    HomeSummary,
    NowRequest,
    Outcome,
    TickReport,
    WeekMark,
    is_answer,
)
from bot.services.ports import DeliveryFailed
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.models import Checkin, Rep

log = logging.getLogger(__name__)

HOME_WEEKS = 12
NOTE_MAX_CHARS = 3000
# Reps this process enrolled or invited lately (on_rep_seen): at most this many, this long.
KNOWN_REPS_MAX = 50_000
KNOWN_REPS_TTL = timedelta(hours=1)


class CheckinService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        delivery: CheckinDelivery,
        join_mode: JoinMode = JoinMode.INVITE,
        invite: Callable[[str, str, str], object] | None = None,
        join_mode_for: Callable[[str], str] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._default = delivery.default_schedule
        self.delivery = delivery
        # How a rep who posts in a deal channel joins check-ins: one private
        # invitation (`invite`, shown through `invite(team, user, channel)`),
        # silently (`auto`), or only by asking (`manual`).
        self._join_mode = join_mode
        self._join_mode_for = join_mode_for or (lambda _team_id: join_mode)
        self._invite = invite
        # Reps this process has already enrolled: the message path stays free of
        # database writes after a rep's first message.
        self._known_reps = TeamSet(maxsize=KNOWN_REPS_MAX, ttl=KNOWN_REPS_TTL, clock=clock)

    # -- the tick (CheckinDelivery) -------------------------------------------

    def send_due(self) -> TickReport:
        """One tick: refresh profiles, plan what fell due, send, remind."""
        return self.delivery.send_due()

    def deliver(self, checkin_id: int) -> str:
        """Send one check-in now (after `/reframe checkin now`); returns its status."""
        return self.delivery.deliver(checkin_id)

    def refresh_profiles(self) -> int:
        """Look up reps whose eligibility is unknown or whose time zone is a day old."""
        return self.delivery.refresh_profiles()

    def count_by_status(self) -> dict[str, int]:
        """How many check-ins are in each state (benchmarks and operators)."""
        return self.delivery.count_by_status()

    @property
    def default_schedule(self) -> WeeklySchedule:
        return self._default

    # -- enrolment and settings ---------------------------------------------

    def on_rep_seen(self, team_id: str, user_id: str, channel_id: str | None = None) -> None:
        """A person posted in a deal channel: invite or enrol them, as the join mode
        says (once; cheap afterwards, from this process's memory).

        No Slack call here: the invitation is posted through `invite` (after Slack
        has its answer), and whether they are a bot, a guest or deleted is checked
        later, in the tick.
        """
        key = (team_id, user_id)
        if key in self._known_reps:
            return
        join_mode = self._join_mode_for(team_id)
        if join_mode == JoinMode.MANUAL:
            return
        now = self._clock.now()
        default = self.delivery.default_for(team_id) if join_mode == JoinMode.AUTO else None
        with self._db.transaction() as session:
            if default is not None:
                rep = self._enrol(session, team_id, user_id, now, asked=False)
                due.reschedule(session, rep, default=default, now=now)
                invite = False
            else:
                invite = self._claim_invitation(session, team_id, user_id, now)
        self._known_reps.add(key)
        if invite and self._invite is not None and channel_id is not None:
            self._invite(team_id, user_id, channel_id)

    def _claim_invitation(
        self, session: Session, team_id: str, user_id: str, now: datetime
    ) -> bool:
        """Whether this post is the one that shows the rep their invitation: never
        for a rep already in, asked before, or who said forget-me; one process wins."""
        repos.ensure_rep(session, team_id=team_id, user_id=user_id, now=now)
        rep = repos.lock_rep(session, team_id=team_id, user_id=user_id)
        if (
            rep.checkins_enrolled_at is not None
            or rep.invited_at is not None
            or rep.invite_answer is not None
            or rep.opted_out_at is not None
        ):
            return False
        rep.invited_at = now
        return True

    def show_invitation(self, team_id: str, user_id: str, channel_id: str) -> None:
        """Post the invitation (after Slack has its answer to the event).

        The rep's Slack profile is read first: bots, guests and deleted users are
        not invited, and the invitation names the time in the rep's own zone, the
        one their check-ins will use (never "UTC" that later moves)."""
        if self.refresh_profile(team_id, user_id) is False:
            log.info("no invitation: not a person who can take check-ins")
            return
        # Read before the transaction: the workspace's settings are read in one of
        # their own, and SQLite allows one writer at a time.
        default = self.delivery.default_for(team_id)
        with self._db.transaction() as session:
            rep = session.get(Rep, (team_id, user_id))
            schedule = self._schedule_for(rep, default) if rep is not None else default
            tz_known = rep is not None and rep.tz == schedule.tz
        when = schedule.describe_local() if tz_known else schedule.describe()
        try:
            self.delivery.post_invitation(team_id, channel_id, user_id, when)
        except DeliveryFailed as failure:
            log.warning(
                "check-in invitation not shown; the rep's next post tries again",
                extra={"team_id": team_id, "reason": failure.reason},
            )
            self.invitation_not_shown(team_id, user_id)

    def refresh_profile(self, team_id: str, user_id: str) -> bool | None:
        """users.info now for one rep: eligibility and time zone (None: Slack did not say)."""
        return self.delivery.refresh_one(team_id, user_id)

    def invitation_not_shown(self, team_id: str, user_id: str) -> None:
        """Slack did not take the invitation: the rep's next post tries again."""
        with self._db.transaction() as session:
            rep = session.get(Rep, (team_id, user_id))
            if rep is not None and rep.invite_answer is None:
                rep.invited_at = None
        self.forget_cached(team_id, user_id)

    def answer_invitation(self, team_id: str, user_id: str, *, join: bool) -> CheckinStatus:
        """Join: enrolled at the workspace's default time. No thanks: remembered, so the
        rep is never asked again (`/reframe checkin on` still works)."""
        if join:
            return self._update_rep(
                team_id,
                user_id,
                checkins_enabled=True,
                skip_week=None,
                invite_answer=InviteAnswer.JOINED,
            )
        now = self._clock.now()
        default = self.delivery.default_for(team_id)
        with self._db.transaction() as session:
            repos.ensure_rep(session, team_id=team_id, user_id=user_id, now=now)
            rep = repos.lock_rep(session, team_id=team_id, user_id=user_id)
            rep.invite_answer = InviteAnswer.DECLINED
            rep.invited_at = rep.invited_at or now
            rep.checkins_enabled = False
            due.reschedule(session, rep, default=default, now=now)
            return self._status(session, rep, now, default)

    def forget_cached(self, team_id: str, user_id: str | None = None) -> None:
        """Drop this process's memory of a rep (forget-me) or a workspace (uninstall)."""
        scope = (team_id,) if user_id is None else (team_id, user_id)
        self._known_reps.forget(*scope)

    def turn_on(self, team_id: str, user_id: str) -> CheckinStatus:
        """`/reframe checkin on`, App Home "Resume": enrol, enable, forget any skip."""
        return self._update_rep(team_id, user_id, checkins_enabled=True, skip_week=None)

    def turn_off(self, team_id: str, user_id: str) -> CheckinStatus:
        return self._update_rep(team_id, user_id, checkins_enabled=False)

    def set_schedule(self, team_id: str, user_id: str, weekday: int, at: str) -> CheckinStatus:
        return self._update_rep(
            team_id, user_id, checkins_enabled=True, checkin_weekday=weekday, checkin_time=at
        )

    def skip_next(self, team_id: str, user_id: str) -> CheckinStatus:
        """Skip the next check-in still to come (saying it twice skips the same one)."""
        now = self._clock.now()
        default = self.delivery.default_for(team_id)
        with self._db.transaction() as session:
            rep = self._enrol(session, team_id, user_id, now)
            schedule = self._schedule_for(rep, default)
            taken = self._weeks_with_checkins(session, team_id, user_id, now)
            rep.skip_week = next_occurrence(now, schedule, taken_weeks=taken).week
            # A skipped week still gets its row (status skipped) at its due time.
            due.reschedule(session, rep, default=default, now=now)
            return self._status(session, rep, now, default)

    def status(self, team_id: str, user_id: str) -> CheckinStatus:
        now = self._clock.now()
        default = self.delivery.default_for(team_id)
        with self._db.transaction() as session:
            rep = session.get(Rep, (team_id, user_id))
            if rep is None:
                return CheckinStatus(
                    enrolled=False,
                    enabled=False,
                    schedule=default,
                    chosen=False,
                    tz_known=False,
                    next=None,
                    skip_week=None,
                )
            return self._status(session, rep, now, default)

    def request_now(self, team_id: str, user_id: str) -> NowRequest:
        """`/reframe checkin now`: this week's check-in, at once (still one per week)."""
        now = self._clock.now()
        default = self.delivery.default_for(team_id)
        with self._db.transaction() as session:
            rep = self._enrol(session, team_id, user_id, now)
            due.reschedule(session, rep, default=default, now=now)
            schedule = self._schedule_for(rep, default)
            current = occurrence(week_of(now, schedule.tz), schedule)
            row = session.scalars(
                select(Checkin)
                .where(
                    Checkin.team_id == team_id,
                    Checkin.user_id == user_id,
                    Checkin.week == current.week,
                )
                .with_for_update()
            ).one_or_none()
            if row is None:
                row = Checkin(
                    team_id=team_id,
                    user_id=user_id,
                    week=current.week,
                    due_at=now,
                    expires_at=current.ends_at,
                    status=CheckinState.PENDING,
                    attempts=0,
                    is_manual=True,
                )
                session.add(row)
                session.flush()
                return NowRequest(row.id, "queued")
            if row.status in (CheckinState.SENT, CheckinState.SENDING):
                sent = row.status == CheckinState.SENT
                return NowRequest(row.id, "already_sent" if sent else "sending")
            row.status, row.due_at, row.next_attempt_at = CheckinState.PENDING, now, None
            row.expires_at, row.is_manual = current.ends_at, True
            return NowRequest(row.id, "queued")

    # -- answers and notes ----------------------------------------------------

    def record_answer(self, *, team_id: str, user_id: str, checkin_id: int, answer: str) -> Outcome:
        """The rep's one-tap answer; a later tap in the same week replaces it."""
        if answer not in ANSWERS:
            return Outcome(False, "invalid")
        outcome = self._change(team_id, user_id, checkin_id, answer=answer)
        if outcome.ok:
            metrics.count("checkins_answered")
        return outcome

    def save_note(self, *, team_id: str, user_id: str, checkin_id: int, note: str) -> Outcome:
        """The rep's private reflection for the week (empty text removes it)."""
        text = note.strip()[:NOTE_MAX_CHARS] or None
        return self._change(team_id, user_id, checkin_id, note=text)

    def view(self, *, team_id: str, user_id: str, checkin_id: int) -> Outcome:
        now = self._clock.now()
        with self._db.transaction() as session:
            row = session.get(Checkin, checkin_id)
            refused = _refusal(row, team_id, user_id)
            if refused is not None or row is None:
                return Outcome(False, refused or "not_found")
            return Outcome(True, "found", _view_of(row, now))

    def _change(
        self, team_id: str, user_id: str, checkin_id: int, *, answer: str | None = None, **note: Any
    ) -> Outcome:
        now = self._clock.now()
        with self._db.transaction() as session:
            row = session.get(Checkin, checkin_id, with_for_update=True)
            refused = _refusal(row, team_id, user_id)
            if refused is not None or row is None:
                return Outcome(False, refused or "not_found")
            if not _is_open(row, now):
                return Outcome(False, "closed", _view_of(row, now))
            if answer is not None:
                row.answer, row.answered_at = CheckinAnswer(answer), now
            if "note" in note:
                row.note, row.note_updated_at = note["note"], now
            return Outcome(True, "recorded", _view_of(row, now))

    # -- App Home -------------------------------------------------------------

    def home(self, team_id: str, user_id: str) -> HomeSummary:
        """The last 12 weeks at a glance, newest first, and the current schedule."""
        status = self.status(team_id, user_id)
        weeks = recent_weeks(self._clock.now(), status.schedule.tz, HOME_WEEKS)
        with self._db.transaction() as session:
            rows = {
                week: (answer if is_answer(answer) else None, sent_at is not None)
                for week, answer, sent_at in session.execute(
                    select(Checkin.week, Checkin.answer, Checkin.sent_at).where(
                        Checkin.team_id == team_id,
                        Checkin.user_id == user_id,
                        Checkin.week.in_(weeks),
                    )
                )
            }
        marks = [WeekMark(week, *rows.get(week, (None, False))) for week in weeks]
        return HomeSummary(status=status, weeks=marks)

    # -- helpers --------------------------------------------------------------

    def _enrol(
        self, session: Session, team_id: str, user_id: str, now: datetime, *, asked: bool = True
    ) -> Rep:
        """The rep's row, created or marked enrolled, locked for this transaction.

        `asked`: the rep asked for check-ins themselves, which also ends a
        forget-me opt-out. A post in a deal channel (not asked) never enrols a
        rep who said forget-me, in any process.
        """
        session.execute(
            repos.insert_ignoring_conflicts(
                session,
                Rep,
                team_id=team_id,
                user_id=user_id,
                created_at=now,
                checkins_enrolled_at=now,
            )
        )
        rep = repos.lock_rep(session, team_id=team_id, user_id=user_id)
        if asked:
            rep.opted_out_at = None
        if rep.checkins_enrolled_at is None and rep.opted_out_at is None:
            rep.checkins_enrolled_at = now
        return rep

    def _update_rep(self, team_id: str, user_id: str, **values: Any) -> CheckinStatus:
        now = self._clock.now()
        default = self.delivery.default_for(team_id)
        with self._db.transaction() as session:
            rep = self._enrol(session, team_id, user_id, now)
            for name, value in values.items():
                setattr(rep, name, value)
            due.reschedule(session, rep, default=default, now=now)
            return self._status(session, rep, now, default)

    def _schedule_for(self, rep: Rep, default: WeeklySchedule) -> WeeklySchedule:
        return effective_schedule(
            weekday=rep.checkin_weekday, at=rep.checkin_time, tz=rep.tz, default=default
        )

    def _status(
        self, session: Session, rep: Rep, now: datetime, default: WeeklySchedule
    ) -> CheckinStatus:
        schedule = self._schedule_for(rep, default)
        taken = self._weeks_with_checkins(session, rep.team_id, rep.user_id, now)
        enrolled = rep.checkins_enrolled_at is not None
        upcoming = (
            next_occurrence(now, schedule, taken_weeks=taken, skip_week=rep.skip_week)
            if enrolled and rep.checkins_enabled
            else None
        )
        return CheckinStatus(
            enrolled=enrolled,
            enabled=bool(rep.checkins_enabled) and enrolled,
            schedule=schedule,
            chosen=rep.checkin_weekday is not None or rep.checkin_time is not None,
            tz_known=rep.tz == schedule.tz,
            next=upcoming,
            skip_week=rep.skip_week,
        )

    @staticmethod
    def _weeks_with_checkins(
        session: Session, team_id: str, user_id: str, now: datetime
    ) -> frozenset[str]:
        return frozenset(
            session.scalars(
                select(Checkin.week).where(
                    Checkin.team_id == team_id,
                    Checkin.user_id == user_id,
                    Checkin.due_at >= now - timedelta(days=8),
                    Checkin.status != CheckinState.SKIPPED,
                )
            )
        )


def _refusal(row: Checkin | None, team_id: str, user_id: str) -> str | None:
    if row is None or row.team_id != team_id:
        return "not_found"
    if row.user_id != user_id:
        return "not_yours"
    return None


def _is_open(row: Checkin, now: datetime) -> bool:
    return row.expires_at is None or now < row.expires_at


def _view_of(row: Checkin, now: datetime) -> CheckinView:
    return CheckinView(
        row.id,
        row.week,
        row.answer if is_answer(row.answer) else None,
        row.note,
        _is_open(row, now),
        row.dm_channel_id,
        row.message_ts,
    )


def describe_status(status: CheckinStatus) -> str:
    """One or two plain sentences about a rep's check-in schedule."""
    schedule = status.schedule
    # Until Slack has told us the rep's zone the schedule is kept in their own local
    # time, which is where it will run: never name a zone that later moves.
    when = (
        schedule.describe() if status.tz_known else schedule.describe_local("in your own time zone")
    )
    if not status.enabled:
        return (
            f"Weekly check-ins are off for you. Turn them on with `/reframe checkin on` "
            f"(they would come {when})."
        )
    own = "your choice" if status.chosen else "the workspace default"
    lines = [f"Your weekly check-in comes {when}, {own}."]
    if status.next is not None:
        local = status.next.due_at.astimezone(zone(schedule.tz))
        lines.append(f"Next one: {local:%A %d %B} at {format_time(local.time())}.")
    if status.skip_week and status.next is not None and status.skip_week < status.next.week:
        lines.append(f"You're skipping the one of the {week_label(status.skip_week)}.")
    return " ".join(lines)
