"""Publish/subscribe between server processes, with a backend chosen by URL scheme.

The shape follows encode/broadcaster: a small backend interface (`connect`, `disconnect`,
`subscribe`, `unsubscribe`, `publish`, `next_published`) and a `Broadcast` that runs one
listener task and hands each message to the subscribers of its topic.

Pub/sub is at most once: a message published while a process is disconnected is gone. So
a subscriber is also told when messages may have been lost (`MessagesLost`, after every
reconnection or when it fell behind), and the live stream then reads what it missed from
the database. Nothing depends on a message arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

log = logging.getLogger("console.live.broadcast")

SUBSCRIBER_QUEUE = 1000
RECONNECT_FIRST_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class Event:
    topic: str
    message: str


@dataclass(frozen=True)
class MessagesLost:
    """Messages on `topic` may have been lost just before this point."""

    topic: str


class BroadcastUnavailable(ConnectionError):
    """The backend cannot be reached; the caller may try again later."""


class BroadcastBackend(Protocol):
    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def subscribe(self, topic: str) -> None: ...

    async def unsubscribe(self, topic: str) -> None: ...

    async def publish(self, topic: str, message: str) -> None: ...

    async def next_published(self) -> Event:
        """The next message on any subscribed topic; raises BroadcastUnavailable when the
        connection is lost."""
        ...


class MemoryBackend:
    """One process only: the default, and what tests use."""

    def __init__(self) -> None:
        self._published: asyncio.Queue[Event] = asyncio.Queue()
        self._topics: set[str] = set()

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)

    async def publish(self, topic: str, message: str) -> None:
        if topic in self._topics:
            self._published.put_nowait(Event(topic, message))

    async def next_published(self) -> Event:
        return await self._published.get()


def backend_for(url: str) -> BroadcastBackend:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBackend()
    if scheme in ("redis", "rediss"):
        from console.live.redis_backend import RedisBackend

        return RedisBackend(url)
    if scheme in ("postgres", "postgresql"):
        from console.live.postgres_backend import PostgresBackend

        return PostgresBackend(url)
    raise ValueError(f"no broadcast backend for {url!r}")


def describe(url: str) -> str:
    """The URL without credentials, for logs and status pages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Subscriber:
    def __init__(self, topic: str, queue: asyncio.Queue[Event | MessagesLost]) -> None:
        self.topic = topic
        self._queue = queue

    async def get(self) -> Event | MessagesLost:
        return await self._queue.get()


class Broadcast:
    def __init__(self, url: str = "memory://", *, backend: BroadcastBackend | None = None) -> None:
        self.url = url
        self._backend = backend or backend_for(url)
        self._subscribers: dict[str, set[asyncio.Queue[Event | MessagesLost]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.connected = False
        self.reconnections = 0

    async def connect(self) -> None:
        async with self._lock:
            if self.connected:
                return
            try:
                await self._backend.connect()
            except BroadcastUnavailable:
                # Start anyway: the listener keeps trying, and the live stream reads the
                # database meanwhile. A crisis is no time to refuse to serve pages.
                log.warning(
                    "broadcast %s is not reachable yet; retrying in the background", describe(self.url)
                )
                self._listener = asyncio.create_task(self._reconnect_then_listen(), name="broadcast-listener")
            else:
                self._listener = asyncio.create_task(self._listen(), name="broadcast-listener")
            self.connected = True

    async def disconnect(self) -> None:
        async with self._lock:
            if not self.connected:
                return
            self.connected = False
            if self._listener is not None:
                self._listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._listener
                self._listener = None
            with contextlib.suppress(Exception):
                await self._backend.disconnect()

    async def __aenter__(self) -> Broadcast:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def publish(self, topic: str, message: str) -> None:
        await self.connect()
        await self._backend.publish(topic, message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscriber]:
        await self.connect()
        queue: asyncio.Queue[Event | MessagesLost] = asyncio.Queue(SUBSCRIBER_QUEUE)
        queues = self._subscribers.setdefault(topic, set())
        first = not queues
        queues.add(queue)
        try:
            if first:
                try:
                    await self._backend.subscribe(topic)
                except BroadcastUnavailable:
                    log.warning("could not subscribe to %s yet; the listener will retry", topic)
            yield Subscriber(topic, queue)
        finally:
            queues.discard(queue)
            if not queues:
                del self._subscribers[topic]
                with contextlib.suppress(Exception):
                    await self._backend.unsubscribe(topic)

    def _deliver(self, item: Event | MessagesLost) -> None:
        for queue in self._subscribers.get(item.topic, ()):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # The subscriber fell behind: replace its backlog with one marker, which
                # makes it catch up from the database instead.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(MessagesLost(item.topic))

    async def _listen(self) -> None:
        while True:
            try:
                event = await self._backend.next_published()
            except BroadcastUnavailable as exc:
                log.warning("broadcast %s connection lost (%s); reconnecting", describe(self.url), exc)
                await self._reconnect()
                continue
            self._deliver(event)

    async def _reconnect_then_listen(self) -> None:
        await self._reconnect()
        await self._listen()

    async def _reconnect(self) -> None:
        """Reconnect and resubscribe, backing off; then tell every subscriber it may have missed
        messages, so they catch up from the database."""
        delay = RECONNECT_FIRST_SECONDS
        while True:
            with contextlib.suppress(Exception):
                await self._backend.disconnect()
            try:
                await self._backend.connect()
                for topic in list(self._subscribers):
                    await self._backend.subscribe(topic)
            except BroadcastUnavailable as exc:
                log.info("broadcast %s still unreachable (%s)", describe(self.url), exc)
                await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                continue
            self.reconnections += 1
            log.info("broadcast %s reconnected", describe(self.url))
            for topic in list(self._subscribers):
                self._deliver(MessagesLost(topic))
            return
