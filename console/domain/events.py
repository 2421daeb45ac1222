"""Typed events that services return and that channel adapters receive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeVar

from console.models import STAFF_EVENT_TYPES, EventType, Incident, OutboxEvent, UpdateVersion, VersionKind

T = TypeVar("T")


@dataclass(frozen=True)
class _IncidentFact:
    """What every incident event carries: its outbox row, its incident and when it happened."""

    event_id: int
    incident_id: int
    incident_slug: str
    occurred_at: datetime

    # Subclasses that add no field need no @dataclass of their own: they inherit its methods.


@dataclass(frozen=True)
class _VersionFact(_IncidentFact):
    """An incident event about one version of one of its updates."""

    update_id: int
    seq: int
    version_id: int
    version: int


class IncidentCreated(_IncidentFact):
    type: ClassVar[EventType] = EventType.INCIDENT_CREATED


class IncidentResolved(_IncidentFact):
    type: ClassVar[EventType] = EventType.INCIDENT_RESOLVED


class IncidentDetailsChanged(_IncidentFact):
    """A new version of the incident's details (title, summary, location...) was published."""

    type: ClassVar[EventType] = EventType.INCIDENT_DETAILS_CHANGED


class IncidentPinned(_IncidentFact):
    """The update the incident shows first as "What to do now" changed (or none is pinned)."""

    type: ClassVar[EventType] = EventType.INCIDENT_PINNED


@dataclass(frozen=True)
class VersionPublished(_VersionFact):
    type: ClassVar[EventType] = EventType.VERSION_PUBLISHED
    kind: VersionKind
    preliminary: bool


@dataclass(frozen=True)
class TranslationAdded(_VersionFact):
    """A translation of one version was added (after the version itself was published)."""

    type: ClassVar[EventType] = EventType.TRANSLATION_ADDED
    translation_id: int
    lang: str


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


@dataclass(frozen=True)
class _ApprovalFact(_IncidentFact):
    """Approvers are to be emailed about a version of the incident (issue 18): a staff-only
    event, whose outbox row names no incident so that no public page lists it."""

    notice_id: int


class ApprovalRequested(_ApprovalFact):
    """A version waits for approval."""

    type: ClassVar[EventType] = EventType.APPROVAL_REQUESTED


class ApprovalBypassed(_ApprovalFact):
    """A version was published without the approval it needed (an emergency bypass)."""

    type: ClassVar[EventType] = EventType.APPROVAL_BYPASSED


IncidentEvent = (
    IncidentCreated
    | VersionPublished
    | IncidentResolved
    | IncidentDetailsChanged
    | IncidentPinned
    | TranslationAdded
)
ApprovalEvent = ApprovalRequested | ApprovalBypassed
ChannelEvent = IncidentEvent | RumorPublished | ApprovalEvent


def event_from_row(row: OutboxEvent) -> ChannelEvent:
    if row.type in STAFF_EVENT_TYPES:
        notice = _named(row, row.approval_notice, "is an approval event without its notice")
        made = ApprovalRequested if row.type is EventType.APPROVAL_REQUESTED else ApprovalBypassed
        return made(row.id, notice.incident_id, notice.incident.slug, row.occurred_at, notice.id)
    if row.type is EventType.RUMOR_PUBLISHED:
        rumor_version = _named(row, row.rumor_version, "is a rumor event without a rumor response")
        return RumorPublished(
            event_id=row.id,
            incident_id=row.incident.id if row.incident else None,
            incident_slug=row.incident.slug if row.incident else None,
            rumor_id=rumor_version.rumor_id,
            rumor_version_id=rumor_version.id,
            version=rumor_version.version,
            occurred_at=row.occurred_at,
        )
    incident = _named(row, row.incident, f"({row.type.value}) names no incident")
    if row.type is EventType.VERSION_PUBLISHED:
        version = _named(row, row.version, "is a publication without a version")
        fields = _version_fields(row, incident, version)
        return VersionPublished(*fields, kind=version.kind, preliminary=version.preliminary)
    if row.type is EventType.TRANSLATION_ADDED:
        translation = _named(row, row.translation, "is a translation event without a translation")
        fields = _version_fields(row, incident, translation.version)
        return TranslationAdded(*fields, translation_id=translation.id, lang=translation.lang)
    if row.type is EventType.INCIDENT_CREATED:
        return IncidentCreated(row.id, incident.id, incident.slug, row.occurred_at)
    if row.type is EventType.INCIDENT_DETAILS_CHANGED:
        return IncidentDetailsChanged(row.id, incident.id, incident.slug, row.occurred_at)
    if row.type is EventType.INCIDENT_PINNED:
        return IncidentPinned(row.id, incident.id, incident.slug, row.occurred_at)
    return IncidentResolved(row.id, incident.id, incident.slug, row.occurred_at)


def _named(row: OutboxEvent, value: T | None, problem: str) -> T:
    """`value`, the row the outbox event `row` must name; a ValueError saying `problem` if it names none."""
    if value is None:
        raise ValueError(f"outbox event {row.id} {problem}")
    return value


def _version_fields(
    row: OutboxEvent, incident: Incident, version: UpdateVersion
) -> tuple[int, int, str, datetime, int, int, int, int]:
    """The fields of a `_VersionFact`, in their order, for an event about `version`."""
    return (
        row.id,
        incident.id,
        incident.slug,
        row.occurred_at,
        version.update_id,
        version.update.seq,
        version.id,
        version.version,
    )
