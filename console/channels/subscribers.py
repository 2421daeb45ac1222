"""The `subscribers` channel (issue 16): alerts pushed to email subscribers and partners'
webhooks. Delivering an event only creates its fan-out jobs, one per alert channel, so
publishing stays O(1) whatever the number of subscribers; the fan-out runner, started with
the dispatcher, walks the subscribers in batches (`console.alerts.runner`). Email runs in
preview (messages written under MAIL_PREVIEW_DIR) until SMTP_URL is set."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from console.alert_models import AlertChannel
from console.alerts.email import mailer_from_settings
from console.alerts.runner import FanoutRunner
from console.channels.base import Outcome, Sent
from console.db import Database
from console.domain import fanout
from console.domain.outbox import Claim
from console.models import EventType, utcnow
from console.settings import Settings
from console.templating import make_templates

ALERT_CHANNELS = (AlertChannel.EMAIL, AlertChannel.WEBHOOK)


class SubscribersChannel:
    name: ClassVar[str] = "subscribers"
    accepts: ClassVar[frozenset[EventType]] = frozenset({EventType.VERSION_PUBLISHED})
    ordered: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self, db: Database, runner: FanoutRunner) -> None:
        self.db = db
        self.runner = runner

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> SubscribersChannel:
        mailer = mailer_from_settings(settings)
        return cls(db, FanoutRunner(db, settings, make_templates(settings).env, mailer))

    @property
    def preview(self) -> bool:
        return self.runner.mailer.preview

    def _start(self, claim: Claim) -> str:
        with self.db.write() as session:
            jobs = fanout.start_jobs(session, claim.event.event_id, ALERT_CHANNELS, now=utcnow())
            return ", ".join(f"{job.channel.value}: {job.total} subscribers" for job in jobs)

    async def deliver(self, claim: Claim) -> Outcome:
        detail = await asyncio.to_thread(self._start, claim)
        self.runner.wake()
        note = "email in preview: SMTP_URL not set" if self.preview else None
        return Sent(detail=f"fan-out jobs created ({detail})", note=note)

    async def run_background(self) -> None:
        await self.runner.run()

    async def drain_background(self) -> bool:
        return await self.runner.drain()
