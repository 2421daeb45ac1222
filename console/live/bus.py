"""This process's end of the live broadcast: the live channel publishes public events on it, and
the live stream receives every process's events from it.

Messages carry ids only (`{"id", "incident", "type"}`): a receiver reads the event itself
from the database, so a message that is lost, duplicated or forged can at worst cause an
extra read, never a wrong page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from console.live.broadcast import Broadcast, MessagesLost, Subscriber, describe
from console.settings import Settings

log = logging.getLogger("console.live.bus")

DEFAULT_CHANNEL = "console_live"


@dataclass(frozen=True)
class LiveMessage:
    event_id: int
    incident_slug: str
    event_type: str

    def encode(self) -> str:
        return json.dumps({"id": self.event_id, "incident": self.incident_slug, "type": self.event_type})

    @classmethod
    def decode(cls, text: str) -> LiveMessage | None:
        try:
            data = json.loads(text)
            event_id, slug, event_type = data["id"], data["incident"], data["type"]
        except (ValueError, TypeError, KeyError):
            return None
        if type(event_id) is not int or not isinstance(slug, str) or not isinstance(event_type, str):
            return None
        return cls(event_id, slug, event_type)


class Subscription:
    """What the bus received: `LiveMessage`s, and `MessagesLost` where some may be missing."""

    def __init__(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    async def get(self) -> LiveMessage | MessagesLost:
        while True:
            item = await self._subscriber.get()
            if isinstance(item, MessagesLost):
                return item
            message = LiveMessage.decode(item.message)
            if message is not None:
                return message
            # Someone else wrote on our topic: read the database to be sure of nothing missed.
            log.warning("ignoring a malformed live message: %.200r", item.message)
            return MessagesLost(item.topic)


class LiveBus:
    """Public events between this process and every other one, on one broadcast topic."""

    def __init__(self, broadcast: Broadcast, *, topic: str) -> None:
        self.broadcast = broadcast
        self.topic = topic

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveBus:
        return cls(Broadcast(settings.broadcast_url), topic=settings.broadcast_topic)

    @property
    def backend(self) -> str:
        return describe(self.broadcast.url)

    async def publish(self, message: LiveMessage) -> None:
        await self.broadcast.publish(self.topic, message.encode())

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        async with self.broadcast.subscribe(self.topic) as subscriber:
            yield Subscription(subscriber)

    async def close(self) -> None:
        await self.broadcast.disconnect()
