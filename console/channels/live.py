"""The `live` channel: hands each public event to the live hub for websocket push."""

from __future__ import annotations

from typing import ClassVar

from console.channels.base import Outcome, Sent
from console.db import Database
from console.domain.outbox import Claim
from console.live.hub import Hub, LiveMessage
from console.models import EventType
from console.settings import Settings


class LiveChannel:
    name: ClassVar[str] = "live"
    accepts: ClassVar[frozenset[EventType]] = frozenset(EventType)
    ordered: ClassVar[bool] = True
    timeout_seconds: ClassVar[float] = 10.0

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, hub: Hub) -> LiveChannel:
        return cls(hub)

    async def deliver(self, claim: Claim) -> Outcome:
        event = claim.event
        await self.hub.publish(LiveMessage(event.event_id, event.incident_slug, event.type.value))
        return Sent()
