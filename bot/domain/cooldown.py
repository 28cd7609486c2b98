"""The never-nag rule: how often one rep may hear from us."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class PastNudge:
    channel_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CooldownPolicy:
    """At most one nudge per rep per channel per `per_channel`, and `daily_limit`
    per rep in any rolling 24 hours."""

    per_channel: timedelta = timedelta(hours=4)
    daily_limit: int = 3

    def __post_init__(self) -> None:
        if self.per_channel < timedelta(0):
            raise ValueError("per_channel must not be negative")
        if self.daily_limit < 0:
            raise ValueError("daily_limit must not be negative")

    @property
    def lookback(self) -> timedelta:
        """How far back the history passed to `allows` must reach."""
        return max(self.per_channel, timedelta(days=1))

    def allows(self, *, now: datetime, channel_id: str, history: Iterable[PastNudge]) -> bool:
        day_ago = now - timedelta(days=1)
        channel_since = now - self.per_channel
        in_last_day = 0
        for past in history:
            if past.channel_id == channel_id and past.at > channel_since:
                return False
            if past.at > day_ago:
                in_last_day += 1
        return in_last_day < self.daily_limit
