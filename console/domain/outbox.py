"""The transactional outbox: deliveries are written with the event, then claimed and settled.

A claim is a lease: the row goes to `sending` with a random claim token and an expiry.
A worker that dies mid-send leaves the lease to run out, and the next claim hands the
delivery out again marked `interrupted`, so a channel without idempotency can check
whether the first attempt landed before sending again.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from console.domain import audit
from console.domain.actors import SYSTEM, Actor, require_publisher
from console.domain.errors import NotAllowed, NotFound
from console.domain.events import ChannelEvent, RumorPublished, event_from_row
from console.models import (
    STAFF_EVENT_TYPES,
    AuditEvent,
    Delivery,
    DeliveryState,
    EventType,
    Incident,
    OutboxEvent,
    RumorVersion,
    Translation,
    UpdateVersion,
    utcnow,
)

OPEN_STATES = (DeliveryState.PENDING, DeliveryState.SENDING)
MAX_ERROR_CHARS = 2000
RETRY_REQUESTED = "delivery.retry_requested"


@dataclass(frozen=True)
class Routing:
    """Which enabled channel takes which event types: the outbox writes one row for each."""

    routes: Mapping[str, frozenset[EventType]]

    def channels_for(self, event_type: EventType) -> list[str]:
        return [name for name, types in self.routes.items() if event_type in types]


def emit(
    session: Session,
    routing: Routing,
    event_type: EventType,
    incident: Incident,
    *,
    version: UpdateVersion | None = None,
    translation: Translation | None = None,
    now: datetime,
) -> ChannelEvent:
    row = OutboxEvent(
        type=event_type, incident=incident, version=version, translation=translation, occurred_at=now
    )
    return event_from_row(_write(session, row, routing.channels_for(event_type), now))


def _write(session: Session, row: OutboxEvent, channels: list[str], now: datetime) -> OutboxEvent:
    """The event row, and a delivery for each channel that takes it, in the caller's transaction."""
    session.add(row)
    session.flush()
    if channels:  # one statement for them all, not a unit-of-work object each (nothing reads them here)
        session.execute(
            insert(Delivery),
            [
                {
                    "event_id": row.id,
                    "channel": channel,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for channel in channels
            ],
        )
    return row


def emit_rumor(
    session: Session,
    routing: Routing,
    *,
    rumor_version: RumorVersion,
    incident: Incident | None,
    now: datetime,
) -> RumorPublished:
    """A `rumor.published` event (issue 19): like `emit`, for a rumor response, which may
    belong to no incident."""
    row = OutboxEvent(
        type=EventType.RUMOR_PUBLISHED, incident=incident, rumor_version=rumor_version, occurred_at=now
    )
    event = event_from_row(_write(session, row, routing.channels_for(EventType.RUMOR_PUBLISHED), now))
    assert isinstance(event, RumorPublished)
    return event


def emit_staff(
    session: Session, routing: Routing, event_type: EventType, *, now: datetime
) -> OutboxEvent | None:
    """An event only staff hear of (`STAFF_EVENT_TYPES`), with a delivery for each channel that
    takes it; None when none does. It names no incident, so it is on no public page, feed or
    export; the caller links what it is about to it."""
    if event_type not in STAFF_EVENT_TYPES:
        raise ValueError(f"{event_type} is not a staff-only event")
    channels = routing.channels_for(event_type)
    if not channels:
        return None
    return _write(session, OutboxEvent(type=event_type, incident=None, occurred_at=now), channels, now)


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, never above `cap`."""
    delay = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    channel: str
    claim_token: str
    attempt: int
    interrupted: bool  # the previous attempt's outcome is unknown (its worker died mid-send)
    event: ChannelEvent


def _claimable(channel: str, ordered: bool, now: datetime):  # type: ignore[no-untyped-def]
    due = or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_expires_at < now),
    )
    condition = and_(Delivery.channel == channel, due)
    if ordered:
        earlier = aliased(Delivery)
        condition = and_(
            condition,
            ~exists().where(
                earlier.channel == channel,
                earlier.event_id < Delivery.event_id,
                earlier.state.in_(OPEN_STATES),
            ),
        )
    return condition


def claim_next(
    session: Session, channel: str, *, ordered: bool, lease_seconds: float, now: datetime | None = None
) -> Claim | None:
    """Claim the next due delivery of `channel`; for an ordered channel, only the oldest open one."""
    now = now or utcnow()
    delivery = session.scalars(
        select(Delivery)
        .where(_claimable(channel, ordered, now))
        .order_by(Delivery.event_id)
        .limit(1)
        .with_for_update(of=Delivery, skip_locked=True)
    ).first()
    if delivery is None:
        return None
    interrupted = delivery.state is DeliveryState.SENDING
    delivery.state = DeliveryState.SENDING
    delivery.attempts += 1
    delivery.claim_token = secrets.token_hex(16)
    delivery.lease_expires_at = now + timedelta(seconds=lease_seconds)
    delivery.updated_at = now
    event_row = session.get_one(OutboxEvent, delivery.event_id)
    _audit(
        session,
        SYSTEM,
        "delivery.attempted",
        delivery,
        now,
        attempt=delivery.attempts,
        event_id=event_row.id,
        interrupted=interrupted,
    )
    return Claim(
        delivery.id, channel, delivery.claim_token, delivery.attempts, interrupted, event_from_row(event_row)
    )


def due_times(session: Session, channels: Mapping[str, bool]) -> dict[str, datetime]:
    """When each of `channels` (name: whether it is ordered) next has something to claim, in
    two queries whatever their number; a channel with nothing open is left out. An ordered
    channel's is its oldest open delivery's: only that one can go next."""
    due = case(
        (Delivery.state == DeliveryState.SENDING, Delivery.lease_expires_at), else_=Delivery.next_attempt_at
    )
    is_open = Delivery.state.in_(OPEN_STATES)
    unordered = [name for name, ordered in channels.items() if not ordered]
    ordered = [name for name, ordered in channels.items() if ordered]
    times: dict[str, datetime] = {}
    if unordered:
        rows = session.execute(
            select(Delivery.channel, func.min(due))
            .where(Delivery.channel.in_(unordered), is_open)
            .group_by(Delivery.channel)
        )
        times.update({name: moment for name, moment in rows})
    if ordered:
        oldest = (
            select(Delivery.channel, func.min(Delivery.event_id).label("event_id"))
            .where(Delivery.channel.in_(ordered), is_open)
            .group_by(Delivery.channel)
            .subquery()
        )
        rows = session.execute(
            select(Delivery.channel, due).join(
                oldest, and_(Delivery.channel == oldest.c.channel, Delivery.event_id == oldest.c.event_id)
            )
        )
        times.update({name: moment for name, moment in rows})
    return times


def _held(session: Session, claim: Claim) -> Delivery | None:
    delivery = session.get(Delivery, claim.delivery_id, with_for_update=True)
    if delivery is None or delivery.claim_token != claim.claim_token:
        return None  # the lease ran out and another worker took it over
    return delivery


def renew_lease(session: Session, claim: Claim, *, lease_seconds: float, now: datetime | None = None) -> bool:
    now = now or utcnow()
    delivery = _held(session, claim)
    if delivery is None:
        return False
    delivery.lease_expires_at = now + timedelta(seconds=lease_seconds)
    return True


def _retried_last_by(session: Session, delivery: Delivery, actor: Actor) -> bool:
    """Whether the newest request to retry `delivery` was `actor`'s."""
    asker = session.execute(
        select(AuditEvent.actor_user_id)
        .where(AuditEvent.action == RETRY_REQUESTED, AuditEvent.subject == f"delivery {delivery.id}")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return asker is not None and actor.user_id is not None and asker.actor_user_id == actor.user_id


def _audit(
    session: Session, actor: Actor, action: str, delivery: Delivery, now: datetime, **data: object
) -> None:
    """The audit event of a change to `delivery`: its id and channel, then `data`."""
    audit.record(
        session,
        actor,
        action,
        f"delivery {delivery.id}",
        incident_id=session.get_one(OutboxEvent, delivery.event_id).incident_id,
        now=now,
        data={"delivery_id": delivery.id, "channel": delivery.channel, **data},
    )


def settle(
    session: Session,
    claim: Claim,
    state: DeliveryState,
    *,
    external_id: str | None = None,
    external_url: str | None = None,
    detail: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record a final outcome (sent or skipped). False if the claim was lost meanwhile."""
    if state not in (DeliveryState.SENT, DeliveryState.SKIPPED):
        raise ValueError(f"settle() records sent or skipped, not {state}")
    now = now or utcnow()
    delivery = _held(session, claim)
    if delivery is None:
        return False
    delivery.state = state
    delivery.external_id = external_id
    delivery.external_url = external_url
    delivery.detail = detail
    delivery.note = note
    delivery.last_error = None
    delivery.claim_token = None
    delivery.lease_expires_at = None
    delivery.completed_at = now
    delivery.updated_at = now
    _audit(
        session,
        SYSTEM,
        f"delivery.{state.value}",
        delivery,
        now,
        attempt=delivery.attempts,
        external_id=external_id,
        external_url=external_url,
        note=note,
    )
    return True


def fail(
    session: Session,
    claim: Claim,
    error: str,
    *,
    retry_at: datetime | None,
    detail: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record a failed attempt: back to pending until `retry_at`, or failed for good if None."""
    now = now or utcnow()
    delivery = _held(session, claim)
    if delivery is None:
        return False
    delivery.state = DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
    delivery.next_attempt_at = retry_at or now
    delivery.last_error = error[:MAX_ERROR_CHARS]
    if detail is not None:
        delivery.detail = detail
    delivery.claim_token = None
    delivery.lease_expires_at = None
    delivery.updated_at = now
    if retry_at is None:
        delivery.completed_at = now
    _audit(
        session,
        SYSTEM,
        "delivery.failed",
        delivery,
        now,
        attempt=delivery.attempts,
        error=delivery.last_error,
        retry_at=retry_at.isoformat() if retry_at else None,
    )
    return True


def retry(session: Session, actor: Actor, delivery_id: int, *, now: datetime | None = None) -> Delivery:
    """A person asks for a failed delivery to be tried again now. Asked again by the same
    person while that retry is still open (a double click), the request stands: nothing is
    written, and no error."""
    require_publisher(actor)
    now = now or utcnow()
    delivery = session.get(Delivery, delivery_id) if 1 <= delivery_id <= 2**31 - 1 else None
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.state is not DeliveryState.FAILED:
        if delivery.state in OPEN_STATES and _retried_last_by(session, delivery, actor):
            return delivery  # this person's own request, sent again (a double click): it stands
        raise NotAllowed(f"delivery {delivery_id} is {delivery.state.value}; only a failed one is retried")
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = now
    delivery.completed_at = None
    delivery.updated_at = now
    _audit(session, actor, RETRY_REQUESTED, delivery, now)
    return delivery
