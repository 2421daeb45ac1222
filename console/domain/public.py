"""What residents see: the active incidents, and one incident's timeline.

Each view is read together with the stream position it reflects (`cursor`, the newest
event id at that moment), so a page can say "I am up to date through event N" and its live
connection resumes from exactly there. Read them inside one snapshot (see
`console.live.reading.snapshot`) so the content and the cursor agree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.domain import stream
from console.domain.area import Area, outline, stored_area
from console.domain.details_translations import shown_details
from console.domain.incident_facts import IncidentFacts, facts_of
from console.domain.incidents import get_incident
from console.domain.pins import current_pin
from console.domain.rumors import RumorEntry, rumor_entries
from console.domain.timeline import UpdateCard, incident_cards
from console.languages import Languages
from console.models import (
    STAFF_EVENT_TYPES,
    AlertStatus,
    Incident,
    IncidentStatus,
    OutboxEvent,
    Update,
    UpdateVersion,
    VersionKind,
)

INDEX_LIMIT = 100
RUMORS_SHOWN = 20


@dataclass(frozen=True)
class ChangeNotice:
    """A correction or retraction of one of the incident's updates, announced at the top of its
    page until the next update is published, so no reader misses it."""

    seq: int
    kind: VersionKind
    at: datetime
    reason: str

    @property
    def anchor(self) -> str:
        return f"update-{self.seq}"


@dataclass(frozen=True)
class IncidentHeader(IncidentFacts):
    updated_at: datetime
    update_count: int
    latest: UpdateCard | None  # the newest update, as it reads now
    latest_change: ChangeNotice | None = None
    pinned_card: UpdateCard | None = None  # the update pinned as "What to do now", as it reads now
    # The language title, summary and location are in when translated for the reader; None:
    # the primary language's own (issue 13.2).
    details_lang: str | None = None
    area: Area | None = None  # the mapped area (issue 17), in its stored [lat, lon] form

    @property
    def area_outline(self) -> dict[str, object] | None:
        """The area drawn for the page's inline SVG (`console.domain.area.outline`)."""
        return outline(self.area)

    @property
    def area_shapes(self) -> dict[str, object] | None:
        """What "Am I in the area?" checks a location against, in the reader's browser."""
        if self.area is None or not (self.area["polygons"] or self.area["circles"]):
            return None
        return {"polygons": self.area["polygons"], "circles": self.area["circles"]}

    @property
    def resolved(self) -> bool:
        return self.status is IncidentStatus.RESOLVED

    @property
    def all_clear(self) -> UpdateCard | None:
        """The all-clear a resolved incident shows first, in place of its summary (issue 13.4)."""
        if self.resolved and self.latest is not None and self.latest.is_all_clear:
            return self.latest
        return None

    @property
    def what_to_do_now(self) -> UpdateCard | None:
        """The pinned update, shown first (issue 13.6): never once retracted, nor after the
        incident is resolved (its all-clear is shown first then)."""
        card = self.pinned_card
        if self.resolved or card is None or card.retracted is not None:
            return None
        return card

    @property
    def drill_label(self) -> str | None:
        """EXERCISE or TEST, shown before everything else; None for a real incident."""
        return None if self.alert_status is AlertStatus.ACTUAL else self.alert_status.value.upper()

    @property
    def anchor(self) -> str:
        return f"incident-{self.slug}"


@dataclass(frozen=True)
class IncidentPage:
    incident: IncidentHeader
    cards: list[UpdateCard]  # newest first, at most the page's limit
    cursor: int
    rumors: list[RumorEntry]  # the rumor responses about this incident, newest first
    last_modified: datetime


@dataclass(frozen=True)
class IndexPage:
    incidents: list[IncidentHeader]
    cursor: int
    last_modified: datetime | None


def header(
    session: Session,
    incident: Incident,
    *,
    lang: str | None = None,
    languages: Languages | None = None,
    with_change: bool = True,
) -> IncidentHeader:
    """The incident as its page heads it; `with_change`: also its newest correction or
    retraction to announce (only the incident page shows it, so the index skips the query)."""
    count = session.scalar(select(func.count()).select_from(Update).where(Update.incident_id == incident.id))
    newest = session.scalar(
        select(Update.id).where(Update.incident_id == incident.id).order_by(Update.seq.desc()).limit(1)
    )
    latest = (
        incident_cards(session, incident, update_id=newest, lang=lang, languages=languages)[0]
        if newest is not None
        else None
    )
    pin = current_pin(session, incident.id)
    pinned_card = None
    if pin is not None and pin.update_id is not None:
        pinned_card = (
            latest
            if latest is not None and latest.update_id == pin.update_id
            else incident_cards(session, incident, update_id=pin.update_id, lang=lang, languages=languages)[0]
        )
    facts = facts_of(incident)
    translated = (
        shown_details(session, [incident], lang).get(incident.id)
        if lang is not None and languages is not None and lang != languages.primary
        else None
    )
    if translated is not None:
        facts.update(title=translated.title, summary=translated.summary, location=translated.location)
    return IncidentHeader(
        **facts,
        details_lang=translated.lang if translated is not None else None,
        updated_at=incident.updated_at,
        update_count=count or 0,
        latest=latest,
        latest_change=latest_change(session, incident) if with_change else None,
        pinned_card=pinned_card,
        area=stored_area(incident.area),
    )


