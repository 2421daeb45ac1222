"""The public event stream, read from the database: `outbox_events` in id order.

Writes are serialized, so ids become visible in increasing order and "every event after id
N" is a gap-free answer at any moment. That is what makes resume exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.models import (
    EventType,
    Incident,
    OutboxEvent,
    RumorVersion,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
)


@dataclass(frozen=True)
class StreamEvent:
    event_id: int
    type: EventType
    incident_slug: str
    occurred_at: datetime
    update_id: int | None = None
    seq: int | None = None
    version: int | None = None
    kind: VersionKind | None = None
    lang: str | None = None  # the language of a translation.added event
    rumor_id: int | None = None  # the rumor response of a rumor.published event

    @property
    def is_new_update(self) -> bool:
        return self.type is EventType.VERSION_PUBLISHED and self.version == 1

    def concerns(self, lang: str) -> bool:
        """Whether readers of `lang` see anything change (a translation only changes its language)."""
        return self.type is not EventType.TRANSLATION_ADDED or self.lang == lang


def head(session: Session) -> int:
    """The newest event id (0 when there is none)."""
    return session.scalar(select(func.max(OutboxEvent.id))) or 0


def events_after(
    session: Session, after: int, *, incident_slug: str | None = None, limit: int | None = None
) -> list[StreamEvent]:
    """Events with id > `after`, oldest first; only one incident's if `incident_slug` is given.
    A rumor response about an incident is one of its events; agency-wide ones (no incident)
    are not part of the live pages' stream (they are on /rumors)."""
    query = (
        select(
            OutboxEvent.id.label("event_id"),
            OutboxEvent.type,
            Incident.slug.label("incident_slug"),
            OutboxEvent.occurred_at,
            UpdateVersion.update_id,
            Update.seq,
            UpdateVersion.version,
            UpdateVersion.kind,
            Translation.lang,
            RumorVersion.rumor_id,
        )
        .join(Incident, OutboxEvent.incident_id == Incident.id)
        .outerjoin(UpdateVersion, OutboxEvent.version_id == UpdateVersion.id)
        .outerjoin(Update, UpdateVersion.update_id == Update.id)
        .outerjoin(Translation, Translation.event_id == OutboxEvent.id)
        .outerjoin(RumorVersion, OutboxEvent.rumor_version_id == RumorVersion.id)
        .where(OutboxEvent.id > after)
        .order_by(OutboxEvent.id)
    )
    if incident_slug is not None:
        query = query.where(Incident.slug == incident_slug)
    if limit is not None:
        query = query.limit(limit)
    return [StreamEvent(**row._asdict()) for row in session.execute(query)]
