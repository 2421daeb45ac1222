"""Database mappings (SQLAlchemy 2.x typed declarative).

Rows of `update_versions`, `translations` and `audit_events` are immutable: the migrations install
triggers that make the database itself refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from console.media_models import VersionMedia

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable, and readable in SQL.
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


def _numbered(
    parent_id: str, number: str = "version", *, reason_after_first: bool = False
) -> tuple[UniqueConstraint | CheckConstraint, ...]:
    """The rows of a parent numbered 1, 2, …; with `reason_after_first`, each row after the
    first (a correction) says why it was made."""
    rules: tuple[UniqueConstraint | CheckConstraint, ...] = (
        UniqueConstraint(parent_id, number),
        CheckConstraint(f"{number} >= 1", name=f"{number}_positive"),
    )
    if reason_after_first:
        rules += (CheckConstraint(f"{number} = 1 OR reason IS NOT NULL", name="reason_after_first"),)
    return rules


class IncidentStatus(enum.StrEnum):
    ACTIVE = "active"
    RESOLVED = "resolved"


class AlertStatus(enum.StrEnum):
    """Whether an incident is real. Exercises and tests are labelled as such on every channel."""

    ACTUAL = "actual"
    EXERCISE = "exercise"
    TEST = "test"


class VersionKind(enum.StrEnum):
    ORIGINAL = "original"
    CORRECTION = "correction"
    CONFIRMATION = "confirmation"
    RETRACTION = "retraction"
    # Issue 13.4: resolving publishes an all-clear as the incident's final update, and
    # reopening publishes why, each on every channel.
    RESOLUTION = "resolution"
    REOPENING = "reopening"


class Role(enum.StrEnum):
    ADMIN = "admin"
    PIO = "pio"
    REVIEWER = "reviewer"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class EventType(enum.StrEnum):
    INCIDENT_CREATED = "incident.created"
    VERSION_PUBLISHED = "version.published"
    INCIDENT_RESOLVED = "incident.resolved"
    TRANSLATION_ADDED = "translation.added"
    RUMOR_PUBLISHED = "rumor.published"  # a rumor response, or a new version of one (issue 19)
    INCIDENT_DETAILS_CHANGED = "incident.details_changed"  # a new details version (issue 13)
    INCIDENT_PINNED = "incident.pinned"  # "What to do now" set to an update, or to none (issue 13.6)
    # Staff only (issue 18): approvers are emailed that a version waits for them, or was published
    # without approval. These events name no incident, so no public page, feed or export lists them.
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_BYPASSED = "approval.bypassed"


STAFF_EVENT_TYPES = frozenset({EventType.APPROVAL_REQUESTED, EventType.APPROVAL_BYPASSED})


class Verdict(enum.StrEnum):
    """The agency's answer to a claim circulating about a crisis."""

    FALSE = "false"
    UNCONFIRMED = "unconfirmed"
    TRUE = "true"


class RumorKind(enum.StrEnum):
    ORIGINAL = "original"
    CORRECTION = "correction"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an admin: the account cannot sign in, and its sessions and tokens are gone.
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # TOTP second factor (RFC 6238): the shared secret once confirmed, and the SHA-256 of each
    # unused recovery code, space-separated. Both empty: no second factor.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    recovery_codes: Mapped[str] = mapped_column(Text, default="", server_default="")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_updated", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    # The mapped area (issue 17) as canonical JSON (console.domain.area), or None.
    area: Mapped[str | None] = mapped_column(Text, default=None)
    category: Mapped[str] = mapped_column(String(16))
    status: Mapped[IncidentStatus] = mapped_column(
        _enum(IncidentStatus, "incident_status"), default=IncidentStatus.ACTIVE
    )
    alert_status: Mapped[AlertStatus] = mapped_column(
        _enum(AlertStatus, "alert_status"), default=AlertStatus.ACTUAL
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    updates: Mapped[list[Update]] = relationship(
        back_populates="incident", order_by="Update.seq", lazy="raise_on_sql"
    )


class Update(Base):
    __tablename__ = "updates"
    __table_args__ = _numbered("incident_id", "seq")

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="updates")
    versions: Mapped[list[UpdateVersion]] = relationship(
        back_populates="update", order_by="UpdateVersion.version", lazy="raise_on_sql"
    )


