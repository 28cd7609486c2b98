"""Which CPU each gunicorn worker runs on (bot/processes/cpu_pinning.py). The real
processes are in tests/test_roles.py."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from bot.processes import cpu_pinning
from bot.processes.cpu_pinning import CPU_ATTRIBUTE, cpu_for, should_pin


@pytest.mark.parametrize(
    ("mode", "cpus", "workers", "pinned"),
    [
        ("auto", (0, 1), 2, True),  # a core each: gunicorn's usual setting
        ("auto", (0, 1), 3, True),  # more workers than cores: spread evenly
        ("auto", (0, 1, 2, 3), 2, False),  # a host behind a quota, perhaps: left alone
        ("on", (0, 1, 2, 3), 2, True),
        ("off", (0, 1), 2, False),
        ("on", (0,), 2, False),  # one CPU: every worker is on it already
        ("auto", (), 2, False),  # a platform that cannot say
    ],
)
def test_when_workers_are_pinned(
    mode: cpu_pinning.PinningMode, cpus: tuple[int, ...], workers: int, pinned: bool
) -> None:
    assert should_pin(mode, cpus, workers) is pinned


def test_each_new_worker_takes_the_least_held_cpu() -> None:
    cpus = (2, 5)
    first = cpu_for(cpus, [])
    second = cpu_for(cpus, [first])
    third = cpu_for(cpus, [first, second])
    assert (first, second, third) == (2, 5, 2)
    # The worker on 5 died: its replacement goes back to 5, not onto 2 again.
    assert cpu_for(cpus, [2]) == 5
    assert cpu_for(cpus, [2, 2, 5]) == 5


def test_a_reload_spreads_the_new_workers_whatever_the_old_ones_held() -> None:
    """SIGHUP: gunicorn spawns the new set while the old one still runs, then stops
    the oldest. Each new worker is placed beside the younger ones only: counting the
    old worker that is about to stop would put both new ones on the first CPU."""
    cpus = cpu_pinning.usable_cpus()
    if len(cpus) < 2:
        assert cpu_pinning.choose_for_new_worker("on", 2, [], SimpleNamespace(age=1)) is None
        return
    # The worker on the first CPU died in the same moment: one old worker is left.
    live = [SimpleNamespace(age=2, **{CPU_ATTRIBUTE: cpus[1]})]
    first, second = SimpleNamespace(age=3), SimpleNamespace(age=4)
    assert cpu_pinning.choose_for_new_worker("on", 2, live, first) == cpus[0]
    live.append(first)
    assert cpu_pinning.choose_for_new_worker("on", 2, live, second) == cpus[1]


def test_the_master_records_the_cpu_on_the_new_worker_only_when_pinning() -> None:
    cpus = cpu_pinning.usable_cpus()
    live = [SimpleNamespace(age=1, **{CPU_ATTRIBUTE: cpus[0]})] if cpus else []
    new = SimpleNamespace()
    chosen = cpu_pinning.choose_for_new_worker("on", 2, live, new)
    if len(cpus) >= 2:
        assert chosen == cpus[1] == getattr(new, CPU_ATTRIBUTE)
    else:
        assert chosen is None and not hasattr(new, CPU_ATTRIBUTE)
    untouched = SimpleNamespace()
    assert cpu_pinning.choose_for_new_worker("off", 2, live, untouched) is None
    assert not hasattr(untouched, CPU_ATTRIBUTE)


def test_a_worker_without_a_chosen_cpu_keeps_its_affinity() -> None:
    before = os.sched_getaffinity(0)
    assert cpu_pinning.pin_this_worker(SimpleNamespace()) is None
    assert os.sched_getaffinity(0) == before


def test_a_refused_pinning_is_logged_and_the_worker_runs_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = os.sched_getaffinity(0)
    impossible = max(before) + 4096  # a CPU no machine here has
    with caplog.at_level("WARNING", logger="bot.processes.cpu_pinning"):
        assert cpu_pinning.pin_this_worker(SimpleNamespace(**{CPU_ATTRIBUTE: impossible})) is None
    assert os.sched_getaffinity(0) == before
    assert f"could not pin the worker to CPU {impossible}" in caplog.text
