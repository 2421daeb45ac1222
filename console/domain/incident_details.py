"""Correcting an incident's details: every change is a new details version, never an edit.

Like a correction of an update, the caller names the version it corrects; when a colleague
published a newer one since, nothing is written and the newer one comes back in the
`VersionConflict`, so no one's change is overwritten unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from console.domain import outbox
from console.domain.actors import Actor, require_publisher
from console.domain.alerting import (
    Alerting,
    cap_defaults_text,
    cap_defaults_view,
    check_cap_defaults,
    stored_cap_defaults,
)
from console.domain.area import area_of, area_text, parse_typed_area, stored_area, typed_form
from console.domain.details_versions import (
    details_of,
    details_version,
    details_version_view,
    new_details_version,
)
from console.domain.errors import InvalidInput, VersionConflict
from console.domain.events import IncidentDetailsChanged
from console.domain.incident_changes import announce_change
from console.domain.incidents import alert_status_of, category_of, get_incident
from console.domain.rows import newest_version
from console.domain.text import LOCATION_MAX, REASON_MAX, SUMMARY_MAX, TITLE_MAX, clean
from console.models import EventType, Incident, IncidentDetailsVersion, utcnow


@dataclass(frozen=True)
class DetailsDraft:
    """The fields a PIO changes; None leaves a field as it is. An empty summary or location
    clears it."""

    title: str | None = None
    summary: str | None = None
    location: str | None = None
    category: str | None = None
    alert_status: str | None = None
    # The mapped area (console.domain.area) as typed; an area with no polygon, circle or
    # geocode in it removes the area.
    area: Any = None
    # The CAP defaults of new updates (console.domain.alerting.check_cap_defaults), all at once:
    # {} removes them, None leaves them as they are.
    cap_defaults: Any = None


@dataclass(frozen=True)
class ChangedDetails:
    incident: Incident
    version: IncidentDetailsVersion
    previous: IncidentDetailsVersion
    event: IncidentDetailsChanged


def current_details_version(session: Session, incident: Incident) -> IncidentDetailsVersion:
    row = newest_version(
        session,
        IncidentDetailsVersion,
        IncidentDetailsVersion.incident_id == incident.id,
        IncidentDetailsVersion.version,
    ).first()
    if row is None:  # every incident has its version 1 (written with it, or by migration i13)
        raise LookupError(f"incident {incident.slug} has no details version")
    return row


def _wanted(draft: DetailsDraft, current: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    wanted = dict(current)
    if draft.title is not None:
        title = clean(draft.title, max_chars=TITLE_MAX, required=True, errors=errors, field="title")
        wanted["title"] = title or current["title"]
    if draft.summary is not None:
        summary = clean(draft.summary, max_chars=SUMMARY_MAX, required=False, errors=errors, field="summary")
        wanted["summary"] = summary or ""
    if draft.location is not None:
        location = clean(
            draft.location, max_chars=LOCATION_MAX, required=False, errors=errors, field="location"
        )
        wanted["location"] = location or ""
    # A blank category or alert status keeps the current one (never the creation default).
    if draft.category is not None and draft.category.strip():
        wanted["category"] = category_of(draft.category, errors)
    if draft.alert_status is not None and draft.alert_status.strip():
        wanted["alert_status"] = alert_status_of(draft.alert_status, errors).value
    return wanted


def change_details(
    session: Session,
    actor: Actor,
    slug: str,
    draft: DetailsDraft,
    *,
    reason: str | None,
    corrects_version: int,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> ChangedDetails:
    require_publisher(actor)
    incident = get_incident(session, slug)
    current = current_details_version(session, incident)
    errors: dict[str, str] = {}
    reason_text = clean(reason, max_chars=REASON_MAX, required=True, errors=errors, field="reason")
    wanted = _wanted(draft, details_of(current), errors)
    area = area_text(area_of(draft.area, errors)) if draft.area is not None else current.area
    defaults = (
        cap_defaults_text(check_cap_defaults(draft.cap_defaults, errors))
        if draft.cap_defaults is not None
        else current.cap_defaults
    )
    if errors or reason_text is None:
        raise InvalidInput(errors)
    if corrects_version != current.version:
        previous = details_version(session, incident.id, current.version - 1).first()
        raise VersionConflict(corrects_version, details_version_view(current, previous))
    if wanted == details_of(current) and (area, defaults) == (current.area, current.cap_defaults):
        raise InvalidInput({"details": "nothing changes: every field is as the current version has it"})
    now = now or utcnow()
    # The version first: the database refuses incident details that no version holds.
    row = new_details_version(
        session,
        incident,
        actor,
        current.version + 1,
        reason=reason_text,
        now=now,
        fields=wanted,
        area=area,
        cap_defaults=defaults,
    )
    session.add(row)
    session.flush()
    incident.title = wanted["title"]
    incident.summary = wanted["summary"]
    incident.location = wanted["location"]
    incident.category = wanted["category"]
    incident.alert_status = alert_status_of(wanted["alert_status"], errors)
    incident.area = area
    subject = f"incident {slug} details version {row.version}"
    data = {
        "slug": slug,
        "details_version_id": row.id,
        "version": row.version,
        "corrects_version": corrects_version,
        "reason": reason_text,
        "changed": [name for name, value in wanted.items() if details_of(current)[name] != value]
        + (["area"] if area != current.area else [])
        + (["cap_defaults"] if defaults != current.cap_defaults else []),
        **wanted,
        "area": stored_area(area),
        **(
            {"cap_defaults": cap_defaults_view(stored_cap_defaults(defaults))} if defaults is not None else {}
        ),
        "content_hash": row.content_hash,
    }
    event = announce_change(
        session, actor, routing, incident, EventType.INCIDENT_DETAILS_CHANGED, subject, data, now=now
    )
    assert isinstance(event, IncidentDetailsChanged)
    return ChangedDetails(incident, row, current, event)


def rebase(session: Session, slug: str, typed: dict[str, str], started_from: int) -> dict[str, str]:
    """After a conflict: the typed details with every field the PIO left as it was in the
    version they started from taking the current version's value instead, so sending the
    form again changes only what they changed and never reverts a colleague's change."""
    incident = get_incident(session, slug)
    base = details_version(session, incident.id, started_from).first()
    if base is None:
        return typed
    before, now = details_of(base), details_of(incident)
    rebased = {
        name: now[name] if name in now and value == before[name] else value for name, value in typed.items()
    }
    # The area as typed in the form (description and shapes), likewise.
    errors: dict[str, str] = {}
    if "area" in typed:
        typed_area = parse_typed_area(typed["area"], typed.get("area_description", ""), errors)
        if not errors and area_text(typed_area) == base.area:
            rebased["area_description"], rebased["area"] = typed_form(stored_area(incident.area))
    return rebased


def rebase_cap_defaults(session: Session, slug: str, typed: Alerting, started_from: int) -> Alerting:
    """After a conflict, as `rebase` does for the other fields: CAP defaults left as they were in
    the version the PIO started from become the current version's."""
    incident = get_incident(session, slug)
    base = details_version(session, incident.id, started_from).first()
    if base is None or cap_defaults_text(typed) != base.cap_defaults:
        return typed
    return stored_cap_defaults(current_details_version(session, incident).cap_defaults)
