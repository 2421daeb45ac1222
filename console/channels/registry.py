"""The enabled channels, from settings. The only module that names every adapter."""

from __future__ import annotations

from collections.abc import Mapping

from console.channels.archive import ArchiveChannel
from console.channels.base import Channel
from console.channels.feeds import FeedsChannel
from console.channels.live import LiveChannel
from console.channels.mastodon import MastodonChannel
from console.channels.websub import WebSubChannel
from console.channels.x import XChannel
from console.db import Database
from console.domain.outbox import Routing
from console.live.hub import Hub
from console.settings import Settings, SettingsError

CHANNEL_TYPES: Mapping[str, type[Channel]] = {
    LiveChannel.name: LiveChannel,
    ArchiveChannel.name: ArchiveChannel,
    FeedsChannel.name: FeedsChannel,
    XChannel.name: XChannel,
    MastodonChannel.name: MastodonChannel,
    WebSubChannel.name: WebSubChannel,
}


def _enabled(settings: Settings) -> list[type[Channel]]:
    unknown = [name for name in settings.channels if name not in CHANNEL_TYPES]
    if unknown:
        raise SettingsError(f"CHANNELS names unknown channels {unknown}; known: {sorted(CHANNEL_TYPES)}")
    names = list(settings.channels)
    if settings.websub_hub and WebSubChannel.name not in names:  # setting the hub is enough
        names.append(WebSubChannel.name)
    return [CHANNEL_TYPES[name] for name in names]


def routing(settings: Settings) -> Routing:
    """Which channel gets which event: what publishing needs, without building any adapter."""
    return Routing({channel.name: channel.accepts for channel in _enabled(settings)})


def build_channels(settings: Settings, db: Database, hub: Hub) -> dict[str, Channel]:
    return {channel.name: channel.from_settings(settings, db, hub) for channel in _enabled(settings)}
