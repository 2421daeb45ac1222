"""Delivery status as the console shows it: one chip per channel for each published event.

A pending delivery that already failed at least once is shown as `retrying` with its
error, so a PIO can tell "not tried yet" from "trying again after an error".
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.domain import run_posts
from console.domain.run_posts import PostLink
from console.models import Delivery, DeliveryState, EventType, OutboxEvent, UpdateVersion, VersionKind


class ChipState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


SETTLED = frozenset({ChipState.SENT, ChipState.FAILED, ChipState.SKIPPED})


@dataclass(frozen=True)
class Chip:
    delivery_id: int
    channel: str
    state: ChipState
    attempts: int
    error: str | None
    note: str | None
    next_attempt_at: datetime | None
    external_url: str | None
    updated_at: datetime
    posts: tuple[PostLink, ...] = ()  # every post of a social run (more than one: a thread)


@dataclass(frozen=True)
class EventDeliveries:
    """The deliveries of one public event: a published version, or an incident opened or resolved."""

    event_id: int
    event_type: EventType
    occurred_at: datetime
    update_id: int | None
    version: int | None
    kind: VersionKind | None
    chips: list[Chip]

    @property
    def settled(self) -> bool:
        return all(chip.state in SETTLED for chip in self.chips)


def chip_state(delivery: Delivery) -> ChipState:
    if delivery.state is DeliveryState.PENDING and delivery.last_error:
        return ChipState.RETRYING
    return ChipState(delivery.state.value)


def _chip(delivery: Delivery, posts: tuple[PostLink, ...] = ()) -> Chip:
    state = chip_state(delivery)
    return Chip(
        delivery_id=delivery.id,
        channel=delivery.channel,
        state=state,
        attempts=delivery.attempts,
        error=delivery.last_error if state in (ChipState.RETRYING, ChipState.FAILED) else None,
        note=delivery.note,
        next_attempt_at=delivery.next_attempt_at if state is ChipState.RETRYING else None,
        external_url=delivery.external_url,
        updated_at=delivery.updated_at,
        posts=posts,
    )


def for_incident(
    session: Session, incident_id: int, *, update_id: int | None = None, channel_order: Sequence[str] = ()
) -> list[EventDeliveries]:
    """Every event of an incident (or of one of its updates) with its chips, oldest first.

    Chips follow `channel_order` (the enabled channels), then any other channel by name:
    whatever delivery rows exist are shown, including channels since disabled.
    """
    query = (
        select(OutboxEvent, UpdateVersion)
        .outerjoin(UpdateVersion, OutboxEvent.version_id == UpdateVersion.id)
        .where(OutboxEvent.incident_id == incident_id)
        .order_by(OutboxEvent.id)
    )
    if update_id is not None:
        query = query.where(UpdateVersion.update_id == update_id)
    events = list(session.execute(query).all())
    by_event: dict[int, list[Delivery]] = defaultdict(list)
    if events:
        for delivery in session.scalars(
            select(Delivery).where(Delivery.event_id.in_([event.id for event, _ in events]))
        ):
            by_event[delivery.event_id].append(delivery)
    posts = run_posts.by_delivery(session, (d.id for ds in by_event.values() for d in ds))
    rank = {name: position for position, name in enumerate(channel_order)}

    def order(delivery: Delivery) -> tuple[int, str]:
        return rank.get(delivery.channel, len(rank)), delivery.channel

    return [
        EventDeliveries(
            event_id=event.id,
            event_type=event.type,
            occurred_at=event.occurred_at,
            update_id=version.update_id if version else None,
            version=version.version if version else None,
            kind=version.kind if version else None,
            chips=[
                _chip(delivery, posts.get(delivery.id, ()))
                for delivery in sorted(by_event[event.id], key=order)
            ],
        )
        for event, version in events
    ]


def latest_event_id(session: Session, incident_id: int, *, update_id: int | None = None) -> int:
    """The newest event of an incident (or update): a page that knows an older one is out of date."""
    query = select(func.max(OutboxEvent.id)).where(OutboxEvent.incident_id == incident_id)
    if update_id is not None:
        query = query.join(UpdateVersion, OutboxEvent.version_id == UpdateVersion.id).where(
            UpdateVersion.update_id == update_id
        )
    return session.scalar(query) or 0


def counts_by_incident(session: Session, states: Sequence[DeliveryState]) -> dict[int, int]:
    """How many deliveries in `states` each incident has (only incidents with some)."""
    rows = session.execute(
        select(OutboxEvent.incident_id, func.count(Delivery.id))
        .join(Delivery, Delivery.event_id == OutboxEvent.id)
        .where(Delivery.state.in_(states))
        .group_by(OutboxEvent.incident_id)
    )
    return {incident_id: count for incident_id, count in rows if incident_id is not None}
