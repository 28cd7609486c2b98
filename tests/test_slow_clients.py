"""Clients that send their request a byte at a time: they are disconnected after
HTTP_READ_TIMEOUT_SECONDS, and a real Slack request sent meanwhile is answered within
Slack's 3 seconds, by the all-in-one server and by gunicorn's web role alike."""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.clock import FixedClock
from bot.observability import metrics
from bot.processes.web import make_http_server, serve_in_thread
from bot.wiring import build
from tests.conftest import make_settings
from tests.fakes.ports import free_port
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSender
from tests.test_roles import _env, _start, _stop, _wait_ready

VENT = "their DM is a jerk tbh, he'll never give us a shot"
SLOW_CLIENTS = 50
READ_TIMEOUT = 1.0
SLACK_WAITS = 3.0  # seconds Slack gives an answer


class Tricklers:
    """Sockets that each send a request one byte at a time and never finish it:
    half stall in the headers, half in a body much longer than they send."""

    def __init__(self, port: int, count: int) -> None:
        self._open: dict[socket.socket, bytes] = {}
        self._closed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.setblocking(False)
            if i % 2:  # headers that never end
                request = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100_000
            else:  # whole headers, then a body sent a byte at a time
                head = (
                    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"X-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=0\r\n"
                    b"Content-Length: 100000\r\n\r\n"
                )
                sock.sendall(head)
                request = b"{" + b" " * 100_000
            self._open[sock] = request
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in self._open:
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set() and self.still_open():
                for sock, rest in list(self._open.items()):
                    try:
                        sock.send(rest[:1])
                        self._open[sock] = rest[1:]
                    except OSError:  # reset by the server
                        self._close(selector, sock)
                for key, _ in selector.select(timeout=0.1):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        if sock.recv(4096) != b"":
                            continue  # an answer; its end comes next
                    except BlockingIOError:
                        continue
                    except OSError:
                        pass
                    self._close(selector, sock)

    def _close(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        if sock in self._open:
            selector.unregister(sock)
            sock.close()
            del self._open[sock]
            with self._lock:
                self._closed += 1

    def still_open(self) -> int:
        return len(self._open)

    def closed_by_server(self) -> int:
        with self._lock:
            return self._closed

    def wait_until_all_closed(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.still_open() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.still_open()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in list(self._open):
            sock.close()


def _a_vent_is_answered_in_time(sender: SlackSender, fake: FakeSlack) -> None:
    started = time.monotonic()
    reply = sender.message(VENT)
    answered_in = time.monotonic() - started
    assert reply.status == 200
    assert answered_in < SLACK_WAITS, f"answered after {answered_in:.1f}s"
    assert len(fake.wait_for("chat.postEphemeral", timeout=10)) == 1


@pytest.fixture
def slow_server(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> Iterator[tuple[int, SlackSender]]:
    reframe = build(make_settings(database_url, fake_slack), clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0, read_timeout=READ_TIMEOUT)
    serve_in_thread(server)
    port = server.server_address[1]
    yield port, SlackSender(f"http://127.0.0.1:{port}")
    server.shutdown()
    server.server_close()
    reframe.shutdown()


def test_all_in_one_server_cuts_off_trickling_clients(
    slow_server: tuple[int, SlackSender], fake_slack: FakeSlack
) -> None:
    port, sender = slow_server
    cut_before = metrics.value("slow_requests_cut_off")
    tricklers = Tricklers(port, SLOW_CLIENTS)
    try:
        _a_vent_is_answered_in_time(sender, fake_slack)
        assert tricklers.wait_until_all_closed(timeout=20) == 0
    finally:
        tricklers.stop()
    assert tricklers.closed_by_server() == SLOW_CLIENTS
    assert metrics.value("slow_requests_cut_off") - cut_before == SLOW_CLIENTS
    assert sender.get("/healthz").status == 200


def test_a_request_sent_in_pieces_within_the_limit_is_served(
    slow_server: tuple[int, SlackSender],
) -> None:
    # The limit is on the whole request, not on each read: pieces are fine.
    port, _sender = slow_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(READ_TIMEOUT / 10)
        assert sock.recv(4096).startswith(b"HTTP/1.0 200")


def test_gunicorn_web_role_cuts_off_trickling_clients(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    port = free_port()
    # Few threads, so that 50 slow clients would take all of them for good.
    env = _env(
        fake_slack,
        database_url,
        port,
        WEB_CONCURRENCY="1",
        WEB_THREADS="4",
        HTTP_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
    )
    process = _start(["-m", "bot", "web"], env, tmp_path)
    try:
        sender = _wait_ready(process, port)
        tricklers = Tricklers(port, SLOW_CLIENTS)
        try:
            _a_vent_is_answered_in_time(sender, fake_slack)
            assert tricklers.wait_until_all_closed(timeout=30) == 0
        finally:
            tricklers.stop()
        assert tricklers.closed_by_server() == SLOW_CLIENTS
        assert sender.get("/healthz").status == 200
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "did not arrive within" in output
