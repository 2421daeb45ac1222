"""The `mastodon` channel: each published version as a status in the incident's thread
(Mastodon.py). Without MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN it runs in preview."""

from __future__ import annotations

from typing import ClassVar

from console.channels.social import SocialChannel
from console.domain.post_runs import TextRules
from console.settings import Settings
from console.social.mastodon_api import PREVIEW_RULES, MastodonNetwork
from console.social.network import Network


class MastodonChannel(SocialChannel):
    name: ClassVar[str] = "mastodon"
    preview_rules: ClassVar[TextRules] = PREVIEW_RULES

    @classmethod
    def network_from_settings(cls, settings: Settings) -> Network | None:
        return MastodonNetwork(settings) if settings.mastodon_configured else None
