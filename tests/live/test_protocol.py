"""Incoming websocket messages are validated strictly: anything unexpected is closed with a
clear code and reason, and never disturbs anyone else."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import connect

from console.db import Database
from console.domain import stream
from console.settings import Settings
from tests.live.rawsocket import RawClient, frame
from tests.live.support import new_incident, receive, subscribe
from tests.support.live_server import LiveServer, serve


def head(db: Database) -> int:
    with db.read() as session:
        return stream.head(session)


def closed_with(client: RawClient) -> tuple[int, str]:
    close = client.receive_close()
    return close.close_code, close.payload[2:].decode()


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        (frame(0x2, b'{"last_event_id": 1}'), 1003, "binary messages are not accepted"),
        (frame(0x1, b"hello"), 1008, 'not JSON; expected {"last_event_id": <integer>}'),
        (frame(0x1, b"[1]"), 1008, 'expected {"last_event_id": <integer>}'),
        (frame(0x1, b'{"last_event_id": 1, "x": 2}'), 1008, 'expected {"last_event_id": <integer>}'),
        (frame(0x1, b'{"last_event_id": -1}'), 1008, "last_event_id must be an integer, 0 or more"),
        (frame(0x1, b'{"last_event_id": true}'), 1008, "last_event_id must be an integer, 0 or more"),
        (frame(0x1, b'{"last_event_id": 1.5}'), 1008, "last_event_id must be an integer, 0 or more"),
        (frame(0x1, b'{"last_event_id": "7"}'), 1008, "last_event_id must be an integer, 0 or more"),
        (frame(0x1, b'{"last_event_id": 99999999999999999999999}'), 1008, "last_event_id must be an integer"),
        (frame(0x1, b"x" * 2000), 1009, ""),  # over LIVE_MAX_MESSAGE_BYTES, refused by the protocol layer
        (frame(0x1, b"", length=2**40), 1009, ""),  # a terabyte announced: refused before reading it
        (frame(0x1, b"\xff\xfe"), 1007, ""),  # not UTF-8
    ],
    # Named, not shown: each frame carries a random mask, and pytest-xdist's workers must
    # collect the same test ids.
    ids=[
        "binary",
        "not JSON",
        "a list",
        "another field",
        "negative",
        "true",
        "a fraction",
        "a string",
        "past any integer column",
        "over the size limit",
        "a terabyte announced",
        "not UTF-8",
    ],
)
def test_a_bad_first_message_is_closed_with_a_clear_code(
    live: LiveServer, pio_token: str, message: bytes, code: int, reason: str
) -> None:
    client = RawClient(live.ws_url + "/live")
    try:
        assert client.status == 101
        client.send(message)
        got_code, got_reason = closed_with(client)
        assert got_code == code
        assert got_reason.startswith(reason)
    finally:
        client.close()
    still_working(live, pio_token)


def still_working(live: LiveServer, token: str) -> None:
    slug = new_incident(live.url, token, f"Still working {time.monotonic_ns()}")
    with subscribe(live.ws_url, 0, incident=slug) as ws:
        [created] = receive(ws, 1)
        assert "Still working" in created.html


def test_only_the_first_message_is_accepted(live: LiveServer, db: Database) -> None:
    with connect(live.ws_url + "/live", compression=None) as ws:
        ws.send(json.dumps({"last_event_id": head(db)}))
        ws.send(json.dumps({"last_event_id": 0}))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        1008,
        "no messages are expected after the first",
    )


@pytest.fixture
def impatient(live_settings: Settings) -> Iterator[LiveServer]:
    with serve(replace(live_settings, live_hello_seconds=0.6)) as server:
        yield server


def test_a_client_that_never_says_hello_is_closed(impatient: LiveServer) -> None:
    with connect(impatient.ws_url + "/live", compression=None) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        1008,
        'send {"last_event_id": <integer>} first',
    )
    assert 0.5 < time.monotonic() - started < 1.2  # LIVE_HELLO_SECONDS is 0.6 here


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?incident=no-such-incident", 404),
        ("?incident=Not%20A%20Slug", 400),
        ("?topic=x", 400),
        ("?incident=", 400),
    ],
)
def test_a_bad_stream_is_refused_before_the_handshake(live: LiveServer, query: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as refused, connect(live.ws_url + "/live" + query, compression=None):
        pass
    assert refused.value.response.status_code == status


def test_permessage_deflate_is_off(live: LiveServer, db: Database) -> None:
    with connect(live.ws_url + "/live", compression="deflate") as ws:
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None


@pytest.fixture
def pinging(live_settings: Settings) -> Iterator[LiveServer]:
    with serve(replace(live_settings, live_ping_seconds=0.5)) as server:
        yield server


def test_keepalive_pings_and_a_silent_peer_is_disconnected(pinging: LiveServer, db: Database) -> None:
    client = RawClient(pinging.ws_url + "/live")
    try:
        client.hello(head(db))
        started = time.monotonic()
        # Both a websocket ping (for the server) and a keepalive frame (for live.js, which sees
        # no pings) come every LIVE_PING_SECONDS, in either order.
        first, second = client.receive(), client.receive()
        assert sorted((first.opcode, second.opcode)) == [0x1, 0x9], "a keepalive frame and a ping"
        keepalive = first if first.opcode == 0x1 else second
        assert keepalive.payload == b"<!-- keepalive -->"
        assert time.monotonic() - started < 2
        # We never answer: the server gives up after LIVE_PING_SECONDS more.
        close = client.receive_close()
        assert close.close_code == 1011
        assert time.monotonic() - started < 4
    finally:
        client.close()
