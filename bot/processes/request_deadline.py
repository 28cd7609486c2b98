"""A time limit on reading each HTTP request, for both servers the bot runs under.

A thread that reads a request blocks until the client sends it. A client that sends
its headers or body a byte at a time would keep the thread forever, and enough of
them take every thread, so real Slack requests wait past Slack's 3 seconds. Neither
the stdlib server nor gunicorn's gthread worker bounds the time a whole request may
take (a per-read timeout does not help: each byte resets it), so the socket does.
"""

from __future__ import annotations

import io
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class DeadlineSocket:
    """A client socket whose request must arrive within `seconds` of `arm()`.

    Reads wait at most until the deadline. After it, a read returns only what has
    already arrived, and then end-of-file: a client still trickling its request is
    cut off, while a request that arrived whole but waited for a free thread is
    still read in full. Everything else is the wrapped socket's.
    """

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self._seconds = seconds
        self._deadline: float | None = None
        self._start_on_read = False
        self.cut_off = False

    def arm(self) -> None:
        """Start the clock for the next request now."""
        self._deadline = time.monotonic() + self._seconds
        self._start_on_read = False
        self.cut_off = False

    def arm_on_first_read(self) -> None:
        """Start the clock when the next request's first byte is read (a client
        may open a connection well before it sends anything on it)."""
        self._deadline = None
        self._start_on_read = True
        self.cut_off = False

    def has_data(self) -> bool:
        """Is something waiting to be read right now?"""
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            return bool(selector.select(timeout=0))

    def recv(self, size: int, flags: int = 0) -> bytes:
        return self._read(lambda: self._sock.recv(size, flags), b"")

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return self._read(lambda: self._sock.recv_into(buffer, nbytes, flags), 0)

    def _read(self, read: Callable[[], T], end: T) -> T:
        if self._start_on_read:
            self.arm()
        if self._deadline is None:
            return read()
        previous = self._sock.gettimeout()
        remaining = max(0.0, self._deadline - time.monotonic())
        # 0 means non-blocking: what is there, or BlockingIOError.
        self._sock.settimeout(remaining if previous is None else min(previous, remaining))
        try:
            return read()
        except (TimeoutError, BlockingIOError):  # socket.timeout is TimeoutError
            self.cut_off = True
            return end
        finally:
            self._sock.settimeout(previous)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineReader(io.RawIOBase):
    """A readable raw stream over a DeadlineSocket, for `io.BufferedReader`."""

    def __init__(self, sock: DeadlineSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)
