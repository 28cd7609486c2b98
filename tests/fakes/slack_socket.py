"""A stand-in for Slack's Socket Mode endpoint on 127.0.0.1: a small WebSocket server
(RFC 6455, text frames, ping/pong, close) that hands the app envelopes the way Slack
does and records the acknowledgements the app sends back."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._clients: list[socket.socket] = []
        self._received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake-ticket"

    # -- test controls ----------------------------------------------------

    def wait_for_client(self, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: bool(self._clients), timeout)

    def send(self, message: dict[str, Any]) -> None:
        """Send a JSON message (an envelope) to the newest connection."""
        with self._changed:
            client = self._clients[-1]
        client.sendall(_frame(TEXT, json.dumps(message).encode()))

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any] | None:
        def ack() -> dict[str, Any] | None:
            found = [m for m in self._received if m.get("envelope_id") == envelope_id]
            return found[0] if found else None

        with self._changed:
            self._changed.wait_for(lambda: ack() is not None, timeout)
            return ack()

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()
        with self._changed:
            for client in self._clients:
                client.close()

    # -- serving ----------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            key = _read_handshake(client)
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
            client.sendall(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode()
            )
            with self._changed:
                self._clients.append(client)
                self._changed.notify_all()
            while True:
                opcode, payload = _read_frame(client)
                if opcode == PING:
                    client.sendall(_frame(PONG, payload))
                elif opcode == TEXT:
                    with self._changed:
                        self._received.append(json.loads(payload))
                        self._changed.notify_all()
                elif opcode == CLOSE:
                    return
        except (OSError, ValueError):
            return
        finally:
            with self._changed:
                if client in self._clients:
                    self._clients.remove(client)
            client.close()


def _read_handshake(client: socket.socket) -> bytes:
    data = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        chunk = client.recv(4096)
        if not chunk:
            raise ValueError("closed during the handshake")
        data += chunk
    for line in data.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            return value.strip()
    raise ValueError("no Sec-WebSocket-Key")


def _recv_exactly(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
    return data


def _read_frame(client: socket.socket) -> tuple[int, bytes]:
    first, second = _recv_exactly(client, 2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _recv_exactly(client, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _recv_exactly(client, 8))
    mask = _recv_exactly(client, 4) if second & 0x80 else b"\0\0\0\0"
    payload = _recv_exactly(client, length)
    return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: final, unmasked."""
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([127]) + struct.pack("!Q", len(payload))
    return head + payload
