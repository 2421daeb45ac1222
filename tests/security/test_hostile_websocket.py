"""Hostile websocket clients of the residents' live page: protocol violations, oversized and
binary messages, floods of bad clients at once. Each is closed with a proper code (or, for a
broken frame, its connection dropped), the server stays up, and a resident already watching
gets the next update as if nothing happened. (tests/live/test_protocol.py checks each bad
first message's exact close code and reason.)"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from console.db import Database
from console.domain import stream
from tests.live.rawsocket import RawClient, frame
from tests.live.support import new_incident, publish, receive, subscribe
from tests.support.live_server import LiveServer


def raw_frame(first_byte: int, payload: bytes, *, masked: bool = True) -> bytes:
    """A frame with the first byte as given (FIN, RSV bits, opcode), masked or not."""
    mask = os.urandom(4) if masked else b""
    size = len(payload)
    header = struct.pack("!BB", first_byte, (0x80 if masked else 0) | size) if size < 126 else b""
    if size >= 126:
        header = struct.pack("!BBH", first_byte, (0x80 if masked else 0) | 126, size)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if masked else payload
    return header + mask + body


HELLO = b'{"last_event_id": 0}'
ATTACKS: dict[str, bytes] = {
    "reserved opcode": raw_frame(0x83, b"x"),
    "RSV1 set without an extension": raw_frame(0xC1, HELLO),
    "unmasked client frame": raw_frame(0x81, HELLO, masked=False),
    "ping over 125 bytes": raw_frame(0x89, b"p" * 200),
    "fragmented ping": raw_frame(0x09, b"p"),
    "continuation with nothing to continue": raw_frame(0x80, HELLO),
    "fragments adding up over the limit": raw_frame(0x01, b"[" * 1000) + raw_frame(0x00, b"[" * 1000),
    # A megabyte announced, its first 16 KB sent: refused on the header, without reading more.
    "a megabyte of binary": frame(0x2, os.urandom(1 << 14), length=1 << 20)[: 14 + (1 << 14)],
    "text that is not UTF-8": frame(0x1, b'{"last_event_id": "\xc3\x28"}'),
    "close with a reserved code": raw_frame(0x88, struct.pack("!H", 1005)),
    "close with a reason that is not UTF-8": raw_frame(0x88, struct.pack("!H", 1000) + b"\xff\xfe"),
    "hello then garbage": frame(0x1, HELLO) + frame(0x1, b"\x00" * 500),
    "nested JSON hello": frame(0x1, b"[" * 1000),
}
PROPER_CODES = {1000, 1002, 1003, 1007, 1008, 1009}


def attack(live: LiveServer, name: str) -> tuple[str, int | None]:
    """Send one attack; the close code the server answered with (None: it dropped the TCP
    connection, as it may for a frame it cannot parse)."""
    client = RawClient(live.ws_url + "/live")
    try:
        assert client.status == 101
        # The server may close while the rest is still being sent: read its answer anyway.
        with contextlib.suppress(OSError):
            client.send(ATTACKS[name])
        try:
            return name, client.receive_close().close_code
        except OSError:
            return name, None
    finally:
        client.close()


def test_a_flood_of_hostile_clients_disturbs_no_one(live: LiveServer, db: Database, pio_token: str) -> None:
    slug = new_incident(live.url, pio_token, "Watched incident")
    with subscribe(live.ws_url, 0, incident=slug) as resident:
        [opened] = receive(resident, 1)
        assert "Watched incident" in opened.html
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            outcomes = dict(pool.map(lambda n: attack(live, n), list(ATTACKS) * 3))
        assert time.monotonic() - started < 30, "each hostile client was dealt with promptly"
        improper = {
            name: code for name, code in outcomes.items() if code is not None and code not in PROPER_CODES
        }
        assert improper == {}
        # The protocol layer answers what it can parse with a close frame.
        assert outcomes["a megabyte of binary"] == 1009
        assert outcomes["unmasked client frame"] == 1002
        assert outcomes["reserved opcode"] == 1002
        # The resident watching all along gets the next update at once.
        publish(live.url, pio_token, slug, "Shelter lifted on Elm St.")
        [update] = receive(resident, 1)
        assert "Shelter lifted on Elm St." in update.html
    with db.read() as session:
        assert stream.head(session) == update.event_id  # the attacks wrote nothing


@pytest.mark.parametrize(
    "request_text",
    [
        "GET /live HTTP/1.1\r\nHost: x\r\n\r\n",  # plain HTTP, no upgrade
        "GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",  # old version
        "GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n",  # no key
    ],
)
def test_a_broken_handshake_gets_a_client_error(live: LiveServer, pio_token: str, request_text: str) -> None:
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_text.encode())
        answer = sock.recv(4096).decode(errors="replace")
    status = int(answer.split(" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
    assert new_incident(live.url, pio_token, "Still serving")
