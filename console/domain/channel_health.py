"""Channel health: a channel that cannot deliver at all is paused until a person resumes it.

When a network rejects the credentials (401, or a 403 that says the account or app may not
post), retrying cannot help and every retry is one more rejected request against the
account. The dispatcher then marks the channel `failing`: its lane claims nothing, its
deliveries wait as `pending` with the error, and everyone reading the console sees why.
A PIO or admin fixes the cause (new tokens, account restored) and resumes the channel; the
lane picks up where it stopped, in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.actors import SYSTEM, Actor, require_publisher
from console.domain.errors import NotAllowed
from console.models import ChannelHealth, ChannelState, Delivery, DeliveryState, utcnow

MAX_ERROR_CHARS = 2000


def paused(session: Session) -> set[str]:
    """The channels paused until a person resumes them."""
    failing = select(ChannelHealth.channel).where(ChannelHealth.state == ChannelState.FAILING)
    return set(session.scalars(failing))


def is_paused(session: Session, channel: str) -> bool:
    state = session.scalar(select(ChannelHealth.state).where(ChannelHealth.channel == channel))
    return state is ChannelState.FAILING


def mark_failing(session: Session, channel: str, error: str, *, now: datetime | None = None) -> ChannelHealth:
    """Pause `channel` with the error a person needs to fix it."""
    now = now or utcnow()
    health = session.get(ChannelHealth, channel, with_for_update=True)
    if health is None:
        health = ChannelHealth(channel=channel, state=ChannelState.OK)
        session.add(health)
    already = health.state is ChannelState.FAILING
    health.state = ChannelState.FAILING
    health.error = error[:MAX_ERROR_CHARS]
    health.failing_since = health.failing_since if already else now
    health.updated_at = now
    session.flush()
    audit.record(
        session,
        SYSTEM,
        "channel.failing",
        f"channel {channel}",
        now=now,
        data={"channel": channel, "error": health.error},
    )
    return health


def resume(session: Session, actor: Actor, channel: str, *, now: datetime | None = None) -> ChannelHealth:
    """A person fixed the cause: the channel's lane delivers again, starting with what waited."""
    require_publisher(actor)
    now = now or utcnow()
    health = session.get(ChannelHealth, channel, with_for_update=True)
    if health is None or health.state is not ChannelState.FAILING:
        raise NotAllowed(f"channel {channel} is not paused; there is nothing to resume")
    error = health.error
    health.state = ChannelState.OK
    health.resumed_at = now
    health.resumed_by = actor.label[:200]
    health.updated_at = now
    audit.record(
        session,
        actor,
        "channel.resumed",
        f"channel {channel}",
        now=now,
        data={"channel": channel, "error_was": error},
    )
    return health


def channel_view(
    name: str, health: ChannelHealth | None, counts: dict[DeliveryState, int], *, preview: bool
) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "name": name,
        "state": (health.state if health else ChannelState.OK).value,
        "preview": preview,
        "error": health.error if health and health.state is ChannelState.FAILING else None,
        "failing_since": iso(health.failing_since)
        if health and health.state is ChannelState.FAILING
        else None,
        "resumed_at": iso(health.resumed_at) if health else None,
        "resumed_by": health.resumed_by if health else None,
        "pending": counts.get(DeliveryState.PENDING, 0) + counts.get(DeliveryState.SENDING, 0),
        "failed": counts.get(DeliveryState.FAILED, 0),
    }


def channel_report(session: Session, channels: Iterable[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Each enabled channel (name, preview?) with its state, error and open/failed deliveries."""
    pairs = list(channels)
    names = [name for name, _ in pairs]
    healths = {
        h.channel: h for h in session.scalars(select(ChannelHealth).where(ChannelHealth.channel.in_(names)))
    }
    counts: dict[str, dict[DeliveryState, int]] = {name: {} for name in names}
    rows = session.execute(
        select(Delivery.channel, Delivery.state, func.count())
        .where(
            Delivery.channel.in_(names),
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED]),
        )
        .group_by(Delivery.channel, Delivery.state)
    )
    for channel, state, count in rows:
        counts[channel][state] = count
    return [channel_view(name, healths.get(name), counts[name], preview=preview) for name, preview in pairs]
