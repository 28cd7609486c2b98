"""Pacing posts to one workspace: evenly spaced send slots, slower after a 429.

Slack limits chat.postMessage per app per workspace. Sending in bursts and
waiting out each 429 wastes most of every Retry-After pause (the window empties
long before the pause ends), so posts are spaced at a steady rate instead (a
burst's first second a little wider). The rate starts at what the operator
configured; each rate-limit episode lowers it by a twentieth, and quiet time lets
it grow back by a tenth a minute, never above the configured rate.

Pure arithmetic on wall-clock seconds (`time.time()`): this is about Slack's
real clock, not the business clock that tests set. The shared state lives in
the database (see bot/storage/pacing.py) so every scheduler process takes its
slot from the same schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

SLOWDOWN = 0.95  # the rate after a rate-limit episode, as a share of the rate before
RECOVERY_PER_MINUTE = 1.1  # growth of the rate for each quiet minute after one
MIN_RATE = 0.2  # posts per second: one every 5 s at the slowest


@dataclass(frozen=True, slots=True)
class Pace:
    """One workspace's send schedule."""

    next_at: float  # the earliest time (epoch seconds) the next post may go out
    rate: float  # posts per second right after the last rate-limit episode
    limited_at: float | None  # when the last rate-limit episode began
    burst_at: float | None = None  # the first slot of the latest burst

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive number, not {self.rate!r}")


# Slack's rate limit counts posts over a one-second window.
WINDOW = 1.0


def fresh_pace(now: float, configured_rate: float) -> Pace:
    """A workspace's first schedule: nothing posted in the last window."""
    return Pace(next_at=now - WINDOW, rate=configured_rate, limited_at=None)


def current_rate(pace: Pace, now: float, configured_rate: float) -> float:
    """The rate in force now: the configured one, or a slower one recovering towards it."""
    if pace.limited_at is None:
        return configured_rate
    quiet_minutes = max(0.0, now - pace.limited_at) / 60.0
    # Cap the exponent: after an hour of quiet the configured rate is back anyway.
    grown = pace.rate * math.pow(RECOVERY_PER_MINUTE, min(quiet_minutes, 60.0))
    return max(MIN_RATE, min(configured_rate, grown))


# Slots in a burst's first window are this much further apart (see `reserve`).
SLOW_START = 1.1


def reserve(pace: Pace, now: float, configured_rate: float) -> tuple[float, Pace]:
    """The next free slot (never before `now`) and the schedule after taking it.

    A burst (a tick's check-ins) starts with the first slot after a whole window
    without posts. That slot is followed by two intervals, not one, and the others
    in the burst's first window by a tenth more than one. As a burst starts, every
    worker of every process claims and reserves at once, and its first posts reach
    Slack late: the first up to an interval behind its slot, the next few up to
    about half an interval (arrival times at 49.8/s). The posts a window later,
    sent on time by then, would arrive inside the same second as them. The extra
    interval covers the first post; the tenth, summed over the window, the others.
    The extra interval costs one interval a burst, the tenth up to about 0.1 s more."""
    slot = max(pace.next_at, now)
    interval = 1.0 / current_rate(pace, now, configured_rate)
    if now - pace.next_at >= WINDOW:
        return slot, replace(pace, next_at=slot + 2 * interval, burst_at=slot)
    if pace.burst_at is not None and slot < pace.burst_at + WINDOW:
        interval *= SLOW_START
    return slot, replace(pace, next_at=slot + interval)


# A post that leaves later than this share of an interval after its slot moves the
# schedule back (see after_late_post); later than its slot by less is ordinary jitter.
LATE_SHARE = 0.5


def late_enough(lateness: float, configured_rate: float) -> bool:
    """Whether a post this many seconds behind its slot should move the schedule back.

    Measured against the configured rate's interval: after a 429 the interval is
    longer, so this asks a little early then, never late."""
    return lateness > LATE_SHARE / configured_rate


def after_late_post(pace: Pace, lateness: float) -> Pace:
    """A post went out `lateness` seconds after its slot: the slots not yet taken move
    back by as much.

    Slack counts posts by when they arrive. A post that leaves late sits closer to
    the posts that follow it a window later: at a pace just under the limit, one a
    full interval late puts one post too many in that window, and Slack answers
    429 (a second's pause and a slower pace for a minute). Posts already holding
    the slots after it are not the problem; the ones a window later are, and they
    are not reserved yet.
    """
    if not (math.isfinite(lateness) and lateness > 0):
        return pace
    return replace(pace, next_at=pace.next_at + lateness)


def after_rate_limit(pace: Pace, now: float, retry_after: float, configured_rate: float) -> Pace:
    """Slack answered 429: nobody posts before Retry-After is over, then slower.

    The posts already in flight when the first 429 came back are answered 429
    too; they belong to the same episode and slow the rate only once.
    """
    retry_after = max(0.0, retry_after)
    resume_at = max(pace.next_at, now + retry_after)
    same_episode = pace.limited_at is not None and now - pace.limited_at < max(retry_after, 1.0)
    if same_episode:
        return replace(pace, next_at=resume_at)
    slower = max(MIN_RATE, current_rate(pace, now, configured_rate) * SLOWDOWN)
    return replace(pace, next_at=resume_at, rate=slower, limited_at=now)
