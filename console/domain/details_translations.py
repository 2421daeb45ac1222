"""An incident's title, summary and location in the readers' other languages (issue 13.2).

A translation names the details version it translates, like an update's translation names
its version: a PIO translates the current one (409 when a colleague corrected the details
since). It reads current while the title, summary and location it translated are still the
incident's; after a correction of any of them, readers get the primary text again (marked
with its language) until someone translates the new one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import outbox
from console.domain.actors import Actor, require_publisher
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.details_versions import details_version_view
from console.domain.errors import InvalidInput, VersionConflict
from console.domain.events import IncidentDetailsChanged
from console.domain.incident_changes import announce_change
from console.domain.incident_details import current_details_version
from console.domain.incidents import get_incident
from console.domain.signing import seal, signature_view
from console.domain.text import LOCATION_MAX, SUMMARY_MAX, TITLE_MAX, clean
from console.languages import Languages
from console.models import (
    EventType,
    Incident,
    IncidentDetailsTranslation,
    IncidentDetailsVersion,
    utcnow,
)

TRANSLATED_FIELDS = ("title", "summary", "location")


@dataclass(frozen=True)
class DetailsTranslationDraft:
    lang: str | None
    title: str | None
    summary: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class AddedDetailsTranslation:
    translation: IncidentDetailsTranslation
    event: IncidentDetailsChanged


def source_text(row: IncidentDetailsVersion | IncidentDetailsTranslation | Incident) -> tuple[str, str, str]:
    """The texts a translation translates (or holds): title, summary and location."""
    return row.title, row.summary, row.location


def translation_hash(incident_slug: str, row: IncidentDetailsTranslation, version: int) -> str:
    return sha256_hex(
        canonical_json(
            {
                "incident": incident_slug,
                "details_version": version,
                "lang": row.lang,
                "title": row.title,
                "summary": row.summary,
                "location": row.location,
                "author": row.author_name,
                "created_at": iso(row.created_at),
            }
        )
    )


def _checked(
    draft: DetailsTranslationDraft, source: IncidentDetailsVersion, languages: Languages
) -> tuple[str, dict[str, str]]:
    """The language and the three texts; each field the source has must be translated, and
    one the source leaves empty stays empty (a reader must never get more than was said)."""
    errors: dict[str, str] = {}
    lang = languages.translation_language(draft.lang, errors, "lang")
    limits = {"title": TITLE_MAX, "summary": SUMMARY_MAX, "location": LOCATION_MAX}
    texts: dict[str, str] = {}
    for name in TRANSLATED_FIELDS:
        has_source = bool(getattr(source, name))
        value = clean(
            getattr(draft, name), max_chars=limits[name], required=has_source, errors=errors, field=name
        )
        if value and not has_source:
            errors[name] = f"the incident has no {name} in the primary language: leave it empty"
        texts[name] = value or ""
    if errors or lang is None:
        raise InvalidInput(errors)
    return lang, texts


def translate_details(
    session: Session,
    actor: Actor,
    slug: str,
    draft: DetailsTranslationDraft,
    *,
    version: int,
    languages: Languages,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> AddedDetailsTranslation:
    """Add a translation of details version `version`, which must be the incident's current one.

    Raises NotFound (no such incident), InvalidInput (language not configured or primary, a
    text missing, too long or where the source has none; the same as the translation shown)
    or VersionConflict naming the current details version."""
    require_publisher(actor)
    incident = get_incident(session, slug)
    current = current_details_version(session, incident)
    lang, texts = _checked(draft, current, languages)
    if version != current.version:
        if not 1 <= version <= current.version:
            raise InvalidInput({"version": f"incident {slug} has no details version {version}"})
        raise VersionConflict(version, details_version_view(current, None))
    shown = shown_details(session, [incident], lang).get(incident.id)
    if shown is not None and source_text(shown) == (texts["title"], texts["summary"], texts["location"]):
        raise InvalidInput({"title": f"is the same as the current {lang} translation"})
    now = now or utcnow()
    row = IncidentDetailsTranslation(
        incident_id=incident.id,
        version_id=current.id,
        lang=lang,
        **actor.authorship,
        created_at=now,
        **texts,
    )
    seal(session, row, translation_hash(slug, row, current.version))
    session.add(row)
    session.flush()
    # Pages, feeds and archive re-render the incident's details, as after a correction of them.
    subject = f"incident {slug} details version {current.version} in {lang}"
    data = {
        "slug": slug,
        "details_translation_id": row.id,
        "details_version": current.version,
        "lang": lang,
        **texts,
        "content_hash": row.content_hash,
    }
    event = announce_change(
        session,
        actor,
        routing,
        incident,
        EventType.INCIDENT_DETAILS_CHANGED,
        subject,
        data,
        now=now,
        action="incident.details_translated",
    )
    assert isinstance(event, IncidentDetailsChanged)
    return AddedDetailsTranslation(row, event)


# --- reading ------------------------------------------------------------------------------


def newest_translations(
    session: Session, incident_ids: Collection[int], lang: str | None = None
) -> dict[int, dict[str, IncidentDetailsTranslation]]:
    """Per incident and language, its newest details translation (current or not)."""
    if not incident_ids:
        return {}
    query = select(IncidentDetailsTranslation).where(
        IncidentDetailsTranslation.incident_id.in_(list(incident_ids))
    )
    if lang is not None:
        query = query.where(IncidentDetailsTranslation.lang == lang)
    newest: dict[int, dict[str, IncidentDetailsTranslation]] = {}
    for row in session.scalars(query.order_by(IncidentDetailsTranslation.id)):
        newest.setdefault(row.incident_id, {})[row.lang] = row
    return newest


def is_current(translation: IncidentDetailsTranslation, incident: Incident) -> bool:
    return source_text(translation.version) == source_text(incident)


def shown_details(
    session: Session, incidents: Collection[Incident], lang: str
) -> dict[int, IncidentDetailsTranslation]:
    """The incidents whose details a reader of `lang` gets translated: the current translations."""
    newest = newest_translations(session, [incident.id for incident in incidents], lang)
    return {
        incident.id: row
        for incident in incidents
        if (row := newest.get(incident.id, {}).get(lang)) is not None and is_current(row, incident)
    }


def current_translations(session: Session, incident: Incident) -> dict[str, IncidentDetailsTranslation]:
    """Per language, the incident's current details translation."""
    newest = newest_translations(session, [incident.id]).get(incident.id, {})
    return {lang: row for lang, row in newest.items() if is_current(row, incident)}


def translation_view(row: IncidentDetailsTranslation, incident: Incident) -> dict[str, Any]:
    return {
        "lang": row.lang,
        "details_version": row.version.version,
        "title": row.title,
        "summary": row.summary,
        "location": row.location,
        "status": "current" if is_current(row, incident) else "stale",
        "author": row.author_name,
        "created_at": row.created_at.isoformat(),
        "content_hash": row.content_hash,
        "signature": signature_view(row.signature_kid, row.signature_value),
    }


def translations_views(
    session: Session, incidents: Collection[Incident]
) -> dict[int, dict[str, dict[str, Any]]]:
    """`details_translations` of each incident's record: per language, the newest one."""
    newest = newest_translations(session, [incident.id for incident in incidents])
    return {
        incident.id: {
            lang: translation_view(row, incident) for lang, row in sorted(newest.get(incident.id, {}).items())
        }
        for incident in incidents
    }