class UpdateVersion(Base):
    """One published text of an update. Never changed: a correction is a new row."""

    __tablename__ = "update_versions"
    __table_args__ = _numbered("update_id", reason_after_first=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[VersionKind] = mapped_column(_enum(VersionKind, "version_kind"))
    headline: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    preliminary: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The author's display name when they published: the record shows who it was then.
    author_name: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    # Ed25519 signature of `content_hash` by key `signature_kid`, made when it was published
    # (issue 19); None only on versions published before signing began.
    signature_kid: Mapped[str | None] = mapped_column(String(64), default=None)
    signature_value: Mapped[str | None] = mapped_column(String(128), default=None)
    # The template version (issue 18) it was written from, if any. No foreign key: adding one
    # would rebuild this table on SQLite and drop its immutability triggers; the audit event
    # of the version records it too.
    template_version_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # Its CAP fields, instruction and WEA texts (issue 17) as canonical JSON
    # (console.domain.alerting); None when it was given none.
    alerting: Mapped[str | None] = mapped_column(Text, default=None)

    update: Mapped[Update] = relationship(back_populates="versions")
    # Its images with their alt text (issue 18; console.media_models), in order.
    media: Mapped[list[VersionMedia]] = relationship(order_by="VersionMedia.position", lazy="selectin")
    template_version: Mapped[TemplateVersion | None] = relationship(
        primaryjoin="foreign(UpdateVersion.template_version_id) == TemplateVersion.id", viewonly=True
    )


class Translation(Base):
    """One version's headline and body in another language. Never changed: a fix is a new row,
    and the newest row for a (version, language) is the one shown.

    Whether it is current or stale is never stored: it is current while its version is the
    update's newest (see `console.domain.translations`).
    """

    __tablename__ = "translations"
    __table_args__ = (Index("ix_translations_update_lang", "update_id", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("update_versions.id"), index=True)
    # The version's update, kept here so "every translation of these updates" is one query.
    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id"))
    lang: Mapped[str] = mapped_column(String(35))
    headline: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    # The alt text of its version's images in this language (issue 18), a JSON list in their
    # order; None when it translates none (hashed only when set).
    media_alt: Mapped[str | None] = mapped_column(Text, default=None)
    signature_kid: Mapped[str | None] = mapped_column(String(64), default=None)  # as on versions
    signature_value: Mapped[str | None] = mapped_column(String(128), default=None)
    # The `translation.added` event that announced it; None when it was published with its version.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_events.id"), unique=True, default=None)
    # The translated instruction and (in Spanish) WEA texts (issue 17), canonical JSON; None: none.
    alerting: Mapped[str | None] = mapped_column(Text, default=None)

    version: Mapped[UpdateVersion] = relationship()
    event: Mapped[OutboxEvent | None] = relationship(back_populates="translation")


class IncidentDetailsVersion(Base):
    """One version of an incident's details (title, summary, location, category, alert status).

    Never changed: a correction is a new row with a reason (issue 13). The incident row carries
    the newest version's fields, and the database refuses to let them differ from it.
    """

    __tablename__ = "incident_details_versions"
    __table_args__ = _numbered("incident_id", reason_after_first=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    alert_status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, "alert_status"))
    area: Mapped[str | None] = mapped_column(Text, default=None)
    # Its CAP defaults (issue 17) as canonical JSON (console.domain.alerting), or None. Only the
    # versions carry them: they apply when an update is published, never to the incident row.
    cap_defaults: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    # Ed25519 signature of `content_hash` by key `signature_kid`, made when it was published
    # (issue 19); None only on versions published before details were signed (migration
    # i19_details_signatures).
    signature_kid: Mapped[str | None] = mapped_column(String(64), default=None)
    signature_value: Mapped[str | None] = mapped_column(String(128), default=None)


class AuditEvent(Base):
    """Append-only and hash-chained: hash = SHA-256(prev_hash + canonical JSON of the row)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column()
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject: Mapped[str] = mapped_column(String(200))
    # Canonical JSON text, kept byte for byte as hashed (a JSON column could re-order keys).
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxEvent(Base):
    """A public event, in the order it happened. Its id is the live stream's event id.
    A staff-only event (`STAFF_EVENT_TYPES`) names no incident: its notice row says what it is about."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[EventType] = mapped_column(_enum(EventType, "event_type"))
    # None only for an agency-wide rumor response (`rumor.published` of a rumor with no incident)
    # and for a staff-only event (its `approval_notice` names the incident).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("update_versions.id"), index=True)
    # No default: left unset, it is not in the INSERT (the schema before migration i19 lacks it).
    rumor_version_id: Mapped[int | None] = mapped_column(ForeignKey("rumor_versions.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column()

    incident: Mapped[Incident | None] = relationship()
    version: Mapped[UpdateVersion | None] = relationship()
    rumor_version: Mapped[RumorVersion | None] = relationship()
    # The translation a `translation.added` event announced (issue 8; the link is its `event_id`).
    translation: Mapped[Translation | None] = relationship(back_populates="event")
    # What approvers are emailed, for an `approval.*` event (the link is its `event_id`).
    approval_notice: Mapped[ApprovalNotice | None] = relationship(back_populates="event")
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="event", lazy="raise_on_sql")


class Delivery(Base):
    """The outbox: one row per (event, channel), written in the transaction that made the event."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel"),
        Index("ix_deliveries_channel_state_event", "channel", "state", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    channel: Mapped[str] = mapped_column(String(32))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    external_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # What the channel sent or would have sent (for example the exact post text in preview).
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    # Why it ended as it did when that is not obvious, e.g. "preview: no credentials set".
    note: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    event: Mapped[OutboxEvent] = relationship(back_populates="deliveries")


# --- Social channels (issue 6): channel health, and post requests whose outcome is unknown ---


class ChannelState(enum.StrEnum):
    OK = "ok"
    FAILING = "failing"


class ChannelHealth(Base):
    """A channel that cannot deliver at all (credentials rejected, account suspended).

    While `failing`, the dispatcher claims nothing for it: its deliveries wait, pending,
    until a person fixes the cause and resumes the channel. No row means the channel is fine.
    """

    __tablename__ = "channel_health"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[ChannelState] = mapped_column(_enum(ChannelState, "channel_state"))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_at: Mapped[datetime | None] = mapped_column(default=None)
    resumed_by: Mapped[str | None] = mapped_column(String(200), default=None)


class SocialSend(Base):
    """A post request that may have reached the network and whose outcome is not known yet.

    Committed before the request goes out and removed once the answer is known. While it
    exists (a timeout after sending, a worker killed mid-send), the next attempt first looks
    for the post on the account and adopts it rather than posting twice.
    """

    __tablename__ = "social_sends"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(200), default=None)
    sent_at: Mapped[datetime] = mapped_column()


class SocialPost(Base):
    """One post of the run a social delivery publishes (issue 13); a text that fits one post
    is a run of one.

    The run's texts are written at the delivery's first attempt and kept, so every attempt
    sends the same numbered posts. Each post's id and URL are filled in as it is made, in the
    transaction that clears its `social_sends` record: a later attempt sends only the posts
    not made yet. The delivery's own `external_id`/`external_url` are those of the first post
    (a correction replies to it); the incident's next update replies to the last.
    """

    __tablename__ = "social_posts"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, … in the run
    text: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    external_url: Mapped[str | None] = mapped_column(String(500), default=None)
    posted_at: Mapped[datetime | None] = mapped_column(default=None)


# PIO console: server-side sign-in sessions and the sign-in attempts that lockout counts.


class SignInOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"  # locked out: the password was not even checked


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored here."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship()


class SignInAttempt(Base):
    """One sign-in attempt, keyed by the email typed (whether or not such an account exists)."""

    __tablename__ = "signin_attempts"
    __table_args__ = (
        Index("ix_signin_attempts_email_attempted", "email", "attempted_at"),
        Index("ix_signin_attempts_ip_attempted", "ip", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[SignInOutcome] = mapped_column(_enum(SignInOutcome, "signin_outcome"))
    attempted_at: Mapped[datetime] = mapped_column(index=True)


# --- feeds (issue 5) ---
# Feeds and the CAP index take the newest versions first: an index keeps that flat as the archive grows.
Index("ix_update_versions_published_at", UpdateVersion.published_at)


# --- Public archive and reviewer audit (issue 7) ---------------------------------------------
# The archive lists incidents newest first and the corrections log lists versions by kind and
# time; the audit log is filtered by time. The full-text index itself (SQLite FTS5 /
# PostgreSQL tsvector, kept current by triggers) is not mapped: see console.domain.search.
Index("ix_incidents_created_at", Incident.created_at)
Index("ix_incidents_category_created_at", Incident.category, Incident.created_at)
Index("ix_update_versions_kind_published_at", UpdateVersion.kind, UpdateVersion.published_at)
Index("ix_audit_events_occurred_at", AuditEvent.occurred_at)


# --- Fault tolerance (issue 9) ---------------------------------------------------------------


class IdempotencyKey(Base):
    """The answer to a publishing API request sent with an `Idempotency-Key` header.

    Written in the same transaction as what the request published, so a client whose answer
    was lost (a dropped connection, a server killed mid-request) can send the request again
    with the same key and get this answer back instead of publishing a second time.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and JSON body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- Rumor control (issue 19) -----------------------------------------------------------------


class Rumor(Base):
    """A claim circulating about a crisis that the agency answers; its text lives in versions."""

    __tablename__ = "rumors"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), index=True
    )  # None: agency-wide
    created_at: Mapped[datetime] = mapped_column()

    incident: Mapped[Incident | None] = relationship()


