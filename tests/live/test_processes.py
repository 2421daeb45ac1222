"""Several `console serve` processes sharing the database and a broadcast: an update published
through one reaches the residents connected to any of them, through a Redis restart and a
server killed with -9 (2,000 residents, half of them moving to the other process), with
nothing missed and nothing repeated."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from console.db import Database
from console.domain import stream
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from tests.conftest import PIO
from tests.live.support import (
    KEEPALIVE,
    SHARED_REDIS,
    RedisServer,
    new_incident,
    parse,
    publish,
    receive,
    subscribe,
)
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # several server processes, killed and restarted


def head(db: Database) -> int:
    with db.read() as session:
        return stream.head(session)


def environment(database_url: str, tmp_path: Path, broadcast_url: str, channel: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "BROADCAST_URL": broadcast_url,
        "BROADCAST_TOPIC": channel,
        # So long that only the broadcast (or its reconnection) can bring events across in time.
        "LIVE_POLL_SECONDS": "120",
        "OUTBOX_POLL_SECONDS": "0.2",
        "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
        "OUTBOX_BACKOFF_MAX_SECONDS": "1",
    }


@contextmanager
def servers(count: int, env: dict[str, str]) -> Iterator[list[ServerProcess]]:
    with ExitStack() as stack:
        yield [stack.enter_context(ServerProcess(env)) for _ in range(count)]


def ws(server: ServerProcess) -> str:
    return f"ws://127.0.0.1:{server.port}"


def page(server: ServerProcess, slug: str) -> str:
    with urllib.request.urlopen(f"{server.url}/incidents/{slug}", timeout=10) as response:
        text: str = response.read().decode()
        return text


@pytest.mark.parametrize("backend", ["redis", "postgres"])
def test_an_update_published_through_one_process_reaches_clients_of_both(
    database_url: str,
    db: Database,
    tmp_path: Path,
    channel: str,
    pio_token: str,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    broadcast_url = SHARED_REDIS if backend == "redis" else request.getfixturevalue("postgres_server").url
    with servers(2, environment(database_url, tmp_path, broadcast_url, channel)) as (a, b):
        slug = new_incident(a.url, pio_token)
        start = head(db)
        cached_on_b = page(b, slug)  # B renders and caches the page now
        with (
            subscribe(ws(a), start, incident=slug) as on_a,
            subscribe(ws(b), start, incident=slug) as on_b,
            subscribe(ws(b), start) as all_on_b,
        ):
            published = publish(a.url, pio_token, slug, "Shelter in place on Elm St.")
            for connection in (on_a, on_b, all_on_b):
                [frame] = receive(connection, 1)
                assert frame.event_id == published["event_id"]
                assert "Shelter in place on Elm St." in frame.html
            seen = frame.event_id
        # B's cached page was invalidated by the same broadcast.
        assert "Shelter in place on Elm St." not in cached_on_b
        assert "Shelter in place on Elm St." in page(b, slug)
        # A resident of A whose phone switches networks lands on B and misses nothing.
        missed = [publish(a.url, pio_token, slug, f"Update {n}")["event_id"] for n in range(3)]
        with subscribe(ws(b), seen, incident=slug) as moved:
            assert [f.event_id for f in receive(moved, 3)] == missed


def test_a_redis_restart_in_the_middle_of_a_stream_loses_nothing(
    database_url: str, db: Database, tmp_path: Path, channel: str, pio_token: str, redis_server: RedisServer
) -> None:
    total = 30
    with servers(2, environment(database_url, tmp_path, redis_server.url, channel)) as (a, b):
        slug = new_incident(a.url, pio_token)
        start = head(db)
        published: list[int] = []

        def publish_stream() -> None:
            for n in range(total):
                if n == 10:
                    redis_server.kill()
                if n == 20:
                    redis_server.start()
                published.append(publish(a.url, pio_token, slug, f"Update {n}")["event_id"])
                time.sleep(0.1)

        with subscribe(ws(b), start, incident=slug) as on_b, subscribe(ws(a), start, incident=slug) as on_a:
            publisher = threading.Thread(target=publish_stream)
            publisher.start()
            frames_b = receive(on_b, total, timeout=60)
            frames_a = receive(on_a, total, timeout=60)
            publisher.join(30)
            assert not publisher.is_alive()
        # Every update, once, in order, on both processes.
        assert [f.event_id for f in frames_b] == published
        assert [f.event_id for f in frames_a] == published
        assert all(f"Update {n}<" in frames_b[n].html for n in range(total))


def test_clients_resume_after_their_server_is_killed(
    database_url: str, db: Database, tmp_path: Path, channel: str, pio_token: str
) -> None:
    env = environment(database_url, tmp_path, SHARED_REDIS, channel)
    server = ServerProcess(env).start()
    try:
        slug = new_incident(server.url, pio_token)
        with subscribe(ws(server), head(db), incident=slug) as connection:
            first = publish(server.url, pio_token, slug, "Before the crash")
            [frame] = receive(connection, 1)
            assert frame.event_id == first["event_id"]
            server.kill()  # kill -9: no goodbye to anyone
        with ServerProcess(env) as other:  # the rest of the cluster goes on publishing
            missed = [publish(other.url, pio_token, slug, f"During {n}")["event_id"] for n in range(2)]
        restarted = ServerProcess(env, port=server.port).start()
        try:
            with subscribe(ws(restarted), frame.event_id, incident=slug) as again:
                assert [f.event_id for f in receive(again, 2)] == missed
        finally:
            restarted.stop()
    finally:
        server.stop()


def test_a_separate_worker_delivers_to_the_web_processes_residents(
    database_url: str, db: Database, routing: Routing, tmp_path: Path, channel: str, pio_token: str
) -> None:
    env = environment(database_url, tmp_path, SHARED_REDIS, channel)
    with ServerProcess({**env, "OUTBOX_IN_PROCESS": "false"}) as web:
        slug = new_incident(web.url, pio_token)
        with subscribe(ws(web), head(db), incident=slug) as resident:
            # Published by another part of the system: nothing in `web` hears of it...
            with db.write() as session:
                published = publish_update(
                    session, PIO, slug, Draft(body="Boil water notice."), routing=routing
                )
            # ...until the worker delivers the live channel through Redis.
            worker = ServerProcess(env, command=("worker",)).start()
            try:
                [frame] = receive(resident, 1, timeout=20)
            finally:
                worker.stop()
            assert frame.event_id == published.event.event_id and "Boil water notice." in frame.html


CROWD = 2_000  # residents, half on each process (issue 20)
STREAM = 20  # updates published while one process is killed


async def _follow(
    urls: list[str], slug: str, start: int, total: int, seen: list[int], moves: list[int]
) -> None:
    """One resident: follows the incident from `start` on the first server; when its connection
    drops, moves to the next server and resumes from the last event it saw (`moves`: how many
    events it had seen at each move)."""
    for index, url in enumerate(urls):
        if index:
            moves.append(len(seen))
        try:
            async with ws_connect(f"{url}/live?incident={slug}", compression=None, open_timeout=30) as socket:
                await socket.send(json.dumps({"last_event_id": seen[-1] if seen else start}))
                while len(seen) < total:
                    text = await socket.recv()
                    if text != KEEPALIVE:
                        seen.append(parse(text).event_id)
                return
        except ConnectionClosed:
            continue  # its server is gone: on to the next


def test_a_killed_process_clients_resume_on_the_other_without_gap_or_duplicate(
    database_url: str, db: Database, tmp_path: Path, channel: str, pio_token: str
) -> None:
    env = environment(database_url, tmp_path, SHARED_REDIS, channel)
    with servers(2, env) as (doomed, survivor):
        slug = new_incident(survivor.url, pio_token)
        start = head(db)
        seen: list[list[int]] = [[] for _ in range(CROWD)]
        moves: list[list[int]] = [[] for _ in range(CROWD)]
        routes = [[ws(doomed), ws(survivor)], [ws(survivor)]]  # a resident of the killed one moves

        async def crowd(connected: threading.Event) -> None:
            tasks = []
            for n in range(CROWD):
                tasks.append(
                    asyncio.create_task(_follow(routes[n % 2], slug, start, STREAM, seen[n], moves[n]))
                )
                if n % 100 == 99:
                    await asyncio.sleep(0.05)  # connect in waves, as a crowd arrives
            connected.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=240)

        connected = threading.Event()
        residents = threading.Thread(target=asyncio.run, args=(crowd(connected),))
        residents.start()
        assert connected.wait(60)
        time.sleep(2)  # the last wave's hellos are answered
        published = []
        for n in range(STREAM):
            if n == STREAM // 2:
                doomed.kill()  # kill -9 in the middle of the stream: no goodbye to its residents
            published.append(publish(survivor.url, pio_token, slug, f"Update {n}")["event_id"])
            time.sleep(0.1)
        residents.join(300)
        assert not residents.is_alive(), "some residents never got the whole stream"
    moved = seen[0::2]
    assert all(events == published for events in moved), (
        "the killed process's residents: no gap, no duplicate"
    )
    assert all(events == published for events in seen[1::2]), "the other residents: every update, once"
