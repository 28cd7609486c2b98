"""Give the memory a process freed back to the operating system (glibc's malloc_trim).

Building a web worker's app parses files and imports modules, and most of what that
allocates is garbage once the app is built (the tokenizer file's JSON alone is over
10 MB of it). glibc keeps freed memory inside the process for later allocations,
mostly in the middle of its heaps, where it is never returned by itself: a worker
would carry it for its whole life. `malloc_trim(0)` returns every whole free page.

Elsewhere (musl, macOS) there is no such call and nothing is done.
"""

from __future__ import annotations

import ctypes
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
