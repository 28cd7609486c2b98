"""What Reframe keeps about people, and how it lets go of it.

Used by the uninstall events (a whole workspace), `/reframe forget-me` (one
rep), `python -m bot data export` (one rep's copy) and `data purge` (retention).
Every statement names the team, so one workspace's request can never reach
another workspace's rows, even for a user id that exists in both.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from bot.domain.clock import Clock
from bot.storage.db import Database
from bot.storage.models import (
    Channel,
    Checkin,
    DigestPost,
    JobRun,
    Nudge,
    PostPace,
    Rep,
    SettingsChange,
    WorkspaceSettings,
)

log = logging.getLogger(__name__)

RETENTION_JOB = "retention"
# PostgreSQL advisory lock keys (one bigint namespace per database): fixed numbers,
# so every process and every release agree on them.
_ADVISORY_KEYS = {RETENTION_JOB: 0x5245_4652_0001}

_AGE = re.compile(r"^\s*(\d+)\s*([hdw]?)\s*$", re.IGNORECASE)
_AGE_UNITS = {"h": "hours", "d": "days", "w": "weeks", "": "days"}


def parse_age(text: str) -> timedelta:
    """'365d', '52w', '12h' (or a bare number of days) as a timedelta."""
    match = _AGE.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"not an age like 365d, 52w or 12h: {text!r}")
    return timedelta(**{_AGE_UNITS[match.group(2).lower()]: int(match.group(1))})


@dataclass(frozen=True, slots=True)
class Deleted:
    """How many rows went, per table (for replies, logs and the CLI)."""

    nudges: int = 0
    checkins: int = 0
    reps: int = 0
    channels: int = 0

    @property
    def total(self) -> int:
        return self.nudges + self.checkins + self.reps + self.channels

    def as_dict(self) -> dict[str, int]:
        return {
            "nudges": self.nudges,
            "checkins": self.checkins,
            "reps": self.reps,
            "channels": self.channels,
        }


class PrivacyService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        forget_cached: Callable[[str, str | None], None] = lambda _team, _user: None,
    ) -> None:
        self._db = db
        self._clock = clock
        # This process's caches of who is known (other processes read the database).
        self._forget_cached = forget_cached

    def forget_team(self, team_id: str) -> Deleted:
        """Everything stored for a workspace (it uninstalled Reframe)."""
        with self._db.transaction() as session:
            deleted = Deleted(
                nudges=_delete(session, Nudge, Nudge.team_id == team_id),
                checkins=_delete(session, Checkin, Checkin.team_id == team_id),
                reps=_delete(session, Rep, Rep.team_id == team_id),
                channels=_delete(session, Channel, Channel.team_id == team_id),
            )
            # Not personal data, but nothing of a workspace outlives its uninstall.
            _delete(session, PostPace, PostPace.team_id == team_id)
            _delete(session, WorkspaceSettings, WorkspaceSettings.team_id == team_id)
            _delete(session, SettingsChange, SettingsChange.team_id == team_id)
            _delete(session, DigestPost, DigestPost.team_id == team_id)
        self._forget_cached(team_id, None)
        log.info("workspace data deleted", extra={"team_id": team_id, **deleted.as_dict()})
        return deleted

    def forget_rep(self, *, team_id: str, user_id: str) -> Deleted:
        """Everything stored about one rep in one workspace: nudges, check-ins
        (answers and notes), and their settings.

        What stays is the request itself: a bare row with the ids and the time
        (`opted_out_at`), so that no process enrols or nudges them again until
        they ask for Reframe themselves (`/reframe checkin on`, an @mention).
        """
        now = self._clock.now()
        with self._db.transaction() as session:
            deleted = Deleted(
                nudges=_delete(
                    session, Nudge, (Nudge.team_id == team_id) & (Nudge.user_id == user_id)
                ),
                checkins=_delete(
                    session, Checkin, (Checkin.team_id == team_id) & (Checkin.user_id == user_id)
                ),
                reps=_delete(session, Rep, (Rep.team_id == team_id) & (Rep.user_id == user_id)),
            )
            session.add(
                Rep(
                    team_id=team_id,
                    user_id=user_id,
                    created_at=now,
                    checkins_enabled=False,
                    opted_out_at=now,
                )
            )
        self._forget_cached(team_id, user_id)
        log.info("rep data deleted", extra={"team_id": team_id, **deleted.as_dict()})
        return deleted

    def purge_older_than(self, age: timedelta, *, once_per: timedelta | None = None) -> Deleted:
        """Retention: nudges and check-ins older than `age` go, in every workspace.

        `once_per` (the scheduler's job): one process in the cluster purges per
        period. On PostgreSQL a transaction-scoped advisory lock lets one process
        in and the others skip at once (none waits out a long purge); whoever
        gets it also skips when job_runs says a purge ran within the period.
        SQLite has one writer at a time and one process: the period is enough.
        None (`python -m bot data purge`): purge now, only never two at once.
        """
        now = self._clock.now()
        cutoff = now - age
        with self._db.transaction() as session:
            if not _take_job(session, RETENTION_JOB, now, once_per):
                log.info("retention purge skipped: another process ran it this period")
                return Deleted()
            deleted = Deleted(
                nudges=_delete(session, Nudge, Nudge.created_at < cutoff),
                checkins=_delete(session, Checkin, Checkin.due_at < cutoff),
            )
        log.info("retention purge", extra={"cutoff": cutoff.isoformat(), **deleted.as_dict()})
        return deleted

    def export_rep(self, *, team_id: str, user_id: str) -> dict[str, Any]:
        """One rep's data in one workspace, as plain JSON-ready values."""
        with self._db.transaction() as session:
            rep = session.get(Rep, (team_id, user_id))
            nudges = session.scalars(
                select(Nudge)
                .where(Nudge.team_id == team_id, Nudge.user_id == user_id)
                .order_by(Nudge.created_at, Nudge.id)
            ).all()
            checkins = session.scalars(
                select(Checkin)
                .where(Checkin.team_id == team_id, Checkin.user_id == user_id)
                .order_by(Checkin.due_at, Checkin.id)
            ).all()
            return {
                "team_id": team_id,
                "user_id": user_id,
                "exported_at": _iso(self._clock.now()),
                "settings": _settings(rep),
                "nudges": [_nudge(n) for n in nudges],
                "checkins": [_checkin(c) for c in checkins],
            }


def _take_job(session: Session, name: str, now: datetime, once_per: timedelta | None) -> bool:
    """Whether this transaction runs the once-per-cluster job `name` (see purge_older_than)."""
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEYS[name]}
        )
        if not locked:
            return False
    run = session.get(JobRun, name)
    if once_per is not None and run is not None and run.last_run_at > now - once_per:
        return False
    if run is None:
        session.add(JobRun(name=name, last_run_at=now))
    else:
        run.last_run_at = now
    return True


