"""Small repositories: the queries the services need, each scoped by team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.cooldown import PastNudge
from bot.domain.statuses import NudgeFeedback, NudgeTrigger
from bot.storage.models import Channel, Nudge, Rep


def insert_ignoring_conflicts(session: Session, model: type, **values: object) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for the session's dialect."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(model).values(**values).on_conflict_do_nothing()


def ensure_rep(session: Session, *, team_id: str, user_id: str, now: datetime) -> None:
    """Create the rep's row if it is new; safe under concurrent first messages."""
    session.execute(
        insert_ignoring_conflicts(session, Rep, team_id=team_id, user_id=user_id, created_at=now)
    )


def look_again_at_team(session: Session, team_id: str, *, at: datetime) -> int:
    """The workspace's default check-in day or time changed: the check-in tick looks
    again, at `at`, at every rep of it who follows the default (their next_due_at
    is recomputed then). Reps with nothing to send (next_due_at NULL) stay so."""
    result = session.execute(
        update(Rep)
        .where(
            Rep.team_id == team_id,
            Rep.next_due_at.is_not(None),
            or_(Rep.checkin_weekday.is_(None), Rep.checkin_time.is_(None), Rep.checkin_time == ""),
        )
        .values(next_due_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lock_rep(session: Session, *, team_id: str, user_id: str) -> Rep:
    """The rep's row, locked until the transaction ends (PostgreSQL; SQLite
    transactions already hold the write lock), so that two processes deciding
    about the same rep take turns and the cooldown holds."""
    rep = session.scalars(
        select(Rep).where(Rep.team_id == team_id, Rep.user_id == user_id).with_for_update()
    ).one_or_none()
    if rep is None:
        raise LookupError(f"rep {team_id}/{user_id} does not exist")
    return rep


def recent_nudges(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    since: datetime,
    trigger: NudgeTrigger = NudgeTrigger.MESSAGE,
) -> list[PastNudge]:
    rows = session.execute(
        select(Nudge.channel_id, Nudge.created_at).where(
            Nudge.team_id == team_id,
            Nudge.user_id == user_id,
            Nudge.trigger == trigger,
            Nudge.created_at > since,
        )
    )
    return [PastNudge(channel_id=channel_id, at=at) for channel_id, at in rows]


def recent_question_ids(
    session: Session, *, team_id: str, user_id: str, limit: int = 50
) -> list[str]:
    """Questions this rep has been asked, newest first (for rotation)."""
    return list(
        session.scalars(
            select(Nudge.question_id)
            .where(Nudge.team_id == team_id, Nudge.user_id == user_id)
            .order_by(Nudge.created_at.desc(), Nudge.id.desc())
            .limit(limit)
        )
    )


def recent_feedback(
    session: Session, *, team_id: str, user_id: str, limit: int = 50
) -> list[tuple[str, str]]:
    """(question id, "helpful" | "not_for_me") for this rep's latest rated nudges."""
    rows = session.execute(
        select(Nudge.question_id, Nudge.feedback)
        .where(
            Nudge.team_id == team_id,
            Nudge.user_id == user_id,
            Nudge.feedback.in_((NudgeFeedback.HELPFUL, NudgeFeedback.NOT_FOR_ME)),
        )
        .order_by(Nudge.feedback_at.desc(), Nudge.id.desc())
        .limit(limit)
    )
    return [(question_id, feedback) for question_id, feedback in rows if feedback]


def get_channel(session: Session, *, team_id: str, channel_id: str) -> Channel | None:
    return session.get(Channel, (team_id, channel_id))


def upsert_channel(
    session: Session, *, team_id: str, channel_id: str, now: datetime, **values: object
) -> Channel:
    session.execute(
        insert_ignoring_conflicts(
            session, Channel, team_id=team_id, channel_id=channel_id, updated_at=now
        )
    )
    channel = session.get(Channel, (team_id, channel_id), with_for_update=True)
    assert channel is not None
    for key, value in values.items():
        setattr(channel, key, value)
    channel.updated_at = now
    return channel
