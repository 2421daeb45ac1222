"""A slow or dead client never delays the others: it is dropped, and it resumes."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from console.db import Database
from console.domain import stream
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from tests.conftest import PIO
from tests.live.rawsocket import RawClient
from tests.live.support import CURSOR, live_status, new_incident, receive, subscribe
from tests.support.live_server import serve

pytestmark = pytest.mark.slow  # a server of its own pushing ~6 MB past a stalled socket

LONG_BODY = "Road closures and detours in effect. " * 130  # ~4.8 KB a frame
# The kernel buffers up to 4 MB for a socket that is not read before the server's own
# buffer fills: push well past that.
UPDATES = 1200


def head(db: Database) -> int:
    with db.read() as session:
        return stream.head(session)


def publish_many(db: Database, routing: Routing, slug: str, count: int) -> list[int]:
    """Published straight to the database in a few transactions; the server finds them by polling."""
    event_ids: list[int] = []
    for first in range(0, count, 200):
        with db.write() as session:
            for n in range(first, min(count, first + 200)):
                published = publish_update(
                    session, PIO, slug, Draft(body=f"{n}: {LONG_BODY}"), routing=routing
                )
                event_ids.append(published.event.event_id)
    return event_ids


def test_a_client_that_cannot_keep_up_is_dropped_and_resumes(
    live_settings: Settings, db: Database, routing: Routing, pio_token: str, reviewer_token: str
) -> None:
    settings = replace(
        live_settings,
        live_send_buffer=4,
        live_ping_seconds=120,
        live_resume_max_events=2000,
        channels=("live",),
    )
    with serve(settings) as server:
        slug = new_incident(server.url, pio_token)
        start = head(db)
        stalled = RawClient(f"{server.ws_url}/live?incident={slug}", receive_buffer=4096)
        stalled.hello(start)
        with subscribe(server.ws_url, start, incident=slug) as fast:
            fast_frames: list[int] = []

            def read_fast() -> None:
                for _ in range(UPDATES):
                    fast_frames.append(receive(fast, 1, timeout=60)[0].event_id)

            reader = threading.Thread(target=read_fast)
            reader.start()
            published = publish_many(db, routing, slug, UPDATES)
            committed = time.monotonic()
            reader.join(90)
            assert not reader.is_alive()
            # The reading client got everything, in order, without waiting on the stalled one.
            assert fast_frames == published
            assert time.monotonic() - committed < 30
            status = live_status(server.url, reviewer_token)
            assert status["dropped_slow"] == 1
            assert status["subscribers"] == 1, "only the reading client is still subscribed"

        # The stalled client wakes up: it reads what reached it, then the close asking it to
        # come back (1013), and resumes from the last frame it saw: nothing lost or repeated.
        seen: list[int] = []
        stalled.sock.settimeout(30)
        while True:
            received = stalled.receive()
            if received.opcode == 0x8:
                assert received.close_code == 1013
                break
            if received.opcode == 0x1:
                match = CURSOR.match(received.text)
                assert match
                seen.append(int(match.group(1)))
        stalled.close()
        assert 0 < len(seen) < len(published)
        assert seen == published[: len(seen)]
        with subscribe(server.ws_url, seen[-1], incident=slug) as again:
            rest = [frame.event_id for frame in receive(again, len(published) - len(seen), timeout=60)]
        assert seen + rest == published
