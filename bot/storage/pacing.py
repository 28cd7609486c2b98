"""The shared send schedule: every scheduler process takes its posting slot here.

One row per workspace in `post_pace`, read and moved under a row lock
(SELECT … FOR UPDATE on PostgreSQL; SQLite transactions hold the write lock),
so two processes never take the same slot and a 429 seen by one process
pauses them all. The arithmetic is in bot/domain/pacing.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.caches import TeamSet
from bot.domain.pacing import (
    Pace,
    after_late_post,
    after_rate_limit,
    fresh_pace,
    late_enough,
    reserve,
)
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.models import PostPace

# Workspaces whose row this process knows exists (only an INSERT is saved by knowing).
KNOWN_TEAMS_MAX = 10_000
KNOWN_TEAMS_TTL = timedelta(hours=1)


class SharedPostPacer:
    """Spaces one workspace's posts at `rate` per second across every process."""

    def __init__(self, db: Database, *, rate: float, wall: Callable[[], float] = time.time) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._db = db
        self._rate = rate
        self._wall = wall
        self._known = TeamSet(maxsize=KNOWN_TEAMS_MAX, ttl=KNOWN_TEAMS_TTL)

    def reserve(self, team_id: str) -> float:
        """Take the team's next slot; seconds to wait before posting in it (0 if now)."""
        with self._db.transaction() as session:
            row = self._locked_row(session, team_id, self._wall())
            # The time once the row is ours: read before the lock, a wait behind another
            # process's reservation would hand out a slot already past, and its post
            # would go out late, bunched with the posts after it.
            now = self._wall()
            slot, moved = reserve(_pace_of(row), now, self._rate)
            _store(row, moved)
        return max(0.0, slot - now)

    def rate_limited(self, team_id: str, retry_after: float) -> None:
        """Slack answered 429: hold every process back for Retry-After, then go slower."""
        with self._db.transaction() as session:
            now = self._wall()
            row = self._locked_row(session, team_id, now)
            _store(row, after_rate_limit(_pace_of(row), now, retry_after, self._rate))

    def posted_late(self, team_id: str, lateness: float) -> None:
        """A post left `lateness` seconds after its slot: move the slots still free back
        by as much, when it is more than jitter (bot/domain/pacing.py, after_late_post).
        Jitter costs no transaction."""
        if not late_enough(lateness, self._rate):
            return
        with self._db.transaction() as session:
            row = self._locked_row(session, team_id, self._wall())
            _store(row, after_late_post(_pace_of(row), lateness))

    def forget_team(self, team_id: str) -> None:
        """The workspace uninstalled (its row is deleted with its data)."""
        self._known.forget(team_id)

    def pace(self, team_id: str) -> Pace | None:
        """The team's schedule as stored (operators and tests)."""
        with self._db.transaction() as session:
            row = session.get(PostPace, team_id)
            return None if row is None else _pace_of(row)

    def _locked_row(self, session: Session, team_id: str, now: float) -> PostPace:
        if (team_id,) not in self._known:
            start = fresh_pace(now, self._rate)
            session.execute(
                repos.insert_ignoring_conflicts(
                    session, PostPace, team_id=team_id, next_at=start.next_at, rate=start.rate
                )
            )
        row = session.scalars(
            select(PostPace).where(PostPace.team_id == team_id).with_for_update()
        ).one_or_none()
        if row is None:  # deleted since (the workspace was uninstalled): start again
            self._known.pop((team_id,))
            return self._locked_row(session, team_id, now)
        self._known.add((team_id,))
        return row


def _pace_of(row: PostPace) -> Pace:
    return Pace(row.next_at, row.rate, row.limited_at, row.burst_at)


def _store(row: PostPace, pace: Pace) -> None:
    row.next_at, row.rate, row.limited_at = pace.next_at, pace.rate, pace.limited_at
    row.burst_at = pace.burst_at
