"""What the `x` and `mastodon` channels share: each published version, and each rumor response,
as a post in a thread on one social network, through `SocialDelivery`. Without the network's
credentials a channel runs in preview: the post is composed and stored, never sent."""

from __future__ import annotations

import asyncio
from typing import ClassVar, Self

from console.channels.base import Outcome
from console.db import Database
from console.domain.outbox import Claim
from console.domain.post_runs import TextRules
from console.models import EventType
from console.settings import Settings
from console.social.delivery import SocialDelivery
from console.social.network import Network


class SocialChannel:
    name: ClassVar[str]
    preview_rules: ClassVar[TextRules]  # how the network counts a post when it cannot be asked
    accepts: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.VERSION_PUBLISHED, EventType.RUMOR_PUBLISHED}
    )
    ordered: ClassVar[bool] = True  # threads need each parent post settled first
    timeout_seconds: ClassVar[float] = 120.0  # above three requests at SOCIAL_REQUEST_TIMEOUT_SECONDS

    def __init__(self, db: Database, network: Network | None, public_url: str) -> None:
        self.steps = SocialDelivery(db, self.name, network, public_url, self.preview_rules)

    @classmethod
    def network_from_settings(cls, settings: Settings) -> Network | None:
        """The network client, or None (preview) when its credentials are not all set."""
        raise NotImplementedError

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> Self:
        return cls(db, cls.network_from_settings(settings), settings.public_url)

    @property
    def preview(self) -> bool:
        return self.steps.preview

    def rules_for_preview(self) -> TextRules:
        return self.steps.rules_for_preview()

    async def deliver(self, claim: Claim) -> Outcome:
        return await asyncio.to_thread(self.steps.deliver, claim)
