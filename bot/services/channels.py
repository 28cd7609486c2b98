"""Which channels Reframe listens in, and how it answers there."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.caches import TeamCache
from bot.domain.channels import is_deal_channel
from bot.domain.clock import Clock
from bot.domain.statuses import DeliveryMode
from bot.services.ports import ChannelNameLookup
from bot.storage import repos
from bot.storage.db import Database

log = logging.getLogger(__name__)

DELIVERY_MODES = tuple(DeliveryMode)
# Names change rarely and rename events update them; refresh daily regardless.
NAME_REFRESH = timedelta(days=1)
# Channels whose name and choices this process keeps (the least recently used go first).
CACHE_MAX_CHANNELS = 10_000


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    name: str | None
    deal_override: bool | None
    mode: DeliveryMode | None


class ChannelDirectory:
    """Channel names and choices, cached in memory for a short time.

    A message costs no Slack call: names come from the database, which asks
    Slack once per channel (and again a day later, or on a rename event). The
    memory cache is short so that `/reframe channel …` in one process reaches
    the others within a minute.
    """

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        names: ChannelNameLookup,
        patterns: tuple[str, ...],
        default_mode: DeliveryMode,
        cache_ttl: timedelta = timedelta(seconds=60),
        patterns_for: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._names = names
        self._patterns = patterns
        # A workspace's own patterns (chosen in App Home), else `patterns`.
        self._patterns_for = patterns_for or (lambda _team_id: patterns)
        self._default_mode = default_mode
        self._cache: TeamCache[ChannelInfo] = TeamCache(
            maxsize=CACHE_MAX_CHANNELS, ttl=cache_ttl, clock=clock
        )

    def info(self, team_id: str, channel_id: str) -> ChannelInfo:
        key = (team_id, channel_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        info = self._load(team_id, channel_id, self._clock.now())
        self._cache.put(key, info)
        return info

    def forget_team(self, team_id: str) -> None:
        """The workspace uninstalled: nothing of it stays in this process."""
        self._cache.forget(team_id)

    def is_deal_channel(self, team_id: str, channel_id: str) -> bool:
        info = self.info(team_id, channel_id)
        return is_deal_channel(info.name, self._patterns_for(team_id), info.deal_override)

    def delivery_mode(self, team_id: str, channel_id: str) -> DeliveryMode:
        return self.info(team_id, channel_id).mode or self._default_mode

    def set_override(self, team_id: str, channel_id: str, on: bool | None) -> None:
        self._update(team_id, channel_id, deal_override=on)

    def set_mode(self, team_id: str, channel_id: str, mode: str) -> None:
        if mode not in DELIVERY_MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self._update(team_id, channel_id, mode=DeliveryMode(mode))

    def renamed(self, team_id: str, channel_id: str, name: str) -> None:
        self._update(team_id, channel_id, name=name, name_checked_at=self._clock.now())

    def _update(self, team_id: str, channel_id: str, **values: object) -> None:
        with self._db.transaction() as session:
            repos.upsert_channel(
                session, team_id=team_id, channel_id=channel_id, now=self._clock.now(), **values
            )
        self._cache.pop((team_id, channel_id))

    def _load(self, team_id: str, channel_id: str, now: datetime) -> ChannelInfo:
        with self._db.transaction() as session:
            row = repos.get_channel(session, team_id=team_id, channel_id=channel_id)
            stored = (
                ChannelInfo(row.name, row.deal_override, row.mode)
                if row is not None
                else ChannelInfo(None, None, None)
            )
            fresh = (
                row is not None
                and row.name is not None
                and row.name_checked_at is not None
                and now - row.name_checked_at < NAME_REFRESH
            )
        if fresh:
            return stored
        # Slack is asked outside any transaction: never hold a lock across the network.
        name = self._names.channel_name(team_id, channel_id)
        if name is None:
            return stored
        with self._db.transaction() as session:
            repos.upsert_channel(
                session,
                team_id=team_id,
                channel_id=channel_id,
                now=now,
                name=name,
                name_checked_at=now,
            )
        return ChannelInfo(name, stored.deal_override, stored.mode)
