"""Typed events that services return and that channel adapters receive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from console.models import EventType, OutboxEvent, VersionKind


@dataclass(frozen=True)
class IncidentCreated:
    type: ClassVar[EventType] = EventType.INCIDENT_CREATED
    event_id: int
    incident_id: int
    incident_slug: str
    occurred_at: datetime


@dataclass(frozen=True)
class VersionPublished:
    type: ClassVar[EventType] = EventType.VERSION_PUBLISHED
    event_id: int
    incident_id: int
    incident_slug: str
    update_id: int
    seq: int
    version_id: int
    version: int
    kind: VersionKind
    preliminary: bool
    occurred_at: datetime


@dataclass(frozen=True)
class IncidentResolved:
    type: ClassVar[EventType] = EventType.INCIDENT_RESOLVED
    event_id: int
    incident_id: int
    incident_slug: str
    occurred_at: datetime


@dataclass(frozen=True)
class IncidentDetailsChanged:
    """A new version of the incident's details (title, summary, location...) was published."""

    type: ClassVar[EventType] = EventType.INCIDENT_DETAILS_CHANGED
    event_id: int
    incident_id: int
    incident_slug: str
    occurred_at: datetime


@dataclass(frozen=True)
class TranslationAdded:
    """A translation of one version was added (after the version itself was published)."""

    type: ClassVar[EventType] = EventType.TRANSLATION_ADDED
    event_id: int
    incident_id: int
    incident_slug: str
    update_id: int
    seq: int
    version_id: int
    version: int
    translation_id: int
    lang: str
    occurred_at: datetime


@dataclass(frozen=True)
class RumorPublished:
    """A rumor response, or a new version of one, was published (issue 19). Agency-wide ones
    belong to no incident."""

    type: ClassVar[EventType] = EventType.RUMOR_PUBLISHED
    event_id: int
    incident_id: int | None
    incident_slug: str | None
    rumor_id: int
    rumor_version_id: int
    version: int
    occurred_at: datetime


IncidentEvent = (
    IncidentCreated | VersionPublished | IncidentResolved | IncidentDetailsChanged | TranslationAdded
)
ChannelEvent = IncidentEvent | RumorPublished


def event_from_row(row: OutboxEvent) -> ChannelEvent:
    if row.type is EventType.RUMOR_PUBLISHED:
        rumor_version = row.rumor_version
        if rumor_version is None:
            raise ValueError(f"outbox event {row.id} is a rumor event without a rumor response")
        return RumorPublished(
            event_id=row.id,
            incident_id=row.incident.id if row.incident else None,
            incident_slug=row.incident.slug if row.incident else None,
            rumor_id=rumor_version.rumor_id,
            rumor_version_id=rumor_version.id,
            version=rumor_version.version,
            occurred_at=row.occurred_at,
        )
    incident = row.incident
    if incident is None:
        raise ValueError(f"outbox event {row.id} ({row.type.value}) names no incident")
    if row.type is EventType.VERSION_PUBLISHED:
        version = row.version
        if version is None:
            raise ValueError(f"outbox event {row.id} is a publication without a version")
        return VersionPublished(
            event_id=row.id,
            incident_id=incident.id,
            incident_slug=incident.slug,
            update_id=version.update_id,
            seq=version.update.seq,
            version_id=version.id,
            version=version.version,
            kind=version.kind,
            preliminary=version.preliminary,
            occurred_at=row.occurred_at,
        )
    if row.type is EventType.TRANSLATION_ADDED:
        translation = row.translation
        if translation is None:
            raise ValueError(f"outbox event {row.id} is a translation event without a translation")
        return TranslationAdded(
            event_id=row.id,
            incident_id=incident.id,
            incident_slug=incident.slug,
            update_id=translation.update_id,
            seq=translation.version.update.seq,
            version_id=translation.version_id,
            version=translation.version.version,
            translation_id=translation.id,
            lang=translation.lang,
            occurred_at=row.occurred_at,
        )
    if row.type is EventType.INCIDENT_CREATED:
        return IncidentCreated(row.id, incident.id, incident.slug, row.occurred_at)
    if row.type is EventType.INCIDENT_DETAILS_CHANGED:
        return IncidentDetailsChanged(row.id, incident.id, incident.slug, row.occurred_at)
    return IncidentResolved(row.id, incident.id, incident.slug, row.occurred_at)
