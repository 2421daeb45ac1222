"""The public record in machine-readable form: JSON per incident, JSON Lines for the whole
archive, CSV per incident history.

Every export carries `contents` when a signing key is loaded: the number of content hashes
the record holds, the SHA-256 of their list and the agency's signature of both (see
`signing.sign_contents`), so a version, update or translation taken out of a kept export
shows. It is signed when the export is built, like the rest of it.

Every export carries `audit_head`, the newest audit event's number and hash when the export
was read. Whoever keeps an export can later run `console audit verify --against HASH` (or
ask the agency to) and prove the log up to that event was not rewritten since.

A record is `records.incident_record(internal=False)` plus, on every version, where it was
delivered (`deliveries`: channel, state, time, post id and link, and `translation`: the language
of a translation added later that the delivery carried, null for the version itself; never an
error text).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.domain.audit import chain_head
from console.domain.canonical import GENESIS_HASH
from console.domain.details_translations import translations_views
from console.domain.details_versions import current_defaults_view, details_histories
from console.domain.history import IncidentHistory, PublicDelivery, deliveries_by_version
from console.domain.incidents import get_incident
from console.domain.records import incident_view, translation_entries
from console.domain.signing import Signer, sign_contents
from console.domain.translations import translations_by_version
from console.domain.updates import version_view
from console.languages import Languages
from console.models import AuditEvent, Delivery, Incident, OutboxEvent, Update, UpdateVersion

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
    "alerting",  # issue 17: canonical JSON of cap, instruction and wea, as hashed; empty: none
    "media",
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
    translated_details = translations_views(session, incidents)
    records = []
    for incident in incidents:
        entries = list(updates[incident.id].values())
        last = max((u["versions"][-1]["published_at"] for u in entries), default=None)
        records.append(
            {
                **incident_view(incident, last_update_at=None),
                "last_update_at": last,
                "cap_defaults": current_defaults_view(details[incident.id]),
                "details_versions": details[incident.id],
                "details_translations": translated_details[incident.id],
                "updates": entries,
            }
        )
    return records


def incident_head(session: Session, incident: Incident) -> tuple[dict[str, Any], datetime]:
    """The newest audit event about `incident` ({event, hash}, like `audit_head`) and the time
    of the incident's last change: that event or the newest change of one of its deliveries."""
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash, AuditEvent.occurred_at)
        .where(AuditEvent.incident_id == incident.id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    delivered = session.scalar(
        select(func.max(Delivery.updated_at))
        .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
        .where(OutboxEvent.incident_id == incident.id)
    )
    seq, digest, occurred = head if head is not None else (0, GENESIS_HASH, incident.created_at)
    changed = max(moment for moment in (occurred, delivered, incident.created_at) if moment is not None)
    return {"event": seq, "hash": digest}, changed


def export_record(
    record: dict[str, Any],
    *,
    head: dict[str, Any],
    exported_at: str,
    signing: dict[str, str] | None,
    signer: Signer | None,
) -> dict[str, Any]:
    """A record as every export writes it (the JSON file, archive.jsonl, the offline snapshot):
    `signing` when given, and `contents` signed by `signer` (none without a key, as a version
    published before signing began shows no signature)."""
    export = {"format": EXPORT_FORMAT, **record, "audit_head": head, "exported_at": exported_at}
    if signing is not None:
        export["signing"] = signing
    if signer is not None:
        export["contents"] = sign_contents(signer, export)
    return export


def public_record(
    session: Session,
    slug: str,
    *,
    signing: dict[str, str],
    signer: Signer | None,
    languages: Languages | None = None,
) -> dict[str, Any]:
    """One incident's export: its record, the newest audit event about it (`audit_head`), the
    time of its last change (`exported_at`: a record or a delivery changed), `signing` and
    `contents`. It depends on stored data only (Ed25519 signatures are deterministic), so
    reading it twice without a change gives the same."""
    read_consistently(session)
    incident = get_incident(session, slug)
    [record] = public_records(session, [incident], languages=languages)
    head, changed = incident_head(session, incident)
    return export_record(record, head=head, exported_at=changed.isoformat(), signing=signing, signer=signer)


def record_document(record: dict[str, Any]) -> bytes:
    """The bytes of an incident's export: what `GET /incidents/{slug}.json` serves and the
    `archive` channel writes, one serializer for both."""
    return (json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


def rumor_document(record: dict[str, Any]) -> bytes:
    """The bytes of a rumor response's file (`rumors/{id}.json`), as the `archive` channel and
    `console archive export` write it."""
    return (json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


@dataclass(frozen=True)
class ArchiveVersion:
    """What the full export depends on, read from the database: it changes whenever any record
    or delivery does, so every web process names the same content by it. `changed_at` is the
    time of that last change (the export's `exported_at`)."""

    key: tuple[int, int, str]  # audit head seq, number of deliveries, newest delivery change
    changed_at: datetime


def archive_version(session: Session) -> ArchiveVersion:
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.occurred_at).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    count, delivered = session.execute(select(func.count(Delivery.id), func.max(Delivery.updated_at))).one()
    seq, occurred = (head[0], head[1]) if head is not None else (0, None)
    moments = [moment for moment in (occurred, delivered) if moment is not None]
    changed_at = max(moments, default=datetime(1970, 1, 1))
    if changed_at.tzinfo is None:  # SQLite hands back naive UTC
        changed_at = changed_at.replace(tzinfo=UTC)
    return ArchiveVersion((seq, count, delivered.isoformat() if delivered else ""), changed_at)


def incidents_after(session: Session, after_id: int, limit: int) -> list[Incident]:
    """The next batch of incidents in id order (the order they were created): for streaming."""
    return list(
        session.scalars(select(Incident).where(Incident.id > after_id).order_by(Incident.id).limit(limit))
    )


def delivered_what(delivery: PublicDelivery) -> str:
    """A delivery's channel in the history CSV, and for the delivery of a translation added
    later, its language: `archive` (the version itself), `archive (translation es)`."""
    if delivery.translation is None:
        return delivery.channel
    return f"{delivery.channel} (translation {delivery.translation})"


def history_rows(history: IncidentHistory, head: dict[str, Any]) -> list[list[str]]:
    """One CSV row per version, in order, as `HISTORY_CSV_COLUMNS` names them."""
    rows = []
    for update in history.updates:
        for version in update.versions:
            deliveries = "; ".join(
                " ".join(
                    part
                    for part in (
                        f"{delivered_what(d)}: {d.state.value}",
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
                    version.alerting or "",
                    # Images (issue 18), as the content hash covers them; empty without.
                    json.dumps(
                        [{"sha256": i.sha256, "alt": i.alt} for i in version.images], ensure_ascii=False
                    )
                    if version.images
                    else "",
                ]
            )
    return rows
