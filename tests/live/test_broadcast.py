"""The broadcast backends: memory, Redis pub/sub and PostgreSQL LISTEN/NOTIFY, each across
two `Broadcast`s (as two server processes would be), and through a restart of the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import psycopg
import pytest

from console.live.broadcast import Broadcast, BroadcastUnavailable, Event, MessagesLost, backend_for
from console.live.bus import LiveBus, LiveMessage
from console.live.postgres_backend import PostgresBackend
from console.live.redis_backend import RedisBackend
from tests.live.support import SHARED_REDIS, PostgresServer, RedisServer

TIMEOUT = 10


async def next_event(subscriber: object) -> Event | MessagesLost:
    get: Callable[[], object] = subscriber.get  # type: ignore[attr-defined]
    return await asyncio.wait_for(get(), TIMEOUT)  # type: ignore[arg-type]


def test_backends_are_chosen_by_url_scheme() -> None:
    assert type(backend_for("memory://")).__name__ == "MemoryBackend"
    assert isinstance(backend_for("redis://127.0.0.1:6379/4"), RedisBackend)
    assert isinstance(backend_for("rediss://example.org:6380/0"), RedisBackend)
    assert isinstance(backend_for("postgres://u@h/db"), PostgresBackend)
    assert isinstance(backend_for("postgresql://u@h/db"), PostgresBackend)
    with pytest.raises(ValueError, match="no broadcast backend"):
        backend_for("amqp://h")


def test_memory_delivers_in_order_to_every_subscriber_of_the_channel() -> None:
    async def run() -> None:
        async with (
            Broadcast("memory://") as broadcast,
            broadcast.subscribe("a") as first,
            broadcast.subscribe("a") as second,
            broadcast.subscribe("b") as other,
        ):
            for n in range(3):
                await broadcast.publish("a", f"m{n}")
            for subscriber in (first, second):
                assert [await next_event(subscriber) for _ in range(3)] == [
                    Event("a", f"m{n}") for n in range(3)
                ]
            assert other._queue.empty()

    asyncio.run(run())


def test_a_subscriber_that_falls_behind_is_told_it_lost_messages() -> None:
    async def run() -> None:
        async with Broadcast("memory://") as broadcast, broadcast.subscribe("a") as subscriber:
            for n in range(1500):  # more than a subscriber queue holds, none read meanwhile
                await broadcast.publish("a", f"m{n}")
            await asyncio.sleep(0.1)
            items = []
            while not subscriber._queue.empty():
                items.append(await subscriber.get())
            assert MessagesLost("a") in items
            assert len(items) < 1500

    asyncio.run(run())


@asynccontextmanager
async def two_processes(url: str, channel: str) -> AsyncIterator[tuple[Broadcast, object]]:
    """A publishing broadcast and a subscribed one, as in two server processes."""
    async with (
        Broadcast(url) as publisher,
        Broadcast(url) as receiver,
        receiver.subscribe(channel) as subscriber,
    ):
        yield publisher, subscriber


def test_redis_carries_messages_between_processes(channel: str) -> None:
    async def run() -> None:
        async with two_processes(SHARED_REDIS, channel) as (publisher, subscriber):
            await asyncio.sleep(0.1)  # the SUBSCRIBE reached Redis
            for n in range(5):
                await publisher.publish(channel, f"m{n}")
            assert [await next_event(subscriber) for _ in range(5)] == [
                Event(channel, f"m{n}") for n in range(5)
            ]

    asyncio.run(run())


@pytest.mark.slow
def test_postgres_carries_messages_between_processes(postgres_server: PostgresServer, channel: str) -> None:
    async def run() -> None:
        async with two_processes(postgres_server.url, channel) as (publisher, subscriber):
            for n in range(5):
                await publisher.publish(channel, f"m{n}")
            assert [await next_event(subscriber) for _ in range(5)] == [
                Event(channel, f"m{n}") for n in range(5)
            ]

    asyncio.run(run())


@pytest.mark.slow
def test_a_publishing_connection_the_server_dropped_is_replaced_and_the_message_still_goes(
    postgres_server: PostgresServer, channel: str
) -> None:
    """The publishing connection fails under a publish (here the server ends it; in the restart
    test below, the listener's reconnection closed it at the wrong moment): the publish goes
    out on a fresh connection instead of failing."""

    async def run() -> None:
        async with two_processes(postgres_server.url, channel) as (publisher, subscriber):
            await publisher.publish(channel, "before")
            assert await next_event(subscriber) == Event(channel, "before")
            connection = publisher._backend._publisher  # type: ignore[attr-defined]
            async with await psycopg.AsyncConnection.connect(postgres_server.url, autocommit=True) as admin:
                await admin.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))
            await publisher.publish(channel, "after")
            assert await next_event(subscriber) == Event(channel, "after")

    asyncio.run(run())


@pytest.mark.slow
def test_redis_restart_reconnects_and_reports_the_gap(redis_server: RedisServer, channel: str) -> None:
    async def run() -> None:
        async with two_processes(redis_server.url, channel) as (publisher, subscriber):
            await asyncio.sleep(0.1)
            await publisher.publish(channel, "before")
            assert await next_event(subscriber) == Event(channel, "before")

            redis_server.kill()
            with pytest.raises(BroadcastUnavailable):
                await publisher.publish(channel, "while down")
            redis_server.start()

            # The subscriber learns that it may have missed messages once it is back...
            assert await next_event(subscriber) == MessagesLost(channel)
            # ...and receives what is published from then on.
            deadline = asyncio.get_running_loop().time() + TIMEOUT
            while True:
                try:
                    await publisher.publish(channel, "after")
                    break
                except BroadcastUnavailable:
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.1)
            assert await next_event(subscriber) == Event(channel, "after")

    asyncio.run(run())


@pytest.mark.slow
def test_postgres_restart_reconnects_and_reports_the_gap(
    postgres_server: PostgresServer, channel: str
) -> None:
    async def run() -> None:
        async with two_processes(postgres_server.url, channel) as (publisher, subscriber):
            await publisher.publish(channel, "before")
            assert await next_event(subscriber) == Event(channel, "before")
            await asyncio.to_thread(postgres_server.stop)
            with pytest.raises(BroadcastUnavailable):
                await publisher.publish(channel, "while down")
            await asyncio.to_thread(postgres_server.start)
            assert await next_event(subscriber) == MessagesLost(channel)
            await publisher.publish(channel, "after")
            assert await next_event(subscriber) == Event(channel, "after")

    asyncio.run(run())


@pytest.mark.slow
def test_a_broadcast_that_cannot_connect_yet_keeps_trying(channel: str) -> None:
    server = RedisServer()  # its port is free: nothing listens there yet

    async def run() -> None:
        async with Broadcast(server.url) as receiver, receiver.subscribe(channel) as subscriber:
            server.start()
            try:
                assert await next_event(subscriber) == MessagesLost(channel)
                async with Broadcast(server.url) as publisher:
                    await publisher.publish(channel, "hello")
                    assert await next_event(subscriber) == Event(channel, "hello")
            finally:
                server.kill()

    asyncio.run(run())


def test_the_hub_carries_event_ids_and_ignores_forgeries(channel: str) -> None:
    async def run() -> None:
        async with Broadcast(SHARED_REDIS) as raw:
            bus = LiveBus(Broadcast(SHARED_REDIS), topic=channel)
            async with bus.subscribe() as subscription:
                await asyncio.sleep(0.1)
                await bus.publish(LiveMessage(42, "gas-leak", "version.published"))
                assert await asyncio.wait_for(subscription.get(), TIMEOUT) == LiveMessage(
                    42, "gas-leak", "version.published"
                )
                # Anything else on the channel only makes the stream re-read the database.
                await raw.publish(channel, '{"id": "drop table"}')
                assert await asyncio.wait_for(subscription.get(), TIMEOUT) == MessagesLost(channel)
            await bus.close()

    asyncio.run(run())
