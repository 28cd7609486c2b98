"""Each gunicorn worker on a CPU of its own (WEB_CPU_PINNING).

A worker is one Python process of several threads, and only the thread holding the
GIL runs. When the kernel spreads those threads over every core, each GIL handoff
(a thread back from the database or from Slack taking over from one that was
computing) moves the interpreter's working data from one core's cache to the
other's, and the two workers keep evicting each other besides. On a 2-core machine
at 1,000 events/s with one event in ten a vent, that made every line of the
request path, Bolt's and gunicorn's included, cost about half as much again
(`python -m benchmarks.load`; README, "Workers pinned to CPUs"). A worker whose
threads all stay on one core hands the GIL over within that core's cache.

`auto` (the default) pins only where the workers cover every CPU the server may use
(as many workers as CPUs, gunicorn's usual setting): each worker then has a core to
itself. With more CPUs than workers, the affinity set is probably a whole host
behind a CPU quota, where other containers would pin to the same first cores;
`on` pins there too, `off` never. The master chooses the CPU (`cpu_for`, at fork,
from the CPUs the workers it keeps hold), so a worker that dies is replaced on the
core it left, and a reload (SIGHUP) spreads its new set as the first. Changing the
count at run time (TTIN, TTOU) re-pins no live worker: until they are replaced, two
may share a core (restart with a new WEB_CONCURRENCY instead).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

log = logging.getLogger(__name__)

PinningMode = Literal["auto", "on", "off"]
# Set on gunicorn's Worker object in the master, read in the forked child.
CPU_ATTRIBUTE = "reframe_cpu"


def usable_cpus() -> tuple[int, ...]:
    """The CPUs this process may run on; () where the platform cannot say or pin."""
    if not hasattr(os, "sched_getaffinity"):
        return ()
    return tuple(sorted(os.sched_getaffinity(0)))


def should_pin(mode: PinningMode, cpus: Sequence[int], workers: int) -> bool:
    """Whether to give each worker a CPU of its own (see the module's docstring)."""
    if mode == "off" or len(cpus) < 2:
        return False  # one CPU (or none known): every worker is on it already
    return mode == "on" or workers >= len(cpus)


def cpu_for(cpus: Sequence[int], taken: Iterable[int]) -> int:
    """The CPU for a new worker: of `cpus`, the one the fewest live workers hold
    (`taken`, one entry a worker), the lowest on a tie."""
    held = Counter(taken)
    return min(cpus, key=lambda cpu: (held[cpu], cpu))


def choose_for_new_worker(
    mode: PinningMode, workers: int, live: Iterable[Any], new: Any
) -> int | None:
    """gunicorn's `pre_fork`, in the master: the CPU the new worker will run on,
    recorded on it; None (nothing recorded) when workers are not pinned."""
    cpus = usable_cpus()
    if not should_pin(mode, cpus, workers):
        return None
    # The workers the new one will work beside: gunicorn keeps the youngest and stops
    # the oldest beyond its count (a reload spawns a whole new set before it stops the
    # old one), so only the youngest `workers - 1` count.
    kept = sorted(live, key=lambda worker: int(worker.age))[-(workers - 1) :] if workers > 1 else []
    taken = [getattr(worker, CPU_ATTRIBUTE, None) for worker in kept]
    cpu = cpu_for(cpus, [c for c in taken if c is not None])
    setattr(new, CPU_ATTRIBUTE, cpu)
    return cpu


def pin_this_worker(worker: Any, logger: Any = log) -> int | None:
    """gunicorn's `post_fork`, in the new worker: run on the CPU the master chose (the
    master logs the choice). A refusal (a sandbox that forbids it) is logged on `logger`
    (gunicorn's: the app's logging is set up later in the worker) and the worker runs
    unpinned."""
    cpu = getattr(worker, CPU_ATTRIBUTE, None)
    if cpu is None:
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as error:
        logger.warning("could not pin the worker to CPU %s: %s", cpu, error)
        return None
    return int(cpu)
