"""Ports for servers that another process binds later (`PORT=` for app.py, gunicorn,
the scheduler), or that a test closes and opens again.

Binding port 0 and closing it hands out a port that is free now, from the range
the kernel also gives every other socket's port 0 and every outgoing connection:
in the second or two a process takes to start, another test (another xdist worker,
another run on the machine) may be given the same port. These come from below that
range instead, from a block of their own for each xdist worker, and are checked to
be free when handed out.
"""

from __future__ import annotations

import os
import random
import socket
import threading

FIRST = 20_000  # below Linux's ephemeral ports (32768-60999 by default)
BLOCK = 500
BLOCKS = 24  # FIRST + BLOCKS * BLOCK stays below 32768

_lock = threading.Lock()
_next: int | None = None


def _block_start() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3"; unset when not under xdist
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return FIRST + (index % BLOCKS) * BLOCK


def free_port() -> int:
    """A port nothing listens on, from this worker's block (cycling through it)."""
    global _next
    start = _block_start()
    with _lock:
        if _next is None:  # a random start: two runs at once rarely walk in step
            _next = random.randrange(BLOCK)
        for _ in range(BLOCK):
            port = start + _next
            _next = (_next + 1) % BLOCK
            with socket.socket() as sock:
                try:
                    sock.bind(("0.0.0.0", port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free port in {start}-{start + BLOCK - 1}")
