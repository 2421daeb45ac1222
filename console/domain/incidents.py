"""Incidents: create, resolve, find."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import audit, outbox
from console.domain.actors import Actor, require_publisher
from console.domain.alerting import cap_defaults_text, cap_defaults_view, check_cap_defaults
from console.domain.area import area_of, area_text
from console.domain.details_versions import new_details_version
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.domain.events import IncidentCreated, IncidentResolved
from console.domain.incident_changes import announce_change
from console.domain.text import LOCATION_MAX, SUMMARY_MAX, TITLE_MAX, clean
from console.models import AlertStatus, EventType, Incident, IncidentStatus, utcnow

# The OASIS CAP 1.2 <category> values, so every incident maps onto a CAP alert as-is.
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
DEFAULT_CATEGORY = "Other"
SLUG_MAX = 60
SLUG_SHAPE = re.compile(r"^[a-z0-9-]{1,80}$")
ID_MAX = 2**31 - 1  # row ids are 32-bit integers on PostgreSQL


@dataclass(frozen=True)
class IncidentDraft:
    title: str
    summary: str | None = None
    location: str | None = None
    category: str | None = None
    alert_status: str | None = None  # "actual" (default), "exercise" or "test"
    area: Any = None  # the mapped area (console.domain.area), checked by area_of; None: none
    # The CAP defaults of its new updates (console.domain.alerting.check_cap_defaults); None: none
    cap_defaults: Any = None


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "incident"


def _unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    taken = set(session.scalars(select(Incident.slug).where(Incident.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def category_of(value: str | None, errors: dict[str, str]) -> str:
    if value is None or not value.strip():
        return DEFAULT_CATEGORY
    for category in CATEGORIES:
        if category.lower() == value.strip().lower():
            return category
    errors["category"] = f"must be one of {', '.join(CATEGORIES)}"
    return DEFAULT_CATEGORY


def alert_status_of(value: str | None, errors: dict[str, str]) -> AlertStatus:
    if value is None or not value.strip():
        return AlertStatus.ACTUAL
    try:
        return AlertStatus(value.strip().lower())
    except ValueError:
        errors["alert_status"] = f"must be one of {', '.join(s.value for s in AlertStatus)}"
        return AlertStatus.ACTUAL


NO_INCIDENT = "no incident at this address"


def get_incident(session: Session, slug: str) -> Incident:
    # The message never repeats the slug: it comes from the URL, and a link could otherwise
    # make an official error page say whatever its author wrote.
    if not SLUG_SHAPE.fullmatch(slug):  # never a slug; and PostgreSQL cannot even compare a NUL
        raise NotFound(NO_INCIDENT)
    incident = session.scalars(select(Incident).where(Incident.slug == slug)).first()
    if incident is None:
        raise NotFound(NO_INCIDENT)
    return incident


def create_incident(
    session: Session,
    actor: Actor,
    draft: IncidentDraft,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> tuple[Incident, IncidentCreated]:
    require_publisher(actor)
    errors: dict[str, str] = {}
    title = clean(draft.title, max_chars=TITLE_MAX, required=True, errors=errors, field="title")
    summary = clean(draft.summary, max_chars=SUMMARY_MAX, required=False, errors=errors, field="summary")
    location = clean(draft.location, max_chars=LOCATION_MAX, required=False, errors=errors, field="location")
    category = category_of(draft.category, errors)
    alert_status = alert_status_of(draft.alert_status, errors)
    area = area_of(draft.area, errors) if draft.area is not None else None
    defaults = check_cap_defaults(draft.cap_defaults, errors)
    if errors or title is None:
        raise InvalidInput(errors)
    now = now or utcnow()
    incident = Incident(
        slug=_unique_slug(session, title),
        title=title,
        summary=summary or "",
        location=location or "",
        category=category,
        alert_status=alert_status,
        area=area_text(area),
        created_at=now,
        updated_at=now,
        created_by_id=actor.user_id,
    )
    session.add(incident)
    session.flush()
    details = new_details_version(
        session,
        incident,
        actor,
        1,
        reason=None,
        now=now,
        area=incident.area,
        cap_defaults=cap_defaults_text(defaults),
    )
    session.add(details)
    session.flush()
    subject = f"incident {incident.slug}"
    data = {
        "slug": incident.slug,
        "title": title,
        "summary": incident.summary,
        "location": incident.location,
        "category": category,
        "alert_status": alert_status.value,
        **({"area": area} if area is not None else {}),
        **({"cap_defaults": cap_defaults_view(defaults)} if not defaults.empty else {}),
        "details_version_id": details.id,
        "details_content_hash": details.content_hash,
    }
    event = announce_change(
        session, actor, routing, incident, EventType.INCIDENT_CREATED, subject, data, now=now
    )
    assert isinstance(event, IncidentCreated)
    return incident, event


def reopen(
    session: Session, actor: Actor, incident: Incident, *, now: datetime, data: dict[str, Any]
) -> None:
    """Make a resolved incident active again, audited as `incident.reopened` with `data` (the
    reason, and what reopened it), as the audit verification replays incident states."""
    incident.status = IncidentStatus.ACTIVE
    incident.resolved_at = None
    incident.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "incident.reopened",
        f"incident {incident.slug}",
        incident_id=incident.id,
        now=now,
        data={"slug": incident.slug, **data},
    )


def resolve_incident(
    session: Session,
    actor: Actor,
    slug: str,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
    all_clear_update_id: int | None = None,
) -> tuple[Incident, IncidentResolved]:
    require_publisher(actor)
    incident = get_incident(session, slug)
    if incident.status is IncidentStatus.RESOLVED:
        raise NotAllowed(f"incident {slug!r} is already resolved")
    now = now or utcnow()
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = now
    subject = f"incident {slug}"
    data = {"slug": slug, **({"all_clear_update_id": all_clear_update_id} if all_clear_update_id else {})}
    event = announce_change(
        session, actor, routing, incident, EventType.INCIDENT_RESOLVED, subject, data, now=now
    )
    assert isinstance(event, IncidentResolved)
    return incident, event