def _delete(session: Session, model: type, condition: Any) -> int:
    result = session.execute(delete(model).where(condition))
    # SQLAlchemy types execute() as Result; a DELETE's is a CursorResult, with rowcount.
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _settings(rep: Rep | None) -> dict[str, Any] | None:
    """Every column of the rep's row: a setting added later is exported too."""
    if rep is None:
        return None
    return {
        column.key: _plain(getattr(rep, column.key))
        for column in Rep.__table__.columns
        if column.key not in ("team_id", "user_id")
    }


def _plain(value: object) -> object:
    return _iso(value) if isinstance(value, datetime) else value


def _nudge(nudge: Nudge) -> dict[str, Any]:
    return {
        "id": nudge.id,
        "channel_id": nudge.channel_id,
        "message_ts": nudge.message_ts,
        "trigger": nudge.trigger,
        "traps": nudge.trap_codes,
        "question_id": nudge.question_id,
        "delivery": nudge.delivery,
        "status": nudge.status,
        "created_at": _iso(nudge.created_at),
        "sent_at": _iso(nudge.sent_at),
        "feedback": nudge.feedback,
        "feedback_at": _iso(nudge.feedback_at),
    }


def _checkin(checkin: Checkin) -> dict[str, Any]:
    return {
        "id": checkin.id,
        "week": checkin.week,
        "due_at": _iso(checkin.due_at),
        "status": checkin.status,
        "sent_at": _iso(checkin.sent_at),
        "answer": checkin.answer,
        "answered_at": _iso(checkin.answered_at),
        "note": checkin.note,
        "note_updated_at": _iso(checkin.note_updated_at),
        "is_manual": checkin.is_manual,
    }
