"""Workspace settings: read (cached briefly, as every event asks), changed by a
settings admin with each change recorded, and who counts as a settings admin."""

from __future__ import annotations

import logging
import threading
import time as clock_time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.domain.clock import Clock
from bot.domain.schedule import format_time, parse_time
from bot.domain.statuses import JoinMode, VisibleModeBy
from bot.domain.workspace_settings import (
    LABELS,
    Change,
    WorkspaceConfig,
    changes,
    parse_submission,
)
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.models import SettingsChange, WorkspaceSettings

log = logging.getLogger(__name__)

# Another process's change is seen within this long (and at once in this one).
CACHE_SECONDS = 30.0
CHECKIN_DEFAULTS = frozenset({"checkin_weekday", "checkin_time"})


@dataclass(frozen=True, slots=True)
class RecordedChange:
    user_id: str
    at: datetime
    setting: str
    old: str | None
    new: str | None


class WorkspaceSettingsService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        defaults: WorkspaceConfig,
        monotonic: Callable[[], float] = clock_time.monotonic,
    ) -> None:
        self._db = db
        self._clock = clock
        self.defaults = defaults
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, WorkspaceConfig]] = {}

    # -- reading --------------------------------------------------------------

    def effective(self, team_id: str) -> WorkspaceConfig:
        """The settings in force for a workspace: its admins' choices over the defaults."""
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(team_id)
            if hit is not None and now - hit[0] < CACHE_SECONDS:
                return hit[1]
        with self._db.transaction() as session:
            row = session.get(WorkspaceSettings, team_id)
            config = _merge(self.defaults, row)
        with self._lock:
            if len(self._cache) > 10_000:  # bounded: a workspace not asked for in a while goes
                self._cache.clear()
            self._cache[team_id] = (now, config)
        return config

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._cache.pop(team_id, None)

    def recent_changes(self, team_id: str, limit: int = 8) -> list[RecordedChange]:
        with self._db.transaction() as session:
            rows = session.scalars(
                select(SettingsChange)
                .where(SettingsChange.team_id == team_id)
                .order_by(SettingsChange.at.desc(), SettingsChange.id.desc())
                .limit(limit)
            ).all()
            return [
                RecordedChange(r.user_id, r.at, r.field, r.old_value, r.new_value) for r in rows
            ]

    def is_settings_admin(self, team_id: str, user_id: str, *, slack_admin: bool) -> bool:
        """Slack's admins and owners, and the people they named."""
        return slack_admin or user_id in self.effective(team_id).settings_admins

    # -- changing -------------------------------------------------------------

    def update(self, team_id: str, user_id: str, submitted: dict[str, str | None]) -> list[Change]:
        """Apply a settings admin's submission; raises SettingsInvalid. Returns what
        changed, each change recorded with who and when."""
        now = self._clock.now()
        with self._db.transaction() as session:
            row = session.get(WorkspaceSettings, team_id, with_for_update=True)
            before = _merge(self.defaults, row)
            after = parse_submission(before, submitted)
            made = changes(before, after)
            if not made:
                return []
            if row is None:
                row = WorkspaceSettings(team_id=team_id)
                session.add(row)
            _store(row, after, self.defaults)
            row.updated_at, row.updated_by = now, user_id
            if {c.setting for c in made} & CHECKIN_DEFAULTS:
                # Reps on the workspace's day and time are due at new times: the
                # tick looks at each again once every process's cache holds them.
                repos.look_again_at_team(
                    session, team_id, at=now + timedelta(seconds=CACHE_SECONDS)
                )
            for change in made:
                session.add(
                    SettingsChange(
                        team_id=team_id,
                        user_id=user_id,
                        at=now,
                        field=change.setting,
                        old_value=change.old[:500],
                        new_value=change.new[:500],
                    )
                )
        self.forget(team_id)
        log.info(
            "workspace settings changed",
            extra={"team_id": team_id, "settings": [c.setting for c in made]},
        )
        return made


def label(setting: str) -> str:
    return LABELS.get(setting, setting)


def _merge(defaults: WorkspaceConfig, row: WorkspaceSettings | None) -> WorkspaceConfig:
    if row is None:
        return defaults
    chosen: dict[str, object] = {}
    if row.deal_channel_patterns:
        chosen["deal_channel_patterns"] = tuple(row.deal_channel_patterns.split(","))
    for name in ("checkin_weekday", "digest_weekday", "digest_min_reps"):
        if getattr(row, name) is not None:
            chosen[name] = getattr(row, name)
    for name in ("nudge_cooldown_hours", "nudge_daily_limit", "join_mode", "visible_mode_by"):
        if getattr(row, name) is not None:
            chosen[name] = getattr(row, name)
    for name in ("checkin_time", "digest_time"):
        if getattr(row, name):
            chosen[name] = parse_time(getattr(row, name))
    if row.digest_channel is not None:
        chosen["digest_channel"] = row.digest_channel or None
    if row.settings_admins:
        chosen["settings_admins"] = frozenset(row.settings_admins.split(","))
    if row.digest_dm_users is not None:
        chosen["digest_dm_users"] = frozenset(u for u in row.digest_dm_users.split(",") if u)
    return replace(defaults, **chosen)  # type: ignore[arg-type]


def _store(row: WorkspaceSettings, config: WorkspaceConfig, defaults: WorkspaceConfig) -> None:
    """Every setting stored as chosen; one equal to the default is kept as NULL, so
    a later change of the environment's default still reaches it."""

    def differs(name: str) -> bool:
        return bool(getattr(config, name) != getattr(defaults, name))

    row.deal_channel_patterns = (
        ",".join(config.deal_channel_patterns) if differs("deal_channel_patterns") else None
    )
    row.checkin_weekday = config.checkin_weekday if differs("checkin_weekday") else None
    row.checkin_time = format_time(config.checkin_time) if differs("checkin_time") else None
    row.join_mode = JoinMode(config.join_mode) if differs("join_mode") else None
    # "" = no digest channel / nobody DMed, even when the environment names them.
    row.digest_channel = (config.digest_channel or "") if differs("digest_channel") else None
    row.digest_dm_users = (
        ",".join(sorted(config.digest_dm_users)) if differs("digest_dm_users") else None
    )
    row.digest_weekday = config.digest_weekday if differs("digest_weekday") else None
    row.digest_time = format_time(config.digest_time) if differs("digest_time") else None
    row.digest_min_reps = config.digest_min_reps if differs("digest_min_reps") else None
    row.nudge_cooldown_hours = (
        round(config.nudge_cooldown_hours) if differs("nudge_cooldown_hours") else None
    )
    row.nudge_daily_limit = config.nudge_daily_limit if differs("nudge_daily_limit") else None
    row.visible_mode_by = (
        VisibleModeBy(config.visible_mode_by) if differs("visible_mode_by") else None
    )
    row.settings_admins = ",".join(sorted(config.settings_admins)) or None