def latest_change(session: Session, incident: Incident) -> ChangeNotice | None:
    """The newest correction or retraction of the incident's updates, unless an update was
    published after it (versions are written one at a time, so ids are in publication order)."""
    of_incident = (UpdateVersion.update_id == Update.id, Update.incident_id == incident.id)
    newest_update = session.scalar(
        select(func.max(UpdateVersion.id)).where(*of_incident, UpdateVersion.version == 1)
    )
    change = session.execute(
        select(
            Update.seq, UpdateVersion.kind, UpdateVersion.published_at, UpdateVersion.reason, UpdateVersion.id
        )
        .where(*of_incident, UpdateVersion.kind.in_([VersionKind.CORRECTION, VersionKind.RETRACTION]))
        .order_by(UpdateVersion.id.desc())
        .limit(1)
    ).first()
    if change is None or (newest_update is not None and newest_update > change.id):
        return None
    return ChangeNotice(change.seq, change.kind, change.published_at, change.reason or "")


def _last_event_at(session: Session, incident_id: int | None = None) -> datetime | None:
    # A staff-only event (an approver's email) changes nothing the public sees.
    query = select(func.max(OutboxEvent.occurred_at)).where(OutboxEvent.type.not_in(STAFF_EVENT_TYPES))
    if incident_id is not None:
        query = query.where(OutboxEvent.incident_id == incident_id)
    moment: datetime | None = session.scalar(query)
    return moment


def incident_page(
    session: Session, slug: str, *, limit: int, lang: str | None = None, languages: Languages | None = None
) -> IncidentPage:
    """One incident's timeline, newest update first, in `lang` when given (see
    `timeline.incident_cards`). Raises NotFound for an unknown slug."""
    cursor = stream.head(session)
    incident = get_incident(session, slug)
    cards = incident_cards(session, incident, lang=lang, languages=languages)
    return IncidentPage(
        incident=header(session, incident, lang=lang, languages=languages),
        cards=cards[:limit],
        cursor=cursor,
        rumors=incident_rumors(session, incident),
        last_modified=_last_event_at(session, incident.id) or incident.updated_at,
    )


def translated_titles(session: Session, slugs: Collection[str], lang: str) -> dict[str, tuple[str, str]]:
    """By slug, (title, lang) of the incidents whose details a reader of `lang` gets translated."""
    incidents = session.scalars(select(Incident).where(Incident.slug.in_(list(slugs)))).all() if slugs else []
    shown = shown_details(session, incidents, lang)
    return {
        incident.slug: (shown[incident.id].title, shown[incident.id].lang)
        for incident in incidents
        if incident.id in shown
    }


def incident_rumors(session: Session, incident: Incident) -> list[RumorEntry]:
    """The rumor responses about `incident`, newest first (agency-wide ones are on /rumors only)."""
    return rumor_entries(session, incident_id=incident.id, limit=RUMORS_SHOWN)


def index_page(session: Session, *, lang: str | None = None, languages: Languages | None = None) -> IndexPage:
    """Active incidents, the most recently changed first, each with its newest update."""
    cursor = stream.head(session)
    incidents = session.scalars(
        select(Incident)
        .where(Incident.status == IncidentStatus.ACTIVE)
        .order_by(Incident.updated_at.desc(), Incident.id.desc())
        .limit(INDEX_LIMIT)
    )
    return IndexPage(
        incidents=[
            header(session, incident, lang=lang, languages=languages, with_change=False)
            for incident in incidents
        ],
        cursor=cursor,
        last_modified=_last_event_at(session),
    )


def incident_header(
    session: Session, slug: str, *, lang: str | None = None, languages: Languages | None = None
) -> IncidentHeader:
    return header(session, get_incident(session, slug), lang=lang, languages=languages)


def update_card(
    session: Session,
    slug: str,
    update_id: int,
    *,
    lang: str | None = None,
    languages: Languages | None = None,
) -> UpdateCard:
    [card] = incident_cards(
        session, get_incident(session, slug), update_id=update_id, lang=lang, languages=languages
    )
    return card
