"""Incident details versions: the row, its content hash and its public view (issue 13).

Below both `incidents` (which writes version 1) and `incident_details` (which writes the
corrections), so neither imports the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ScalarResult, select
from sqlalchemy.orm import Session

from console.domain.actors import Actor
from console.domain.alerting import Alerting, cap_defaults_view, stored_cap_defaults
from console.domain.area import area_geojson, stored_area
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.signing import seal, signature_view
from console.models import AlertStatus, Incident, IncidentDetailsVersion

DETAIL_FIELDS = ("title", "summary", "location", "category", "alert_status")


def details_hash(incident_slug: str, row: IncidentDetailsVersion) -> str:
    # The area and the CAP defaults (issue 17) are hashed only when there are some, so versions
    # written before they existed keep the hash they were written with.
    area = {"area": row.area} if row.area is not None else {}
    defaults = {"cap_defaults": row.cap_defaults} if row.cap_defaults is not None else {}
    return sha256_hex(
        canonical_json(
            {
                **area,
                **defaults,
                "incident": incident_slug,
                "version": row.version,
                **details_of(row),
                "reason": row.reason,
                "author": row.author_name,
                "published_at": iso(row.published_at),
            }
        )
    )


def details_of(row: IncidentDetailsVersion | Incident) -> dict[str, str]:
    """The five detail fields of a version (or of the incident row, which carries the newest)."""
    return {
        "title": row.title,
        "summary": row.summary,
        "location": row.location,
        "category": row.category,
        "alert_status": AlertStatus(row.alert_status).value,
    }


def new_details_version(
    session: Session,
    incident: Incident,
    actor: Actor,
    version: int,
    *,
    reason: str | None,
    now: datetime,
    fields: dict[str, str] | None = None,
    area: str | None = None,
    cap_defaults: str | None = None,
) -> IncidentDetailsVersion:
    """A details version holding `fields` (by default the incident row's current ones), signed
    with the session's key (SigningUnavailable without one).

    A change writes this row before it updates the incident: the database refuses an incident
    whose details differ from its newest details version (migrations i13_incident_details,
    i17_area). `area` is the area's canonical JSON text (console.domain.area.area_text),
    `cap_defaults` the CAP defaults' (console.domain.alerting.cap_defaults_text)."""
    details = fields or details_of(incident)
    row = IncidentDetailsVersion(
        incident_id=incident.id,
        version=version,
        title=details["title"],
        summary=details["summary"],
        location=details["location"],
        category=details["category"],
        alert_status=AlertStatus(details["alert_status"]),
        area=area,
        cap_defaults=cap_defaults,
        reason=reason,
        **actor.authorship,
        published_at=now,
    )
    seal(session, row, details_hash(incident.slug, row))
    return row


def current_cap_defaults(session: Session, incident_id: int) -> Alerting:
    """The CAP defaults of an incident's newest details version: what a new update gets."""
    text = session.scalar(
        select(IncidentDetailsVersion.cap_defaults)
        .where(IncidentDetailsVersion.incident_id == incident_id)
        .order_by(IncidentDetailsVersion.version.desc())
        .limit(1)
    )
    return stored_cap_defaults(text)


def details_version(session: Session, incident_id: int, number: int) -> ScalarResult[IncidentDetailsVersion]:
    """Details version `number` of an incident (none, or one)."""
    return session.scalars(
        select(IncidentDetailsVersion).where(
            IncidentDetailsVersion.incident_id == incident_id, IncidentDetailsVersion.version == number
        )
    )


def details_versions(session: Session, incident_id: int) -> list[IncidentDetailsVersion]:
    return list(
        session.scalars(
            select(IncidentDetailsVersion)
            .where(IncidentDetailsVersion.incident_id == incident_id)
            .order_by(IncidentDetailsVersion.version)
        )
    )


def details_version_view(
    row: IncidentDetailsVersion, previous: IncidentDetailsVersion | None
) -> dict[str, Any]:
    """What `details_versions[]` shows of one version; `changed` names the fields it changed
    (`area` and `cap_defaults` among them when those changed)."""
    fields = details_of(row)
    before = details_of(previous) if previous is not None else None
    changed = [name for name in DETAIL_FIELDS if before is not None and before[name] != fields[name]]
    if previous is not None and previous.area != row.area:
        changed.append("area")
    if previous is not None and previous.cap_defaults != row.cap_defaults:
        changed.append("cap_defaults")
    return {
        "version": row.version,
        "fields": fields,
        "area": area_geojson(stored_area(row.area)),
        # The text the content hash covers, which GeoJSON cannot give back (it turns rings).
        "area_canonical": row.area,
        "cap_defaults": cap_defaults_view(stored_cap_defaults(row.cap_defaults)),
        "changed": changed,
        "reason": row.reason,
        "author": row.author_name,
        "published_at": row.published_at.isoformat(),
        "content_hash": row.content_hash,
        "signature": signature_view(row.signature_kid, row.signature_value),
    }


def current_defaults_view(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The incident's `cap_defaults`: its newest details version's, from `details_versions[]`."""
    return history[-1]["cap_defaults"] if history else None


def _views(rows: list[IncidentDetailsVersion]) -> list[dict[str, Any]]:
    return [details_version_view(row, rows[index - 1] if index else None) for index, row in enumerate(rows)]


def details_history(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """`details_versions[]` of one incident, oldest first."""
    return _views(details_versions(session, incident_id))


def details_histories(session: Session, incident_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """`details_versions[]` of many incidents in one query (exports)."""
    rows: dict[int, list[IncidentDetailsVersion]] = {incident_id: [] for incident_id in incident_ids}
    if incident_ids:
        query = (
            select(IncidentDetailsVersion)
            .where(IncidentDetailsVersion.incident_id.in_(incident_ids))
            .order_by(IncidentDetailsVersion.incident_id, IncidentDetailsVersion.version)
        )
        for row in session.scalars(query):
            rows[row.incident_id].append(row)
    return {incident_id: _views(versions) for incident_id, versions in rows.items()}


def switched_alert_status(session: Session, incident_slug: str, at: datetime) -> bool:
    """Whether the details version in force at `at` switched its incident between real,
    exercise and test (every update is labelled anew then)."""
    versions = session.execute(
        select(IncidentDetailsVersion.alert_status)
        .join(Incident, Incident.id == IncidentDetailsVersion.incident_id)
        .where(Incident.slug == incident_slug, IncidentDetailsVersion.published_at <= at)
        .order_by(IncidentDetailsVersion.version.desc())
        .limit(2)
    ).all()
    return len(versions) == 2 and versions[0].alert_status is not versions[1].alert_status
