from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.channels import is_deal_channel, matches_deal_pattern
from bot.domain.clock import FixedClock
from bot.domain.cooldown import CooldownPolicy, PastNudge

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
POLICY = CooldownPolicy(per_channel=timedelta(hours=4), daily_limit=3)


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def test_first_nudge_is_allowed() -> None:
    assert POLICY.allows(now=NOW, channel_id="C1", history=[])


def test_same_channel_within_four_hours_is_not() -> None:
    assert not POLICY.allows(
        now=NOW, channel_id="C1", history=[PastNudge("C1", ago(hours=3, minutes=59))]
    )
    assert POLICY.allows(
        now=NOW, channel_id="C1", history=[PastNudge("C1", ago(hours=4, minutes=1))]
    )


def test_other_channel_is_fine_until_the_daily_limit() -> None:
    two = [PastNudge("C1", ago(hours=1)), PastNudge("C2", ago(hours=2))]
    assert POLICY.allows(now=NOW, channel_id="C3", history=two)
    three = [*two, PastNudge("C4", ago(hours=20))]
    assert not POLICY.allows(now=NOW, channel_id="C3", history=three)
    # The day is rolling: a nudge 25 hours ago no longer counts.
    old = [*two, PastNudge("C4", ago(hours=25))]
    assert POLICY.allows(now=NOW, channel_id="C3", history=old)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CooldownPolicy(daily_limit=-1)
    assert CooldownPolicy(per_channel=timedelta(hours=30)).lookback == timedelta(hours=30)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("deal-acme", True),
        ("deals-globex-renewal", True),
        ("#Deal-Initech", True),
        ("general", False),
        ("ideal-team", False),
        ("deal", False),
    ],
)
def test_deal_channel_patterns(name: str, expected: bool) -> None:
    assert matches_deal_pattern(name, ("deal-*", "deals-*")) is expected


def test_channel_override_wins_over_name() -> None:
    assert is_deal_channel("general", ("deal-*",), True)
    assert not is_deal_channel("deal-acme", ("deal-*",), False)
    assert not is_deal_channel(None, ("deal-*",), None)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(NOW)
    assert clock.now() == NOW
    clock.advance(timedelta(minutes=5))
    assert clock.now() == NOW + timedelta(minutes=5)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))
