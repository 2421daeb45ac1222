"""A websocket client on a bare socket, for what a polite client library will not do: never
read, never answer pings, send malformed frames."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Received:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int:
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code

    @property
    def text(self) -> str:
        return self.payload.decode()


def frame(opcode: int, payload: bytes, *, length: int | None = None) -> bytes:
    """A masked client frame; `length` may lie about the payload size."""
    size = len(payload) if length is None else length
    mask = os.urandom(4)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawClient:
    def __init__(self, ws_url: str, *, receive_buffer: int | None = None) -> None:
        parts = urlsplit(ws_url)
        self.sock = socket.socket()
        if receive_buffer is not None:  # before connecting, so the window starts small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "closed during the handshake"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def hello(self, last_event_id: int) -> None:
        self.send(frame(0x1, json.dumps({"last_event_id": last_event_id}).encode()))

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self) -> Received:
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return Received(first & 0x0F, self._read(length))

    def receive_close(self) -> Received:
        """Read until the server's close frame (skipping data frames and pings)."""
        while True:
            received = self.receive()
            if received.opcode == 0x8:
                return received

    def close(self) -> None:
        self.sock.close()
