"""A workspace's settings: the environment's defaults, overridden by what its admins
chose in App Home. Pure: parsing, validation and the list of changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import time

from bot.domain.schedule import WEEKDAY_NAMES, ScheduleError, format_time, parse_time

JOIN_MODES = ("invite", "auto", "manual")
VISIBLE_MODE_BY = ("creator_or_admin", "admins")
MIN_K = 3
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_PATTERN = re.compile(r"^[a-z0-9*?_\-]{1,80}$")


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    """The settings in force for one workspace."""

    deal_channel_patterns: tuple[str, ...]
    checkin_weekday: int
    checkin_time: time
    join_mode: str
    digest_channel: str | None
    digest_dm_users: frozenset[str]
    digest_weekday: int
    digest_time: time
    digest_min_reps: int
    nudge_cooldown_hours: float
    nudge_daily_limit: int
    visible_mode_by: str
    settings_admins: frozenset[str]


# The order settings appear in, and how each is named to people.
LABELS = {
    "deal_channel_patterns": "Deal-channel name patterns",
    "checkin_weekday": "Check-in day",
    "checkin_time": "Check-in time",
    "join_mode": "How reps join check-ins",
    "digest_channel": "Digest channel",
    "digest_dm_users": "Digest by DM to",
    "digest_weekday": "Digest day",
    "digest_time": "Digest time",
    "digest_min_reps": "Digest: fewest reps behind a figure (k)",
    "nudge_cooldown_hours": "Nudge cooldown per channel (hours)",
    "nudge_daily_limit": "Nudges per rep per day",
    "visible_mode_by": "Who may make a channel's nudges visible",
    "settings_admins": "Settings admins (besides Slack's admins)",
}


class SettingsInvalid(ValueError):
    """Submitted values that cannot be used: {setting: what is wrong}."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Change:
    setting: str
    old: str
    new: str


def show(config: WorkspaceConfig, setting: str) -> str:
    """One setting's value as people read it (and as the change record stores it)."""
    value = getattr(config, setting)
    if setting in ("checkin_weekday", "digest_weekday"):
        return str(WEEKDAY_NAMES[value].capitalize())
    if isinstance(value, time):
        return format_time(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if setting == "deal_channel_patterns":
        return ", ".join(value)
    if setting in ("settings_admins", "digest_dm_users"):
        return ", ".join(sorted(value)) or "none"
    if value is None:
        return "none"
    return str(value)


def parse_submission(current: WorkspaceConfig, submitted: dict[str, str | None]) -> WorkspaceConfig:
    """The config with the submitted values applied; raises SettingsInvalid naming
    every field that cannot be used. A field left out keeps its current value."""
    problems: dict[str, str] = {}
    values: dict[str, object] = {}

    def take(setting: str, parse: Callable[[str | None], object]) -> None:
        raw = submitted.get(setting)
        if setting not in submitted:
            return
        try:
            values[setting] = parse(raw)
        except (ValueError, ScheduleError) as problem:
            problems[setting] = str(problem)

    take("deal_channel_patterns", _patterns)
    take("checkin_weekday", _weekday)
    take("checkin_time", _time)
    take("join_mode", lambda raw: _choice(raw, JOIN_MODES))
    take("digest_channel", _channel)
    take("digest_dm_users", _users)
    take("digest_weekday", _weekday)
    take("digest_time", _time)
    take("digest_min_reps", lambda raw: _whole(raw, low=MIN_K, high=1000))
    take("nudge_cooldown_hours", lambda raw: _whole(raw, low=0, high=168))
    take("nudge_daily_limit", lambda raw: _whole(raw, low=1, high=50))
    take("visible_mode_by", lambda raw: _choice(raw, VISIBLE_MODE_BY))
    take("settings_admins", _users)
    if problems:
        raise SettingsInvalid(problems)
    return replace(current, **values)  # type: ignore[arg-type]


def changes(before: WorkspaceConfig, after: WorkspaceConfig) -> list[Change]:
    """What differs, setting by setting, in the order people see the settings."""
    return [
        Change(f.name, show(before, f.name), show(after, f.name))
        for f in fields(WorkspaceConfig)
        if getattr(before, f.name) != getattr(after, f.name)
    ]


def _text(raw: str | None) -> str:
    return (raw or "").strip()


def _patterns(raw: str | None) -> tuple[str, ...]:
    patterns = tuple(p.strip().lower() for p in _text(raw).split(",") if p.strip())
    if not patterns:
        raise ValueError("give at least one pattern, such as deal-*")
    bad = [p for p in patterns if not _PATTERN.match(p)]
    if bad:
        raise ValueError(f"not a channel-name pattern: {bad[0]} (letters, digits, - _ * ?)")
    return patterns


def _weekday(raw: str | None) -> int:
    word = _text(raw)
    if not (word.isdecimal() and 0 <= int(word) <= 6):
        raise ValueError("choose a day")
    return int(word)


def _time(raw: str | None) -> time:
    return parse_time(_text(raw))


def _choice(raw: str | None, allowed: tuple[str, ...]) -> str:
    word = _text(raw)
    if word not in allowed:
        raise ValueError(f"choose one of {', '.join(allowed)}")
    return word


def _channel(raw: str | None) -> str | None:
    word = _text(raw)
    if not word:
        return None
    if not _CHANNEL_ID.match(word):
        raise ValueError("choose a channel")
    return word


def _whole(raw: str | None, *, low: int, high: int) -> int:
    word = _text(raw)
    if not word.isdecimal() or not low <= int(word) <= high:
        raise ValueError(f"a whole number from {low} to {high}")
    return int(word)


def _users(raw: str | None) -> frozenset[str]:
    ids = frozenset(u.strip() for u in _text(raw).split(",") if u.strip())
    if any(not _USER_ID.match(u) for u in ids):
        raise ValueError("choose people from the list")
    return ids
