"""In-process fan-out of live events to subscribers (websocket connections).

Subscribers get bounded queues: a subscriber that cannot keep up is dropped rather than
allowed to delay the others or hold memory; it reconnects and resumes from the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class LiveMessage:
    event_id: int
    incident_slug: str
    event_type: str


class Subscription:
    def __init__(self, max_queued: int) -> None:
        self.queue: asyncio.Queue[LiveMessage] = asyncio.Queue(max_queued)
        self.overflowed = asyncio.Event()

    def offer(self, message: LiveMessage) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()

    async def get(self) -> LiveMessage:
        return await self.queue.get()


class Hub:
    def __init__(self, max_queued: int = 256) -> None:
        self._subscriptions: set[Subscription] = set()
        self._max_queued = max_queued

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription(self._max_queued)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def publish(self, message: LiveMessage) -> None:
        for subscription in list(self._subscriptions):
            subscription.offer(message)
