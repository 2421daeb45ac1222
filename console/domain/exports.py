"""The public record in machine-readable form: JSON per incident, JSON Lines for the whole
archive, CSV per incident history.

Every export carries `audit_head`, the newest audit event's number and hash when the export
was read. Whoever keeps an export can later run `console audit verify --against HASH` (or
ask the agency to) and prove the log up to that event was not rewritten since.

A record is `records.incident_record(internal=False)` plus, on every version, where it was
delivered (`deliveries`: channel, state, time, post id and link; never an error text).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain.audit import chain_head
from console.domain.details_versions import details_histories
from console.domain.history import IncidentHistory, deliveries_by_version
from console.domain.incidents import get_incident
from console.domain.records import incident_view, translation_entries
from console.domain.translations import translations_by_version
from console.domain.updates import version_view
from console.languages import Languages
from console.models import Incident, Update, UpdateVersion

EXPORT_FORMAT = "incident-console/public-record/1"

HISTORY_CSV_COLUMNS = (
    "incident",
    "seq",
    "version",
    "kind",
    "labels",
    "preliminary",
    "headline",
    "body",
    "reason",
    "author",
    "published_at",
    "content_hash",
    "signature_kid",
    "signature",
    "deliveries",
    "audit_head_event",
    "audit_head_hash",
)


def read_consistently(session: Session) -> None:
    """Make every read of this session see one moment (PostgreSQL reads committed data per
    statement by default; SQLite's read transaction already is a snapshot). Call first."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def audit_head(session: Session) -> dict[str, Any]:
    seq, digest = chain_head(session)
    return {"event": seq, "hash": digest}


def public_records(
    session: Session, incidents: list[Incident], *, languages: Languages | None = None
) -> list[dict[str, Any]]:
    """Complete public records of these incidents (newest update first, versions in order)."""
    ids = [incident.id for incident in incidents]
    deliveries = deliveries_by_version(session, ids)
    updates: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    versions: dict[int, list[UpdateVersion]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(UpdateVersion, Update.incident_id, Update.seq)
            .join(Update, UpdateVersion.update_id == Update.id)
            .where(Update.incident_id.in_(ids))
            .order_by(Update.incident_id, Update.seq.desc(), UpdateVersion.version)
        )
        for version, incident_id, seq in rows:
            versions[version.update_id].append(version)
            entry = updates[incident_id].setdefault(
                version.update_id, {"id": version.update_id, "seq": seq, "versions": []}
            )
            entry["versions"].append(
                {
                    **version_view(version),
                    "deliveries": [d.view() for d in deliveries.get(version.id, ())],
                }
            )
    by_version = translations_by_version(session, list(versions))
    for per_incident in updates.values():
        for update_id, entry in per_incident.items():
            translated, per_language = translation_entries(versions[update_id], by_version, languages)
            for view, version in zip(entry["versions"], versions[update_id], strict=True):
                view["translations"] = translated[version.id]
            entry["translation_status"] = per_language
    details = details_histories(session, ids)
    records = []
    for incident in incidents:
        entries = list(updates[incident.id].values())
        last = max((u["versions"][-1]["published_at"] for u in entries), default=None)
        records.append(
            {
                **incident_view(incident, last_update_at=None),
                "last_update_at": last,
                "details_versions": details[incident.id],
                "updates": entries,
            }
        )
    return records


def public_record(
    session: Session, slug: str, *, now: datetime, languages: Languages | None = None
) -> dict[str, Any]:
    """One incident's export: its record, the audit head, and when it was exported."""
    read_consistently(session)
    [record] = public_records(session, [get_incident(session, slug)], languages=languages)
    return {
        "format": EXPORT_FORMAT,
        **record,
        "audit_head": audit_head(session),
        "exported_at": now.isoformat(),
    }


def incidents_after(session: Session, after_id: int, limit: int) -> list[Incident]:
    """The next batch of incidents in id order (the order they were created): for streaming."""
    return list(
        session.scalars(select(Incident).where(Incident.id > after_id).order_by(Incident.id).limit(limit))
    )


def history_rows(history: IncidentHistory, head: dict[str, Any]) -> list[list[str]]:
    """One CSV row per version, in order, as `HISTORY_CSV_COLUMNS` names them."""
    rows = []
    for update in history.updates:
        for version in update.versions:
            deliveries = "; ".join(
                " ".join(
                    part
                    for part in (
                        f"{d.channel}: {d.state.value}",
                        d.delivered_at.isoformat() if d.delivered_at else "",
                        " ".join(post.external_url or post.external_id for post in d.posts)
                        if len(d.posts) > 1  # a run of posts: each of them
                        else d.external_url or d.external_id or "",
                    )
                    if part
                )
                for d in version.deliveries
            )
            rows.append(
                [
                    history.slug,
                    str(update.seq),
                    str(version.number),
                    version.kind.value,
                    " ".join(version.labels),
                    "true" if version.preliminary else "false",
                    version.headline or "",
                    version.body,
                    version.reason or "",
                    version.author,
                    version.published_at.isoformat(),
                    version.content_hash,
                    version.signature_kid or "",
                    version.signature_value or "",
                    deliveries,
                    str(head["event"]),
                    head["hash"],
                ]
            )
    return rows
