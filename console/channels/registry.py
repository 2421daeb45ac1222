"""The enabled channels, from settings. The only module that names every adapter."""

from __future__ import annotations

from collections.abc import Mapping

from console.channels.approvers import ApproversChannel
from console.channels.archive import ArchiveChannel
from console.channels.base import Channel, ChannelFromSettings
from console.channels.feeds import FeedsChannel
from console.channels.live import LiveChannel
from console.channels.mastodon import MastodonChannel
from console.channels.subscribers import SubscribersChannel
from console.channels.websub import WebSubChannel
from console.channels.x import XChannel
from console.db import Database
from console.domain.outbox import Routing
from console.live.bus import LiveBus
from console.settings import Settings, SettingsError

# Every channel but `live` is built from the settings and the database alone; `live` publishes
# on this process's live bus, which only the process that runs the dispatcher has.
FROM_SETTINGS: Mapping[str, type[ChannelFromSettings]] = {
    ArchiveChannel.name: ArchiveChannel,
    FeedsChannel.name: FeedsChannel,
    XChannel.name: XChannel,
    MastodonChannel.name: MastodonChannel,
    WebSubChannel.name: WebSubChannel,
    SubscribersChannel.name: SubscribersChannel,
    ApproversChannel.name: ApproversChannel,
}
CHANNEL_TYPES: Mapping[str, type[Channel]] = {LiveChannel.name: LiveChannel, **FROM_SETTINGS}


def _enabled(settings: Settings) -> list[str]:
    unknown = [name for name in settings.channels if name not in CHANNEL_TYPES]
    if unknown:
        raise SettingsError(f"CHANNELS names unknown channels {unknown}; known: {sorted(CHANNEL_TYPES)}")
    names = list(settings.channels)
    if settings.websub_hub and WebSubChannel.name not in names:  # setting the hub is enough
        names.append(WebSubChannel.name)
    # Two-person approval tells the approvers by email ("the approvers are notified"), whatever
    # CHANNELS says: the setting is enough.
    if settings.approval_required and ApproversChannel.name not in names:
        names.append(ApproversChannel.name)
    return names


def routing(settings: Settings) -> Routing:
    """Which channel gets which event: what publishing needs, without building any adapter."""
    return Routing({name: CHANNEL_TYPES[name].accepts for name in _enabled(settings)})


def build_channels(settings: Settings, db: Database, bus: LiveBus) -> dict[str, Channel]:
    return {
        name: LiveChannel(bus)
        if name == LiveChannel.name
        else FROM_SETTINGS[name].from_settings(settings, db)
        for name in _enabled(settings)
    }
