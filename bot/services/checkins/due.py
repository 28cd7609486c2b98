"""When the tick next looks at a rep: `reps.next_due_at`, kept by every change.

A tick reads only the reps whose `next_due_at` has come (an index), so it costs
O(due), not O(enrolled). The time itself is the domain's (`next_look`); this
module says when a rep has one at all and writes it. It is recomputed when a
rep enrols, turns check-ins on or off, changes their day or time, when Slack
tells us a new time zone or eligibility, and by the tick after it plans a
week's check-in. A workspace changing its default day or time moves its reps'
`next_due_at` to "look again" (bot/storage/repos.py `look_again_at_team`).

Too early is harmless (the tick looks, finds nothing owed, and moves it on);
too late would lose a check-in, so every change that could make a rep due
sooner goes through here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.schedule import WeeklySchedule, effective_schedule, next_look
from bot.storage.models import Checkin, Rep

# Rows this recent may hold the current or next week's check-in (the same window
# the "next one" shown to the rep uses).
PLANNED_WINDOW = timedelta(days=8)


def is_active(rep: Rep) -> bool:
    """Whether the tick sends this rep anything: enrolled, on, and a person
    Slack says may get DMs (unknown eligibility waits for users.info)."""
    return (
        rep.checkins_enrolled_at is not None
        and bool(rep.checkins_enabled)
        and rep.eligible is True
        and rep.opted_out_at is None
    )


def schedule_of(rep: Rep, default: WeeklySchedule) -> WeeklySchedule:
    return effective_schedule(
        weekday=rep.checkin_weekday, at=rep.checkin_time, tz=rep.tz, default=default
    )


def planned_weeks(session: Session, team_id: str, user_id: str, now: datetime) -> frozenset[str]:
    """Weeks that already have this rep's row, in any state (the unique key)."""
    return frozenset(
        session.scalars(
            select(Checkin.week).where(
                Checkin.team_id == team_id,
                Checkin.user_id == user_id,
                Checkin.due_at >= now - PLANNED_WINDOW,
            )
        )
    )


def reschedule(session: Session, rep: Rep, *, default: WeeklySchedule, now: datetime) -> None:
    """Set `rep.next_due_at` from the rep's current state (call after changing it)."""
    if not is_active(rep):
        rep.next_due_at = None
        return
    assert rep.checkins_enrolled_at is not None
    rep.next_due_at = next_look(
        now,
        schedule_of(rep, default),
        enrolled_at=rep.checkins_enrolled_at,
        planned_weeks=planned_weeks(session, rep.team_id, rep.user_id, now),
    )
