"""The send schedule's arithmetic: even slots, a shared pause after 429, a slower
pace that recovers, and never above what the operator configured."""

from __future__ import annotations

import pytest

from bot.domain.pacing import (
    MIN_RATE,
    SLOW_START,
    SLOWDOWN,
    WINDOW,
    Pace,
    after_late_post,
    after_rate_limit,
    current_rate,
    fresh_pace,
    late_enough,
    reserve,
)

T0 = 1_800_000_000.0


def take(pace: Pace, count: int, now: float, rate: float) -> tuple[list[float], Pace]:
    """Reserve `count` slots in turn at `now`: the slots, and the schedule after them."""
    slots = []
    for _ in range(count):
        slot, pace = reserve(pace, now, rate)
        slots.append(slot)
    return slots, pace


def test_slots_are_evenly_spaced_at_the_configured_rate() -> None:
    slots, _ = take(Pace(next_at=T0, rate=50.0, limited_at=None), 5, T0, 50.0)  # in use
    assert slots == pytest.approx([T0, T0 + 0.02, T0 + 0.04, T0 + 0.06, T0 + 0.08], abs=1e-6)


def test_the_first_post_of_a_burst_is_followed_by_two_intervals() -> None:
    # A new workspace, and one whose last slot is a whole window (1 s) behind now.
    for pace in (fresh_pace(T0, 50.0), Pace(T0 - 1.0, 50.0, None, burst_at=T0 - 60)):
        slots, after = take(pace, 3, T0, 50.0)
        assert slots == pytest.approx([T0, T0 + 0.04, T0 + 0.04 + 0.02 * SLOW_START], abs=1e-6)
        assert after.burst_at == T0  # a new burst
    # Less than a window behind: the schedule is still in use, one interval.
    slot, pace = reserve(Pace(T0 - 0.9, 50.0, None), T0, 50.0)
    assert slot == T0 and pace.next_at == pytest.approx(T0 + 0.02, abs=1e-6)


def test_slots_in_a_burst_s_first_window_are_a_tenth_further_apart() -> None:
    slots, pace = take(fresh_pace(T0, 50.0), 60, T0, 50.0)
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    inside = [g for s, g in zip(slots, gaps, strict=False) if s < T0 + WINDOW]
    after = [g for s, g in zip(slots, gaps, strict=False) if s >= T0 + WINDOW]
    assert inside[0] == pytest.approx(0.04, abs=1e-6)
    assert inside[1:] == pytest.approx([0.02 * SLOW_START] * (len(inside) - 1), abs=1e-6)
    assert after and after == pytest.approx([0.02] * len(after), abs=1e-6)
    assert pace.burst_at == T0
    # What it costs: one interval and about a tenth of a second, at any burst length.
    assert slots[-1] - (T0 + 59 * 0.02) == pytest.approx(0.02 + 0.1, abs=0.025)


def test_posts_late_at_a_burst_s_start_keep_clear_of_those_a_window_later() -> None:
    # Measured at 49.8 a second against Slack's 50: the burst's first posts reached
    # Slack later behind their slots than the posts a second on did (the second one
    # about 11 ms). No 51 arrivals may fall within one second.
    rate = 49.8
    slots, _ = take(fresh_pace(T0, rate), 120, T0, rate)
    late = [0.020, 0.012, 0.010, 0.008, 0.006] + [0.004] * 15 + [0.0] * 100
    arrivals = sorted(s + d for s, d in zip(slots, late, strict=True))
    assert all(b - a >= WINDOW for a, b in zip(arrivals, arrivals[50:], strict=False))
    # Without the slow start (every interval one), the second post and the one 50 after
    # it arrive less than a second apart: the 429 the measurement found.
    plain = [T0, T0 + 2 / rate] + [T0 + (k + 1) / rate for k in range(2, 120)]
    arrivals = sorted(s + d for s, d in zip(plain, late, strict=True))
    assert any(b - a < WINDOW for a, b in zip(arrivals, arrivals[50:], strict=False))


def test_an_idle_schedule_starts_now_not_in_the_past() -> None:
    pace = fresh_pace(T0, 10.0)
    slot, pace = reserve(pace, T0 + 3600, 10.0)
    assert slot == T0 + 3600
    assert pace.next_at == pytest.approx(T0 + 3600.2, abs=1e-6)  # the first of a burst


def test_a_429_pauses_the_schedule_for_retry_after_and_slows_it() -> None:
    _, pace = reserve(fresh_pace(T0, 50.0), T0, 50.0)  # a burst began at T0
    limited = after_rate_limit(pace, T0 + 1, retry_after=2.0, configured_rate=50.0)
    assert limited.next_at == T0 + 3
    assert limited.burst_at == T0  # the burst's start is kept
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


def test_a_late_post_moves_the_slots_not_yet_taken_back_by_its_lateness() -> None:
    # 49 a second against Slack's 50: posts 0 and 50 are 50 intervals (1.0204 s) apart
    # when on time; post 0 leaving 25 ms late puts 51 posts inside one second.
    before, pace = take(Pace(next_at=T0, rate=49.0, limited_at=None), 3, T0, 49.0)  # in use
    after, _ = take(after_late_post(pace, 0.025), 48, T0, 49.0)
    slots = before + after
    assert len(slots) == 51
    assert slots[50] - (slots[0] + 0.025) == pytest.approx(50 / 49.0, abs=1e-6)
    assert slots[3] - slots[2] == pytest.approx(1 / 49.0 + 0.025, abs=1e-6)


def test_jitter_within_half_an_interval_moves_nothing() -> None:
    assert not late_enough(0.010, 49.0)  # half of 20.4 ms is 10.2 ms
    assert late_enough(0.011, 49.0)
    assert late_enough(0.24, 2.0) is False and late_enough(0.26, 2.0)


@pytest.mark.parametrize("lateness", [0.0, -0.5, float("nan"), float("inf")])
def test_a_lateness_that_is_not_a_positive_finite_number_moves_nothing(lateness: float) -> None:
    pace = fresh_pace(T0, 10.0)
    assert after_late_post(pace, lateness) == pace


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_a_pace_refuses_a_rate_that_is_not_a_positive_number(rate: float) -> None:
    with pytest.raises(ValueError):
        Pace(next_at=T0, rate=rate, limited_at=None)
