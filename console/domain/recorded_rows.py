"""The other direction of `integrity`: every row an audit event records still exists, with the
content it recorded (issue 14.1), pins of "What to do now" (issue 13.6) and translations of
incident details (issue 13.2) included. A row deleted,
or an incident relabelled, behind the database's back (triggers dropped, a raw UPDATE) is named
here with the event that records it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain.canonical import iso
from console.domain.details_translations import translation_hash
from console.domain.details_versions import details_hash, details_of
from console.models import (
    AuditEvent,
    Incident,
    IncidentDetailsTranslation,
    IncidentDetailsVersion,
    IncidentStatus,
    Pin,
    Rumor,
    RumorVersion,
    Translation,
    Update,
    UpdateVersion,
)

RECORDING_ACTIONS = (
    "incident.created",
    "incident.details_changed",
    "incident.resolved",
    "incident.reopened",
    "incident.pinned",
    "incident.details_translated",
    "version.published",
    "translation.added",
    "rumor.published",
)


@dataclass
class _Rows:
    """What the database holds now, keyed as the audit events name it."""

    versions: dict[tuple[int, int], str]  # (update id, version) → content hash
    translations: dict[int, str]
    rumor_versions: dict[tuple[int, int], str]
    incidents: dict[int, Incident]
    details: dict[int, IncidentDetailsVersion]  # by row id
    pins: dict[int, Pin]  # by row id
    details_translations: dict[int, IncidentDetailsTranslation]  # by row id
    details_by_incident: dict[int, list[IncidentDetailsVersion]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> _Rows:
        # Joined to their update and incident: a version whose update was deleted is missing too.
        versions = {
            (version.update_id, version.version): version.content_hash
            for version in session.scalars(
                select(UpdateVersion)
                .join(Update, UpdateVersion.update_id == Update.id)
                .join(Incident, Update.incident_id == Incident.id)
            )
        }
        translations = {
            translation.id: translation.content_hash
            for translation in session.scalars(
                select(Translation).join(UpdateVersion, Translation.version_id == UpdateVersion.id)
            )
        }
        rumor_versions = {
            (version.rumor_id, version.version): version.content_hash
            for version in session.scalars(
                select(RumorVersion).join(Rumor, RumorVersion.rumor_id == Rumor.id)
            )
        }
        incidents = {incident.id: incident for incident in session.scalars(select(Incident))}
        details = {
            row.id: row
            for row in session.scalars(
                select(IncidentDetailsVersion).order_by(IncidentDetailsVersion.version)
            )
        }
        pins = {pin.id: pin for pin in session.scalars(select(Pin))}
        details_translations = {row.id: row for row in session.scalars(select(IncidentDetailsTranslation))}
        rows = cls(versions, translations, rumor_versions, incidents, details, pins, details_translations)
        for row in details.values():
            rows.details_by_incident.setdefault(row.incident_id, []).append(row)
        return rows


@dataclass
class _Seen:
    """What the audit events say should exist."""

    created: set[int] = field(default_factory=set)  # incident ids
    details: set[int] = field(default_factory=set)  # details version row ids
    pins: set[int] = field(default_factory=set)  # pin row ids
    details_translations: set[int] = field(default_factory=set)  # row ids
    state: dict[int, tuple[IncidentStatus, datetime | None, int]] = field(default_factory=dict)


def _missing_or_changed(found: str | None, recorded: Any, what: str) -> str | None:
    if found is None:
        return f"{what} is missing (it was deleted)"
    if found != recorded:
        return f"{what} no longer has the content it recorded (the row was edited)"
    return None


def _check_event(event: AuditEvent, data: dict[str, Any], rows: _Rows, seen: _Seen) -> str | None:
    action = event.action
    if action == "version.published":
        key = (data["update_id"], data["version"])
        return _missing_or_changed(
            rows.versions.get(key), data["content_hash"], f"update {key[0]} version {key[1]}"
        )
    if action == "translation.added":
        tid = data["translation_id"]
        return _missing_or_changed(rows.translations.get(tid), data["content_hash"], f"translation {tid}")
    if action == "rumor.published":
        key = (data["rumor_id"], data["version"])
        return _missing_or_changed(
            rows.rumor_versions.get(key), data["content_hash"], f"rumor response {key[0]} version {key[1]}"
        )
    incident_id = event.incident_id
    incident = rows.incidents.get(incident_id) if incident_id is not None else None
    if incident is None:
        return f"incident {data.get('slug')} (id {incident_id}) is missing (it was deleted)"
    if incident.slug != data.get("slug"):
        slug = data.get("slug")
        return f"incident {slug} (id {incident_id}) now has slug {incident.slug!r} (the row was edited)"
    if action == "incident.created":
        seen.created.add(incident.id)
        seen.state.setdefault(incident.id, (IncidentStatus.ACTIVE, None, event.seq))
        if (
            iso(incident.created_at) != iso(event.occurred_at)
            or incident.created_by_id != event.actor_user_id
        ):
            where = f"incident {incident.slug} (id {incident.id})"
            return f"{where}: its creation time or creator is not the one recorded (the row was edited)"
        return _check_first_details(incident, data, rows, seen)
    if action == "incident.details_changed":
        row = rows.details.get(data["details_version_id"])
        what = f"incident {incident.slug} details version {data['version']}"
        problem = _missing_or_changed(row.content_hash if row else None, data["content_hash"], what)
        if row is not None:
            seen.details.add(row.id)
        return problem
    if action == "incident.pinned":
        pin = rows.pins.get(data["pin_id"])
        what = f"incident {incident.slug} pin {data['pin_id']}"
        if pin is None:
            return f"{what} is missing (it was deleted)"
        seen.pins.add(pin.id)
        recorded = (incident.id, data["update_id"], iso(event.occurred_at))
        if (pin.incident_id, pin.update_id, iso(pin.pinned_at)) != recorded:
            return f"{what} no longer pins what it recorded (the row was edited)"
        return None
    if action == "incident.details_translated":
        translation = rows.details_translations.get(data["details_translation_id"])
        what = f"incident {incident.slug} details translation {data['details_translation_id']}"
        if translation is not None:
            seen.details_translations.add(translation.id)
            if translation.incident_id != incident.id:
                return f"{what} now belongs to another incident (the row was edited)"
        found = translation.content_hash if translation is not None else None
        return _missing_or_changed(found, data["content_hash"], what)
    if action == "incident.resolved":
        seen.state[incident.id] = (IncidentStatus.RESOLVED, event.occurred_at, event.seq)
    elif action == "incident.reopened":
        seen.state[incident.id] = (IncidentStatus.ACTIVE, None, event.seq)
    return None


def _check_first_details(incident: Incident, data: dict[str, Any], rows: _Rows, seen: _Seen) -> str | None:
    what = f"incident {incident.slug} details version 1"
    if "details_version_id" in data:
        row = rows.details.get(data["details_version_id"])
        if row is not None:
            seen.details.add(row.id)
        return _missing_or_changed(row.content_hash if row else None, data["details_content_hash"], what)
    # Recorded before details were versioned: version 1 (made by migration) holds the fields.
    first = rows.details_by_incident.get(incident.id, [])[:1]
    if not first:
        return f"{what} is missing (it was deleted)"
    recorded = {name: data[name] for name in ("title", "summary", "location", "category", "alert_status")}
    if details_of(first[0]) != recorded:
        return f"{what} no longer has the content it recorded (the row was edited)"
    seen.details.add(first[0].id)
    return None


def _check_rows(rows: _Rows, seen: _Seen) -> str | None:
    """Every incident and details version has its event, and each incident is in the state its
    events left it in, with its newest details version's fields."""
    for pin in rows.pins.values():
        if pin.id not in seen.pins:
            return f"pin {pin.id} of incident id {pin.incident_id}: no audit event records it"
    for translation in rows.details_translations.values():
        what = f"details translation {translation.id} of incident id {translation.incident_id}"
        if translation.id not in seen.details_translations:
            return f"{what}: no audit event records it"
        owner = rows.incidents.get(translation.incident_id)
        slug = owner.slug if owner is not None else ""
        if translation_hash(slug, translation, translation.version.version) != translation.content_hash:
            return f"{what}: its content does not match its hash (the row was edited)"
    for incident in rows.incidents.values():
        where = f"incident {incident.slug} (id {incident.id})"
        if incident.id not in seen.created:
            return f"{where}: no audit event records creating it"
        versions = rows.details_by_incident.get(incident.id, [])
        for row in versions:
            if details_hash(incident.slug, row) != row.content_hash:
                return f"{where} details version {row.version}: its content does not match its hash (edited)"
            if row.id not in seen.details:
                return f"{where} details version {row.version}: no audit event records it"
        last = versions[-1] if versions else None
        if last is None or (details_of(last), last.area) != (details_of(incident), incident.area):
            newest = versions[-1].version if versions else 0
            return (
                f"{where}: its details (title, summary, location, category, alert status, area) are not "
                f"those of its details version {newest}, which the audit chain records (the row was edited)"
            )
        status, resolved_at, seq = seen.state[incident.id]
        if incident.status is not status:
            return f"{where}: it is {incident.status.value}, but audit event {seq} left it {status.value}"
        if status is IncidentStatus.RESOLVED and (
            incident.resolved_at is None
            or resolved_at is None
            or iso(incident.resolved_at) != iso(resolved_at)
        ):
            return f"{where}: its resolution time is not the one audit event {seq} records"
    return None


def verify_recorded_rows(session: Session) -> str | None:
    rows = _Rows.load(session)
    seen = _Seen()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(RECORDING_ACTIONS)).order_by(AuditEvent.seq)
    )
    for event in events:
        try:
            data = json.loads(event.data)
            problem = _check_event(event, data, rows, seen)
        except (ValueError, KeyError, TypeError) as exc:
            return f"audit event {event.seq} ({event.action}): unreadable data ({exc})"
        if problem is not None:
            return f"audit event {event.seq} ({event.action}): {problem}"
    return _check_rows(rows, seen)
