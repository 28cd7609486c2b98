"""Giving freed memory back to the OS (bot/processes/memory.py), and a web worker doing it
once its app is built."""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, cast

import pytest

from bot.config import Settings
from bot.processes import memory, web_app

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")

# Heap blocks freed between blocks still in use, the way building an app leaves them:
# glibc keeps them for later; malloc_trim gives their pages back.
_FRAGMENTED_HEAP = """
import sys
from pathlib import Path
from bot.processes.memory import release_free_memory

def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")

# 64 KiB blocks: under glibc's mmap threshold, so they come from the heap.
blocks = [bytearray(b"x" * 65536) for _ in range(800)]
kept = blocks[::40] + [blocks[-1]]  # one in 40 stays, and the last pins the heap's top
del blocks
before = rss_mb()
trimmed = release_free_memory()
print(trimmed, before - rss_mb())
"""


@pytest.fixture
def fresh_lookup() -> Iterator[None]:
    memory._malloc_trim.cache_clear()
    yield
    memory._malloc_trim.cache_clear()


@glibc
def test_freed_heap_memory_goes_back_to_the_os() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED_HEAP], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    trimmed, released_mb = result.stdout.split()
    assert trimmed == "True"
    # 780 blocks of 64 KiB freed: about 49 MB; without the trim, nothing comes back.
    assert float(released_mb) > 30


def test_without_malloc_trim_nothing_is_done(
    monkeypatch: pytest.MonkeyPatch, fresh_lookup: None
) -> None:
    class NoTrim:  # musl, macOS: the C library has no such function
        def __init__(self, _name: Any) -> None:
            pass

        def __getattr__(self, name: str) -> Any:
            raise AttributeError(name)

    monkeypatch.setattr(ctypes, "CDLL", NoTrim)
    assert memory.release_free_memory() is False


def test_a_web_worker_trims_once_its_app_and_detector_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.domain.detection as detection
    import bot.wiring as wiring

    calls: list[str] = []

    class Built:
        wsgi = object()

    def build(*_args: Any, **_kwargs: Any) -> Built:
        calls.append("app")
        return Built()

    monkeypatch.setattr(wiring, "build", build)
    monkeypatch.setattr(detection, "default_detector", lambda: calls.append("detector"))
    monkeypatch.setattr(web_app, "settle_after_build", lambda: calls.append("trim") or True)
    monkeypatch.setattr(web_app, "_current", None)
    assert web_app._build(cast(Settings, None)) is Built.wsgi  # the fake build reads none
    assert calls == ["app", "detector", "trim"]


def test_settling_after_the_build_freezes_what_the_process_holds() -> None:
    """What the built app holds is out of the collector's sight afterwards: a full
    collection scans only what was made since (a scheduler's 100 ms pauses)."""
    import gc

    from bot.processes.memory import settle_after_build

    kept = [[i] for i in range(1000)]  # long-lived, as an app's objects are
    try:
        before = gc.get_freeze_count()
        settle_after_build()
        frozen = gc.get_freeze_count()
        assert frozen >= before + len(kept)
        made_after = [[i] for i in range(100)]
        gc.collect()
        assert gc.get_freeze_count() == frozen  # what comes later is collected as usual
        assert len(made_after) == 100
    finally:
        gc.unfreeze()  # the rest of the test session collects as before


def test_settling_before_the_fork_freezes_without_a_full_collection() -> None:
    """gunicorn's master freezes what it imported before its first fork, and skips the
    full collection (tens of milliseconds on the way to the first /healthz)."""
    import gc

    from bot.processes.memory import settle_before_fork

    kept = [[i] for i in range(1000)]
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        before = gc.get_freeze_count()
        settle_before_fork()
        assert gc.get_freeze_count() >= before + len(kept)
        assert 2 not in collections  # no full collection was run
    finally:
        gc.callbacks.remove(seen)
        gc.unfreeze()


def test_settling_after_the_build_collects_its_garbage_before_freezing() -> None:
    """What the build left as garbage (cycles: parsed files, import-time temporaries)
    is collected, not frozen in for the process's life."""
    import gc
    import weakref

    from bot.processes.memory import settle_after_build

    class Node:
        other: Node | None = None

    freed: list[bool] = []
    first, second = Node(), Node()
    first.other, second.other = second, first  # a cycle: only the collector frees it
    weakref.finalize(first, freed.append, True)
    del first, second
    try:
        settle_after_build()
        assert freed == [True]
    finally:
        gc.unfreeze()
