"""The process's small in-memory caches: bounded, expiring, thread-safe, forgettable.

A few parts keep what they looked up, to spare the database or Slack a round trip
on the next message: a channel's name and choices, who is already enrolled, each
workspace's Web API client. None of them may grow with every workspace and rep
ever seen, keep an answer for longer than it stays true, or remember a rep after
forget-me or a workspace after it uninstalled. So each is a `TeamCache`:

- bounded (`maxsize`): the least recently used entry makes room for a new one;
- expiring (`ttl`): an entry is dropped that long after it was stored;
- keyed by tuples whose first item is the team id (and, where there is one, the
  user id second), so `forget(team_id)` and `forget(team_id, user_id)` let go of a
  workspace or of one rep;
- safe to share between threads (request threads, delivery workers, the
  scheduler): cachetools' caches are not, so every call holds a lock.

Expiry reads the injected clock when one is given (tests move it), else the
monotonic clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Generic, TypeVar

from cachetools import TTLCache

from bot.domain.clock import Clock

V = TypeVar("V")
Key = tuple[str, ...]  # (team_id, …)


def clock_timer(clock: Clock) -> Callable[[], float]:
    """Seconds from `clock`, for expiry that follows a clock tests can move."""
    return lambda: clock.now().timestamp()


class TeamCache(Generic[V]):
    """A bounded, expiring, thread-safe map from (team_id, …) keys to values."""

    def __init__(
        self,
        *,
        maxsize: int,
        ttl: timedelta,
        clock: Clock | None = None,
    ) -> None:
        if maxsize < 1 or ttl <= timedelta(0):
            raise ValueError("a cache needs room for one entry and a positive time to live")
        timer = clock_timer(clock) if clock is not None else time.monotonic
        self._entries: TTLCache[Key, V] = TTLCache(
            maxsize=maxsize, ttl=ttl.total_seconds(), timer=timer
        )
        self._lock = threading.Lock()

    def get(self, key: Key) -> V | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Key, value: V) -> None:
        with self._lock:
            self._entries[key] = value

    def pop(self, key: Key) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        """Live entries (expired ones are dropped first)."""
        with self._lock:
            return len(self._entries)

    def forget(self, team_id: str, *rest: str) -> int:
        """Drop every entry whose key starts with (team_id, *rest): a workspace that
        uninstalled, or one rep who said forget-me. Returns how many went."""
        prefix = (team_id, *rest)
        with self._lock:
            gone = [key for key in list(self._entries.keys()) if key[: len(prefix)] == prefix]
            for key in gone:
                self._entries.pop(key, None)
        return len(gone)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class TeamSet(TeamCache[bool]):
    """A `TeamCache` used as a set: which keys were seen lately."""

    def add(self, key: Key) -> None:
        self.put(key, True)
