"""The `live` channel: publishes each public event's id to every server process (through the
live bus), where the live stream pushes it to residents' browsers."""

from __future__ import annotations

from typing import ClassVar

from console.channels.base import Outcome, RetryLater, Sent
from console.domain.outbox import Claim
from console.live.broadcast import BroadcastUnavailable
from console.live.bus import LiveBus, LiveMessage
from console.models import EventType


class LiveChannel:
    name: ClassVar[str] = "live"
    accepts: ClassVar[frozenset[EventType]] = frozenset(EventType)
    ordered: ClassVar[bool] = True
    timeout_seconds: ClassVar[float] = 10.0
    urgent: ClassVar[bool] = True  # other processes' residents wait for this broadcast

    def __init__(self, bus: LiveBus) -> None:
        self.bus = bus

    async def deliver(self, claim: Claim) -> Outcome:
        event = claim.event
        try:
            # An agency-wide rumor response belongs to no incident's page.
            await self.bus.publish(LiveMessage(event.event_id, event.incident_slug or "", event.type.value))
        except BroadcastUnavailable as exc:
            # Every server also polls the database, so residents still get the event; this
            # retry keeps the record honest about the broadcast itself.
            raise RetryLater(f"broadcast unavailable: {exc}") from exc
        return Sent(detail=f"published to {self.bus.backend} topic {self.bus.topic}")
