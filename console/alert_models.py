"""Database mappings of alerts pushed to subscribers (issue 16): who subscribed, the fan-out
job of each (event, alert channel), and one row per (event, subscriber) message.

Imported at the end of `console.models`, so `Base.metadata` always holds these tables.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base, _enum, utcnow


class AlertChannel(enum.StrEnum):
    """How a subscriber is reached."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    SMS = "sms"
    PUSH = "push"  # Web Push: the address is the push service endpoint


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the double opt-in: nothing is sent but the confirmation
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"  # the address is deleted; only its keyed hash remains


class FanoutState(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"


class AlertState(enum.StrEnum):
    QUEUED = "queued"  # reserved for a batch, not attempted yet
    SENDING = "sending"  # being sent (at most IN_FLIGHT_MAX of them per connection)
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the worker died as it may have been sending this: never sent again


class Subscriber(Base):
    """A resident's email address, phone number (E.164) or browser's push endpoint, or a
    partner's webhook endpoint (registered by an admin)."""

    __tablename__ = "subscribers"
    __table_args__ = (Index("ix_subscribers_channel_status_id", "channel", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[AlertChannel] = mapped_column(_enum(AlertChannel, "alert_channel"))
    # None once unsubscribed: the address is deleted, `address_hash` suppresses re-sends.
    address: Mapped[str | None] = mapped_column(String(2000))
    address_hash: Mapped[str] = mapped_column(String(64), index=True)  # HMAC-SHA256 with SECRET_KEY
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)  # None: all
    lang: Mapped[str] = mapped_column(String(35))
    status: Mapped[SubscriberStatus] = mapped_column(_enum(SubscriberStatus, "subscriber_status"))
    # SHA-256 of the tokens in the links: a database leak does not let anyone confirm or unsubscribe.
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    unsubscribe_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # SMS only: wrong guesses of the confirmation code; at CODE_ATTEMPTS the code is void.
    confirm_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Webhooks only: the `whsec_` signing secret and the admin's note.
    secret: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    # Web Push only: the browser's `{"p256dh", "auth"}` keys (JSON) the payload is encrypted
    # to; deleted with the address on unsubscribing.
    push_keys: Mapped[str | None] = mapped_column(String(300), default=None)
    # Residents only, if they choose (issue 17): alerts only for incidents whose area holds
    # this point (WGS 84) or names this ZIP code (`console.domain.subscriber_location`);
    # deleted with the address on unsubscribing. At most one of the point and the ZIP code.
    area_lat: Mapped[float | None] = mapped_column(Float, default=None)
    area_lon: Mapped[float | None] = mapped_column(Float, default=None)
    area_zip: Mapped[str | None] = mapped_column(String(5), default=None)


class FanoutJob(Base):
    """One per (event, alert channel): walks the confirmed subscribers in id order, in batches,
    its cursor (the last subscriber id done) saved after each, so a restart resumes there."""

    __tablename__ = "fanout_jobs"
    __table_args__ = (UniqueConstraint("event_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    channel: Mapped[AlertChannel] = mapped_column(_enum(AlertChannel, "alert_channel"))
    state: Mapped[FanoutState] = mapped_column(_enum(FanoutState, "fanout_state"))
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)  # subscribers when the job began
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class AlertDelivery(Base):
    """One message to one subscriber about one event: unique, so nobody gets it twice."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "subscriber_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("fanout_jobs.id"), index=True)
    state: Mapped[AlertState] = mapped_column(_enum(AlertState, "alert_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
