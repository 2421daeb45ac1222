"""Read models: incidents and their full version history as plain JSON-ready dicts.

`internal=True` adds what only signed-in staff may see (delivery states and errors).
Nothing here returns an email address or a token.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from console.domain import details_translations, run_posts
from console.domain.area import area_geojson, stored_area
from console.domain.details_versions import current_defaults_view, details_history
from console.domain.errors import InvalidInput
from console.domain.incidents import get_incident
from console.domain.run_posts import PostLink
from console.domain.translations import (
    status_of,
    translation_view,
    translations_by_version,
)
from console.domain.updates import get_update, version_view
from console.languages import Languages
from console.models import Delivery, Incident, IncidentStatus, OutboxEvent, Translation, Update, UpdateVersion


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def incident_view(incident: Incident, *, last_update_at: datetime | None) -> dict[str, Any]:
    return {
        "slug": incident.slug,
        "title": incident.title,
        "summary": incident.summary,
        "location": incident.location,
        "category": incident.category,
        "status": incident.status.value,
        "alert_status": incident.alert_status.value,
        "area": area_geojson(stored_area(incident.area)),
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "resolved_at": _iso(incident.resolved_at),
        "last_update_at": _iso(last_update_at),
    }


def _last_update_times(session: Session, incident_ids: list[int]) -> dict[int, datetime]:
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Update.incident_id, func.max(UpdateVersion.published_at))
        .join(UpdateVersion, UpdateVersion.update_id == Update.id)
        .where(Update.incident_id.in_(incident_ids))
        .group_by(Update.incident_id)
    )
    return {incident_id: moment for incident_id, moment in rows}


def incident_view_now(session: Session, incident: Incident) -> dict[str, Any]:
    """One incident's view with its `last_update_at`, as the list answers it (without loading the
    whole record): for the answer to a change that published an update."""
    last = _last_update_times(session, [incident.id]).get(incident.id)
    return incident_view(incident, last_update_at=last)


INCIDENTS_PAGE_DEFAULT = 100
INCIDENTS_PAGE_MAX = 500
# Where a page starts: the rank (0 active, 1 resolved), then the microseconds since 1970 and
# the id of the last incident of the page before.
CURSOR_PATTERN = r"^[01]\.[0-9]{1,17}\.[0-9]{1,9}$"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IncidentPage:
    incidents: list[dict[str, Any]]
    # Where the next page starts (`cursor=`); None on the last page.
    next_cursor: str | None


def list_incidents(
    session: Session,
    *,
    status: IncidentStatus | None = None,
    limit: int = INCIDENTS_PAGE_DEFAULT,
    cursor: str | None = None,
) -> IncidentPage:
    """Active incidents first, then the most recently changed, `limit` at a time from `cursor`
    (a page's `next_cursor`). An incident that changes while a client pages moves to the top:
    the client meets it again on its next look at the first page."""
    rank = case((Incident.status == IncidentStatus.ACTIVE, 0), else_=1)
    query = select(Incident)
    if status is not None:
        query = query.where(Incident.status == status)
    if cursor is not None:
        after_rank, after_changed, after_id = _position(cursor)
        query = query.where(
            or_(
                rank > after_rank,
                and_(
                    rank == after_rank,
                    or_(
                        Incident.updated_at < after_changed,
                        and_(Incident.updated_at == after_changed, Incident.id < after_id),
                    ),
                ),
            )
        )
    found = list(
        session.scalars(query.order_by(rank, Incident.updated_at.desc(), Incident.id.desc()).limit(limit + 1))
    )
    incidents = found[:limit]
    times = _last_update_times(session, [incident.id for incident in incidents])
    return IncidentPage(
        [incident_view(incident, last_update_at=times.get(incident.id)) for incident in incidents],
        _cursor(incidents[-1]) if len(found) > limit else None,
    )


def _cursor(incident: Incident) -> str:
    rank = 0 if incident.status is IncidentStatus.ACTIVE else 1
    changed = (incident.updated_at - EPOCH) // timedelta(microseconds=1)
    return f"{rank}.{changed}.{incident.id}"


def _position(cursor: str) -> tuple[int, datetime, int]:
    """A cursor's place in the list. Its form is public (`CURSOR_PATTERN`, in the OpenAPI
    description too): any cursor of that form is a place, one this list gave or not."""
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidInput({"cursor": "must be a next_cursor this list answered"})
    rank, changed, incident_id = (int(part) for part in cursor.split("."))
    return rank, EPOCH + timedelta(microseconds=changed), incident_id


def delivery_view(
    delivery: Delivery, version: int, posts: tuple[PostLink, ...] = (), *, translation: str | None = None
) -> dict[str, Any]:
    """`translation`: the language of the version's translation, added later, that the delivery
    carried (its `translation.added` event's); None, the version itself."""
    return {
        "id": delivery.id,
        "version": version,
        "channel": delivery.channel,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_error": delivery.last_error,
        "external_id": delivery.external_id,
        "external_url": delivery.external_url,
        "posts": [post.view() for post in posts],
        "detail": delivery.detail,
        "note": delivery.note,
        "updated_at": _iso(delivery.updated_at),
        "completed_at": _iso(delivery.completed_at),
        "translation": translation,
    }


def translation_entries(
    versions: list[UpdateVersion], by_version: dict[int, list[Translation]], languages: Languages | None
) -> tuple[dict[int, list[dict[str, Any]]], dict[str, str]]:
    """Each version's translations (oldest first, each `current`, `stale` or `superseded` by a
    newer one of the same version and language) and the update's status per language."""
    current = versions[-1]
    newest: dict[tuple[int, str], int] = {}
    for version in versions:
        for translation in by_version.get(version.id, []):
            newest[(version.id, translation.lang)] = translation.id
    views: dict[int, list[dict[str, Any]]] = {}
    shown: dict[str, Translation] = {}
    for version in versions:
        views[version.id] = []
        for translation in by_version.get(version.id, []):
            if newest[(version.id, translation.lang)] != translation.id:
                status = "superseded"
            else:
                status = status_of(translation, current).value
                shown[translation.lang] = translation
            views[version.id].append(translation_view(translation, version.version, status))
    langs = languages.translated if languages is not None else tuple(sorted(shown))
    per_language = {lang: status_of(shown.get(lang), current).value for lang in langs}
    return views, per_language


def _update_entries(
    session: Session,
    incident: Incident,
    *,
    internal: bool,
    update_id: int | None = None,
    languages: Languages | None = None,
) -> list[dict[str, Any]]:
    """Updates of `incident` (or just `update_id`), newest first, each with all its versions."""
    scope = [Update.incident_id == incident.id]
    if update_id is not None:
        scope.append(Update.id == update_id)
    updates = list(session.scalars(select(Update).where(*scope).order_by(Update.seq.desc())))
    versions: dict[int, list[UpdateVersion]] = defaultdict(list)
    for version in session.scalars(
        select(UpdateVersion)
        .join(Update)
        .where(*scope)
        .order_by(UpdateVersion.update_id, UpdateVersion.version)
    ):
        versions[version.update_id].append(version)
    deliveries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if internal:
        rows = session.execute(
            select(Delivery, UpdateVersion.update_id, UpdateVersion.version, Translation.lang)
            .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
            .join(UpdateVersion, OutboxEvent.version_id == UpdateVersion.id)
            .join(Update, UpdateVersion.update_id == Update.id)
            .outerjoin(Translation, Translation.event_id == OutboxEvent.id)
            .where(*scope)
            .order_by(Delivery.event_id, Delivery.channel)
        )
        found = list(rows)
        posts = run_posts.by_delivery(session, (delivery.id for delivery, _, _, _ in found))
        for delivery, owner_id, number, lang in found:
            deliveries[owner_id].append(
                delivery_view(delivery, number, posts.get(delivery.id, ()), translation=lang)
            )
    by_version = translations_by_version(session, [update.id for update in updates])
    entries = []
    for update in updates:
        translated, per_language = translation_entries(versions[update.id], by_version, languages)
        entry: dict[str, Any] = {
            "id": update.id,
            "seq": update.seq,
            "versions": [{**version_view(v), "translations": translated[v.id]} for v in versions[update.id]],
            "translation_status": per_language,
        }
        if internal:
            entry["deliveries"] = deliveries[update.id]
        entries.append(entry)
    return entries


def incident_record(
    session: Session, slug: str, *, internal: bool, languages: Languages | None = None
) -> dict[str, Any]:
    """The complete record of one incident: every update (newest first), every version in order,
    each with its translations. Without `languages`, `translation_status` covers only the
    languages translated so far (it cannot say which are missing)."""
    incident = get_incident(session, slug)
    updates = _update_entries(session, incident, internal=internal, languages=languages)
    last = max((u["versions"][-1]["published_at"] for u in updates if u["versions"]), default=None)
    details = details_history(session, incident.id)
    return {
        **incident_view(incident, last_update_at=None),
        "last_update_at": last,
        "cap_defaults": current_defaults_view(details),
        "details_versions": details,
        "details_translations": details_translations.translations_views(session, [incident])[incident.id],
        "updates": updates,
    }


def update_record(
    session: Session, update_id: int, *, internal: bool, languages: Languages | None = None
) -> dict[str, Any]:
    update = get_update(session, update_id)
    [entry] = _update_entries(
        session, update.incident, internal=internal, update_id=update_id, languages=languages
    )
    return {**entry, "incident": update.incident.slug}
