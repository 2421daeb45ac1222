"""The `subscribers` channel (issue 16): alerts pushed to the people and partners who
subscribed, through each alert channel of `console.alerts.registry`. Delivering an event
only creates its fan-out jobs, one per alert channel, so publishing stays O(1) whatever the
number of subscribers; the fan-out runner, started with the dispatcher, walks the
subscribers in batches (`console.alerts.runner`). A sender in preview (email until
SMTP_URL is set, …) says so in the delivery's note."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from console.alerts.registry import SENDERS
from console.alerts.runner import FanoutRunner
from console.alerts.sender import AlertSender
from console.channels.base import Outcome, Sent
from console.db import Database
from console.domain import fanout
from console.domain.outbox import Claim
from console.models import EventType, utcnow
from console.settings import Settings
from console.templating import make_templates


class SubscribersChannel:
    name: ClassVar[str] = "subscribers"
    accepts: ClassVar[frozenset[EventType]] = frozenset({EventType.VERSION_PUBLISHED})
    ordered: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self, db: Database, settings: Settings, senders: list[AlertSender]) -> None:
        self.db = db
        self.senders = senders
        self.runner = FanoutRunner(db, settings, senders)

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> SubscribersChannel:
        env = make_templates(settings).env
        return cls(db, settings, [sender.from_settings(settings, env) for sender in SENDERS])

    @property
    def preview_note(self) -> str | None:
        return "; ".join(s.preview_note for s in self.senders if s.preview_note) or None

    def _start(self, claim: Claim) -> str:
        with self.db.write() as session:
            channels = [sender.channel for sender in self.senders]
            jobs = fanout.start_jobs(session, claim.event.event_id, channels, now=utcnow())
            return ", ".join(f"{job.channel.value}: {job.total} subscribers" for job in jobs)

    async def deliver(self, claim: Claim) -> Outcome:
        detail = await asyncio.to_thread(self._start, claim)
        self.runner.wake()
        return Sent(detail=f"fan-out jobs created ({detail})", note=self.preview_note)

    async def run_background(self) -> None:
        await self.runner.run()

    async def drain_background(self) -> bool:
        return await self.runner.drain()

    def stop_background(self) -> None:
        self.runner.stop()
