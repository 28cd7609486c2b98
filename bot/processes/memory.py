"""Give the memory a process freed back to the operating system (glibc's malloc_trim).

Building a web worker's app parses files and imports modules, and most of what that
allocates is garbage once the app is built (the tokenizer file's JSON alone is over
10 MB of it). glibc keeps freed memory inside the process for later allocations,
mostly in the middle of its heaps, where it is never returned by itself: a worker
would carry it for its whole life. `malloc_trim(0)` returns every whole free page.

Elsewhere (musl, macOS) there is no such call and nothing is done.

`settle_after_build` also freezes what the built app holds out of the garbage
collector's sight; `settle_before_fork` does the same for gunicorn's master, without
the full collection first.
"""

from __future__ import annotations

import ctypes
import gc
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None when the C library has none."""
    try:
        # The symbols already loaded in this process (the C library's among them): no
        # search for a library file, no `ldconfig` subprocess as find_library would run.
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim_function: Callable[[int], int] = trim
    return trim_function


def release_free_memory() -> bool:
    """Return freed heap memory to the OS; True when it could be asked (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        log.debug("no malloc_trim in this C library: freed memory stays in the process")
        return False
    trim(0)
    return True


def settle_after_build() -> bool:
    """Once a long-running process has built its app: collect what building left,
    freeze what remains, and give freed pages back.

    Frozen objects (modules, mapped classes, the detector's tables: everything the
    process keeps for its whole life) are never scanned again by the garbage
    collector. A full collection in a scheduler process otherwise took 70-120 ms
    every few tens of seconds, and the check-ins due meanwhile went out together
    after it, bunched into one of Slack's rate-limit windows; frozen, 5-20 ms.
    """
    gc.collect()
    return settle_before_fork()


def settle_before_fork() -> bool:
    """gunicorn's master, once, before its first fork: freeze what it imported (so the
    workers' collections never write to those shared pages) and give freed pages back.

    No full collection first, unlike `settle_after_build`: the master has only imported
    modules and run the start-up checks, and a collection there found 130 unreachable
    objects among 92,000 while taking 38-48 ms on the way to the first fork (the first
    `/healthz`). Those few are frozen with the rest and kept for the master's life.
    """
    gc.freeze()
    return release_free_memory()
