"""The send schedule's arithmetic: even slots, a shared pause after 429, a slower
pace that recovers, and never above what the operator configured."""

from __future__ import annotations

import pytest

from bot.domain.pacing import (
    MIN_RATE,
    SLOWDOWN,
    Pace,
    after_rate_limit,
    current_rate,
    fresh_pace,
    reserve,
)

T0 = 1_800_000_000.0


def test_slots_are_evenly_spaced_at_the_configured_rate() -> None:
    pace = fresh_pace(T0, 50.0)
    slots = []
    for _ in range(5):
        slot, pace = reserve(pace, T0, 50.0)
        slots.append(slot)
    assert slots == pytest.approx([T0, T0 + 0.02, T0 + 0.04, T0 + 0.06, T0 + 0.08], abs=1e-6)


def test_an_idle_schedule_starts_now_not_in_the_past() -> None:
    pace = fresh_pace(T0, 10.0)
    slot, pace = reserve(pace, T0 + 3600, 10.0)
    assert slot == T0 + 3600
    assert pace.next_at == pytest.approx(T0 + 3600.1)


def test_a_429_pauses_the_schedule_for_retry_after_and_slows_it() -> None:
    pace = fresh_pace(T0, 50.0)
    limited = after_rate_limit(pace, T0 + 1, retry_after=2.0, configured_rate=50.0)
    assert limited.next_at == T0 + 3
    assert limited.rate == pytest.approx(50.0 * SLOWDOWN)
    slot, after = reserve(limited, T0 + 1, 50.0)
    assert slot == T0 + 3  # nobody posts before Retry-After is over
    assert after.next_at - slot == pytest.approx(1 / (50.0 * SLOWDOWN), abs=1e-6)


def test_posts_in_flight_in_the_same_episode_slow_it_only_once() -> None:
    pace = after_rate_limit(fresh_pace(T0, 50.0), T0, retry_after=1.0, configured_rate=50.0)
    for late in (0.01, 0.05, 0.3):
        pace = after_rate_limit(pace, T0 + late, retry_after=1.0, configured_rate=50.0)
    assert pace.rate == pytest.approx(50.0 * SLOWDOWN)
    assert pace.next_at == pytest.approx(T0 + 1.3)  # the latest 429's Retry-After still counts
    again = after_rate_limit(pace, T0 + 5, retry_after=1.0, configured_rate=50.0)
    assert again.rate < 50.0 * SLOWDOWN  # a new episode after the pause slows it again


def test_the_slower_rate_recovers_with_quiet_time_up_to_the_configured_one() -> None:
    pace = Pace(next_at=T0, rate=40.0, limited_at=T0)
    assert current_rate(pace, T0, 50.0) == pytest.approx(40.0)
    assert current_rate(pace, T0 + 60, 50.0) == pytest.approx(44.0)
    assert current_rate(pace, T0 + 600, 50.0) == 50.0
    assert current_rate(pace, T0 + 10 * 86400, 50.0) == 50.0  # no overflow after days


def test_lowering_the_configured_rate_takes_effect_at_once() -> None:
    pace = Pace(next_at=T0, rate=80.0, limited_at=None)
    slot, after = reserve(pace, T0, 5.0)
    assert after.next_at - slot == pytest.approx(0.2, abs=1e-6)


def test_the_rate_never_falls_below_the_floor() -> None:
    pace = fresh_pace(T0, MIN_RATE)
    for episode in range(10):
        pace = after_rate_limit(pace, T0 + 10 * episode, retry_after=1.0, configured_rate=MIN_RATE)
    assert pace.rate == MIN_RATE


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_a_pace_refuses_a_rate_that_is_not_a_positive_number(rate: float) -> None:
    with pytest.raises(ValueError):
        Pace(next_at=T0, rate=rate, limited_at=None)
