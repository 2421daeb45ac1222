"""Looking up an update's versions: every version, the newest of each, published versions with
their update's number and incident (for the feeds and the text check), and whether a draft would
change anything."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from console.domain.previews import DraftText
from console.models import Incident, Update, UpdateVersion


def versions_of(session: Session, update_id: int) -> list[UpdateVersion]:
    """Every version of an update, oldest first."""
    return list(
        session.scalars(
            select(UpdateVersion).where(UpdateVersion.update_id == update_id).order_by(UpdateVersion.version)
        )
    )


def current_versions(session: Session, incident_id: int) -> dict[int, UpdateVersion]:
    """The newest version of each update of an incident, by update id."""
    newest: dict[int, UpdateVersion] = {}
    query = (
        select(UpdateVersion)
        .join(Update, UpdateVersion.update_id == Update.id)
        .where(Update.incident_id == incident_id)
        .order_by(UpdateVersion.update_id, UpdateVersion.version)
    )
    for version in session.scalars(query):
        newest[version.update_id] = version
    return newest


def versions_with_incident() -> Select[UpdateVersion, int, Incident]:
    """Every published version with its update's number (`seq`) and its incident: a query to
    narrow and order."""
    return (
        select(UpdateVersion, Update.seq, Incident)
        .join(Update, UpdateVersion.update_id == Update.id)
        .join(Incident, Update.incident_id == Incident.id)
    )


def newest_first(
    query: Select[UpdateVersion, int, Incident], limit: int
) -> Select[UpdateVersion, int, Incident]:
    """The `limit` most recently published versions of `query`, newest first."""
    return query.order_by(UpdateVersion.published_at.desc(), UpdateVersion.id.desc()).limit(limit)


def unchanged(draft: DraftText, version: UpdateVersion) -> bool:
    """True when a correction would publish the same text and flag again (the service refuses it)."""
    return (draft.headline_or_none, draft.body.strip(), draft.preliminary) == (
        version.headline,
        version.body,
        version.preliminary,
    )
