"""The `x` channel: each published version as a post in the incident's X thread (tweepy).

Without the four X credentials it runs in preview: the post is composed and stored on the
delivery (`skipped`, note `preview: no credentials set`), never sent.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from console.channels.base import Outcome
from console.db import Database
from console.domain.outbox import Claim
from console.domain.post_runs import TextRules
from console.models import EventType
from console.settings import Settings
from console.social.delivery import SocialDelivery
from console.social.network import Network
from console.social.x_api import X_RULES, XNetwork


class XChannel:
    name: ClassVar[str] = "x"
    accepts: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.VERSION_PUBLISHED, EventType.RUMOR_PUBLISHED}
    )
    ordered: ClassVar[bool] = True  # threads need each parent post settled first
    timeout_seconds: ClassVar[float] = 120.0  # above three requests at SOCIAL_REQUEST_TIMEOUT_SECONDS

    def __init__(self, db: Database, network: Network | None, public_url: str) -> None:
        self.steps = SocialDelivery(db, self.name, network, public_url, X_RULES)

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> XChannel:
        return cls(db, XNetwork(settings) if settings.x_configured else None, settings.public_url)

    @property
    def preview(self) -> bool:
        return self.steps.preview

    def rules_for_preview(self) -> TextRules:
        return self.steps.rules_for_preview()

    async def deliver(self, claim: Claim) -> Outcome:
        return await asyncio.to_thread(self.steps.deliver, claim)
