"""`BROADCAST_URL=redis://…`: Redis pub/sub, through redis-py's asyncio client.

redis-py's own retries are off: a lost connection must surface here, so that the broadcast
reconnects and tells subscribers that messages may have been missed.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from console.live.broadcast import BroadcastUnavailable, Event

CONNECT_TIMEOUT_SECONDS = 5.0


class RedisBackend:
    def __init__(self, url: str) -> None:
        self.url = url
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._subscribed = asyncio.Event()

    def _client(self) -> Redis:
        if self._redis is None:
            raise BroadcastUnavailable("not connected to Redis")
        return self._redis

    async def connect(self) -> None:
        client = Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_keepalive=True,
        )
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise BroadcastUnavailable(f"Redis: {exc}") from exc
        self._redis = client

    async def disconnect(self) -> None:
        self._subscribed.clear()
        pubsub, self._pubsub = self._pubsub, None
        client, self._redis = self._redis, None
        if pubsub is not None:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
        if client is not None:
            await client.aclose()

    async def subscribe(self, topic: str) -> None:
        if self._pubsub is None:
            self._pubsub = self._client().pubsub(ignore_subscribe_messages=True)
        try:
            await self._pubsub.subscribe(topic)
        except (RedisError, OSError) as exc:
            raise BroadcastUnavailable(f"Redis: {exc}") from exc
        self._subscribed.set()

    async def unsubscribe(self, topic: str) -> None:
        if self._pubsub is not None:
            try:
                await self._pubsub.unsubscribe(topic)
            except (RedisError, OSError) as exc:
                raise BroadcastUnavailable(f"Redis: {exc}") from exc

    async def publish(self, topic: str, message: str) -> None:
        try:
            await self._client().publish(topic, message)
        except (RedisError, OSError) as exc:
            raise BroadcastUnavailable(f"Redis: {exc}") from exc

    async def next_published(self) -> Event:
        await self._subscribed.wait()
        while True:
            pubsub = self._pubsub
            if pubsub is None:
                raise BroadcastUnavailable("not subscribed to Redis")
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except (RedisError, OSError) as exc:
                raise BroadcastUnavailable(f"Redis: {exc}") from exc
            if message is not None and message["type"] == "message":
                return Event(_text(message["channel"]), _text(message["data"]))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
