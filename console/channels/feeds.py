"""The `feeds` channel: after each public event, renders the Atom/RSS feeds and CAP messages
it changed and writes them into FEEDS_DIR (see `console.feeds`).

Ordered, so that only one delivery writes at a time across every process: files are always
rendered from a state at least as new as the one already on disk. Each delivery renders
from the database as it is now, so a repeat, or a delivery resumed after a crash, is
harmless and brings the files up to date.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from console.channels.base import Outcome, RetryLater, Sent
from console.db import Database
from console.domain.events import ChannelEvent
from console.domain.outbox import Claim
from console.feeds.writer import FeedFiles, WriteReport
from console.models import EventType
from console.settings import Settings


class FeedsChannel:
    name: ClassVar[str] = "feeds"
    accepts: ClassVar[frozenset[EventType]] = frozenset(EventType)
    ordered: ClassVar[bool] = True
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self, db: Database, files: FeedFiles) -> None:
        self.db = db
        self.files = files

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> FeedsChannel:
        return cls(db, FeedFiles(settings))

    def _write(self, event: ChannelEvent) -> WriteReport:
        with self.db.read() as session:
            return self.files.write_for_event(session, event)

    async def deliver(self, claim: Claim) -> Outcome:
        try:
            report = await asyncio.to_thread(self._write, claim.event)
        except OSError as exc:  # disk full, permissions: every previous file is still intact
            raise RetryLater(f"could not write the feed files: {exc.strerror or exc}") from exc
        return Sent(detail=report.describe())
