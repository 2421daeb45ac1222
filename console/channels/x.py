"""The `x` channel: each published version as a post in the incident's X thread (tweepy).

Without the four X credentials it runs in preview: the post is composed and stored on the
delivery (`skipped`, note `preview: no credentials set`), never sent.
"""

from __future__ import annotations

from typing import ClassVar

from console.channels.social import SocialChannel
from console.domain.post_runs import TextRules
from console.settings import Settings
from console.social.network import Network
from console.social.x_api import X_RULES, XNetwork


class XChannel(SocialChannel):
    name: ClassVar[str] = "x"
    preview_rules: ClassVar[TextRules] = X_RULES

    @classmethod
    def network_from_settings(cls, settings: Settings) -> Network | None:
        return XNetwork(settings) if settings.x_configured else None
