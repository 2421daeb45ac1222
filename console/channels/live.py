"""The `live` channel: publishes each public event's id to every server process (through the
hub's broadcast), where the live stream pushes it to residents' browsers."""

from __future__ import annotations

from typing import ClassVar

from console.channels.base import Outcome, RetryLater, Sent
from console.db import Database
from console.domain.outbox import Claim
from console.live.broadcast import BroadcastUnavailable
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
        try:
            await self.hub.publish(LiveMessage(event.event_id, event.incident_slug, event.type.value))
        except BroadcastUnavailable as exc:
            # Every server also polls the database, so residents still get the event; this
            # retry keeps the record honest about the broadcast itself.
            raise RetryLater(f"broadcast unavailable: {exc}") from exc
        return Sent(detail=f"published to {self.hub.backend} channel {self.hub.channel}")