class RumorVersion(Base):
    """One published rumor response: the claim as it circulates, the verdict and the facts.
    Immutable like update versions: a correction is a new row with a reason."""

    __tablename__ = "rumor_versions"
    __table_args__ = _numbered("rumor_id", reason_after_first=True)

    id: Mapped[int] = mapped_column(primary_key=True)
    rumor_id: Mapped[int] = mapped_column(ForeignKey("rumors.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[RumorKind] = mapped_column(_enum(RumorKind, "rumor_kind"))
    claim: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[str | None] = mapped_column(String(300))  # where the claim was seen
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"))
    facts: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    signature_kid: Mapped[str] = mapped_column(String(64))
    signature_value: Mapped[str] = mapped_column(String(128))

    rumor: Mapped[Rumor] = relationship()


class RumorTranslation(Base):
    """One rumor response version's claim and facts in another language; immutable."""

    __tablename__ = "rumor_translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    rumor_version_id: Mapped[int] = mapped_column(ForeignKey("rumor_versions.id"), index=True)
    lang: Mapped[str] = mapped_column(String(35))
    claim: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    signature_kid: Mapped[str] = mapped_column(String(64))
    signature_value: Mapped[str] = mapped_column(String(128))

    rumor_version: Mapped[RumorVersion] = relationship()


# --- Autosaved forms (issue 13.7) -------------------------------------------------------------


class AutosavedForm(Base):
    """What a PIO has typed in the compose form of an incident or the correct form of an
    update, saved as they type so that a closed tab, a crash or an ended session loses
    nothing. Private to its author: never public, never in the audit chain; deleted when the
    text is published or the author discards it. One per author and form."""

    __tablename__ = "autosaved_forms"
    __table_args__ = (UniqueConstraint("user_id", "form", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    form: Mapped[str] = mapped_column(String(16))  # "compose" (an incident) or "correct" (an update)
    target_id: Mapped[int] = mapped_column(Integer)  # the incident's or the update's id
    base_version: Mapped[int | None] = mapped_column(Integer)  # the version a correction started from
    content: Mapped[str] = mapped_column(Text)  # the typed fields, as JSON
    saved_at: Mapped[datetime] = mapped_column()


# --- "What to do now" (issue 13.6) -------------------------------------------------------------


class Pin(Base):
    """Which update an incident shows first as "What to do now", from `pinned_at` on. Never
    changed: pinning another update, or none (`update_id` NULL), is a new row, so who pinned
    what and when stays on record; the newest row of an incident is in force."""

    __tablename__ = "pins"
    __table_args__ = (Index("ix_pins_incident_id", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    update_id: Mapped[int | None] = mapped_column(ForeignKey("updates.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    pinned_at: Mapped[datetime] = mapped_column()


# --- Incident details in other languages (issue 13.2) --------------------------------------


class IncidentDetailsTranslation(Base):
    """An incident's title, summary and location in another language, translating one details
    version. Never changed: a fix is a new row, the newest of an (incident, language) counts.
    It reads current while the title, summary and location it translated are still the
    incident's (a correction of only the category or alert status leaves it current)."""

    __tablename__ = "details_translations"
    __table_args__ = (Index("ix_details_translations_incident", "incident_id", "lang", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("incident_details_versions.id"))
    lang: Mapped[str] = mapped_column(String(35))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    signature_kid: Mapped[str | None] = mapped_column(String(64), default=None)  # as on details versions
    signature_value: Mapped[str | None] = mapped_column(String(128), default=None)

    version: Mapped[IncidentDetailsVersion] = relationship(lazy="joined")


# --- Templates: holding statements prepared before a crisis (issue 18) ------------------------


class Template(Base):
    """A holding statement an admin prepared. Its text is in its versions; deleting one only
    marks it deleted, so every update written from it still names what it came from."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by: Mapped[str | None] = mapped_column(String(100), default=None)


class TemplateVersion(Base):
    """One text of a template. Never changed: a revision is a new row."""

    __tablename__ = "template_versions"
    __table_args__ = _numbered("template_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # JSON: {lang: {"headline": str|null, "body": str, "instruction"?: str}}
    translations: Mapped[str] = mapped_column(Text)
    # The CAP defaults and instruction publishing from it starts with (canonical JSON, as
    # `update_versions.alerting`); NULL when it sets none.
    alerting: Mapped[str | None] = mapped_column(Text, default=None)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()


class PendingState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"


class PendingVersion(Base):
    """Text a PIO sent for publishing while APPROVAL_REQUIRED asks a second person to approve it
    (issue 18). Kept apart from `update_versions`, whose rows are the published record: a pending
    version is changed once (decided), and what it becomes when approved is a new version row.
    `update_id` is None for a new update; `corrects_version` is the version it changes."""

    __tablename__ = "pending_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("updates.id"))
    kind: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # JSON: [{"lang", "headline", "body", "alerting"?, "media_alt"?}]
    translations: Mapped[str] = mapped_column(Text)
    preliminary: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    corrects_version: Mapped[int | None] = mapped_column(Integer)
    # What it was sent with: alerting fields as canonical JSON (NULL: none), images as JSON
    # [{"id", "alt"}] (NULL: none sent, so a correction keeps the current ones).
    alerting: Mapped[str | None] = mapped_column(Text, default=None)
    media: Mapped[str | None] = mapped_column(Text, default=None)
    # The template version it was written from, which the version published records (issue 18).
    template_version_id: Mapped[int | None] = mapped_column(Integer, default=None)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident] = relationship()


class ApprovalNotice(Base):
    """What the approvers are emailed (issue 18): a version waits for approval (`submitted`, with
    its pending version) or was published without it (`bypassed`, with the version and the
    author's reason). Written with its outbox event in the submission's or the bypass's transaction."""

    __tablename__ = "approval_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "submitted" or "bypassed"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    pending_version_id: Mapped[int | None] = mapped_column(ForeignKey("pending_versions.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("update_versions.id"))
    version_number: Mapped[int] = mapped_column(Integer)  # the number it is (or would be) published as
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)  # the author's, for a bypass
    occurred_at: Mapped[datetime] = mapped_column()

    event: Mapped[OutboxEvent] = relationship(back_populates="approval_notice")
    incident: Mapped[Incident] = relationship()
    pending_version: Mapped[PendingVersion | None] = relationship()
    version: Mapped[UpdateVersion | None] = relationship()
    recipients: Mapped[list[ApprovalNoticeRecipient]] = relationship(
        back_populates="notice", order_by="ApprovalNoticeRecipient.id"
    )


class ApprovalNoticeRecipient(Base):
    """One approver's email of a notice: the accounts able to approve when it was written, each
    marked sent as soon as its server took it, so a retry sends only to the others."""

    __tablename__ = "approval_notice_recipients"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("approval_notices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str] = mapped_column(String(254))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    notice: Mapped[ApprovalNotice] = relationship(back_populates="recipients")


# --- Inbound SMS (issue 16) -------------------------------------------------------------------


class InboundSmsSeen(Base):
    """A message Twilio forwarded to POST /sms/inbound, by its MessageSid: written in the same
    transaction as what the message did, so a retry of the webhook or a replay of a captured,
    signed request finds it here and does nothing. Its unique constraint settles two deliveries
    of the same message at once: one inserts, the other's insert fails and it does nothing.
    Rows older than console.web.sms_inbound.SEEN_KEPT are removed as new messages arrive."""

    __tablename__ = "inbound_sms_seen"
    __table_args__ = (UniqueConstraint("message_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)


# Alerts pushed to subscribers (issue 16) live in their own module; imported here so that
# Base.metadata, and so the migrations check, always hold their tables. Images (issue 18) too.
from console import alert_models, media_models  # noqa: E402, F401
