"""Whole-record integrity: the audit chain, and every version (and translation, and rumor
response) against its hash and audit event; and every row an audit event records against
what it recorded (`recorded_rows`)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain.audit import ChainReport, verify_chain
from console.domain.recorded_rows import verify_recorded_rows
from console.domain.rumors import rumor_hash, rumor_translation_hash
from console.domain.translation_drafts import translation_hash
from console.domain.updates import content_hash
from console.models import (
    AuditEvent,
    Incident,
    IncidentDetailsTranslation,
    IncidentDetailsVersion,
    Rumor,
    RumorTranslation,
    RumorVersion,
    Translation,
    Update,
    UpdateVersion,
)


class VerifyingKey(Protocol):
    def verifies(self, message: bytes, value: str) -> bool: ...
    def covers(self, moment: datetime) -> bool: ...


class Keys(Protocol):
    """The agency's key set (`console.keyset.KeySet`): every key it ever signed with."""

    @property
    def signing_began(self) -> datetime: ...

    def find(self, kid: str) -> VerifyingKey | None: ...


@dataclass(frozen=True)
class IntegrityReport:
    chain: ChainReport
    versions_checked: int
    version_problem: str | None = None
    signatures: SignatureReport | None = None  # None: not checked (no key set)

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.version_problem is None

    def describe(self) -> str:
        lines = [self.chain.describe()]
        if self.version_problem:
            lines.append(f"version record broken: {self.version_problem}")
        else:
            lines.append(
                f"{self.versions_checked} update versions match their content hashes and audit events"
            )
            if self.signatures is not None:
                lines.append("every stored signature verifies with the key set")
                if self.signatures.unsigned:
                    unsigned = self.signatures.unsigned
                    named = ", ".join(unsigned[:5]) + (
                        f" and {len(unsigned) - 5} more" if len(unsigned) > 5 else ""
                    )
                    lines.append(
                        f"note: {len(unsigned)} rows published since signing began carry no signature "
                        f"({named}): their content is checked by its hash and the audit chain, "
                        "but cannot be proved offline"
                    )
        return "\n".join(lines)


def _published_hashes(session: Session) -> dict[tuple[int, int], str]:
    hashes = {}
    for data in session.scalars(select(AuditEvent.data).where(AuditEvent.action == "version.published")):
        fields = json.loads(data)
        hashes[(fields["update_id"], fields["version"])] = fields["content_hash"]
    return hashes


def verify_versions(session: Session) -> tuple[int, str | None]:
    published = _published_hashes(session)
    query = (
        select(UpdateVersion, Update.seq, Incident.slug)
        .join(Update, UpdateVersion.update_id == Update.id)
        .join(Incident, Update.incident_id == Incident.id)
        .order_by(UpdateVersion.id)
        .execution_options(yield_per=1000)
    )
    with closing(session.execute(query)) as rows:
        return _check_versions(rows, published)


def _check_versions(
    rows: Iterable[tuple[UpdateVersion, int, str]], published: dict[tuple[int, int], str]
) -> tuple[int, str | None]:
    checked = 0
    for version, seq, slug in rows:
        where = f"incident {slug} update {seq} (id {version.update_id}) version {version.version}"
        if content_hash(slug, seq, version) != version.content_hash:
            return checked, f"{where}: its content does not match its hash (the row was edited)"
        if published.get((version.update_id, version.version)) != version.content_hash:
            return checked, f"{where}: no audit event records publishing this content"
        checked += 1
    return checked, None


def verify_translations(session: Session) -> str | None:
    """Every translation against its hash and its `translation.added` audit event."""
    recorded = {}
    for data in session.scalars(select(AuditEvent.data).where(AuditEvent.action == "translation.added")):
        fields = json.loads(data)
        recorded[fields["translation_id"]] = fields["content_hash"]
    query = (
        select(Translation, UpdateVersion.version, Update.seq, Incident.slug)
        .join(UpdateVersion, Translation.version_id == UpdateVersion.id)
        .join(Update, UpdateVersion.update_id == Update.id)
        .join(Incident, Update.incident_id == Incident.id)
        .order_by(Translation.id)
        .execution_options(yield_per=1000)
    )
    with closing(session.execute(query)) as rows:
        for translation, number, seq, slug in rows:
            where = f"incident {slug} update {seq} version {number}, translation {translation.id}"
            if translation_hash(slug, seq, number, translation) != translation.content_hash:
                return f"{where}: its content does not match its hash (the row was edited)"
            if recorded.get(translation.id) != translation.content_hash:
                return f"{where}: no audit event records adding this content"
    return None


def verify_rumors(session: Session) -> str | None:
    """Every rumor response version and translation against its hash, and each version with its
    translations against its `rumor.published` audit event."""
    recorded = {}
    for data in session.scalars(select(AuditEvent.data).where(AuditEvent.action == "rumor.published")):
        fields = json.loads(data)
        # recorded before rumor responses were translated (issue 13.2): it has no translations
        languages = sorted(fields.get("translations", {}).items())
        recorded[(fields["rumor_id"], fields["version"])] = (fields["content_hash"], languages)
    translated: dict[int, list[tuple[str, str]]] = defaultdict(list)  # by rumor version id
    translations = session.execute(
        select(RumorTranslation, RumorVersion.rumor_id, RumorVersion.version)
        .join(RumorVersion, RumorTranslation.rumor_version_id == RumorVersion.id)
        .order_by(RumorTranslation.id)
    )
    for translation, rumor_id, number in translations:
        if rumor_translation_hash(rumor_id, number, translation) != translation.content_hash:
            where = f"rumor response {rumor_id} version {number}, translation {translation.id}"
            return f"{where}: its content does not match its hash (the row was edited)"
        translated[translation.rumor_version_id].append((translation.lang, translation.content_hash))
    query = (
        select(RumorVersion, Incident.slug)
        .join(Rumor, RumorVersion.rumor_id == Rumor.id)
        .outerjoin(Incident, Rumor.incident_id == Incident.id)
        .order_by(RumorVersion.id)
        .execution_options(yield_per=1000)
    )
    with closing(session.execute(query)) as rows:
        for version, slug in rows:
            where = f"rumor response {version.rumor_id} version {version.version}"
            if rumor_hash(version.rumor_id, slug, version) != version.content_hash:
                return f"{where}: its content does not match its hash (the row was edited)"
            content, languages = recorded.get((version.rumor_id, version.version), (None, []))
            if content != version.content_hash:
                return f"{where}: no audit event records publishing this content"
            if sorted(translated[version.id]) != languages:
                return (
                    f"{where}: its translations are not the ones its audit event records"
                    " (a translation was edited, added or deleted)"
                )
    return None


# Each signed table (a mapped class with `id`, `content_hash`, `signature_kid` and
# `signature_value`), the column of when its rows were signed, and what a problem calls a row.
SIGNED: tuple[tuple[Any, str, str], ...] = (
    (UpdateVersion, "published_at", "update version"),
    (Translation, "created_at", "translation"),
    (RumorVersion, "published_at", "rumor response version"),
    (RumorTranslation, "created_at", "rumor response translation"),
    (IncidentDetailsVersion, "published_at", "incident details version"),
    (IncidentDetailsTranslation, "created_at", "incident details translation"),
)


@dataclass(frozen=True)
class SignatureReport:
    problem: str | None = None
    # Rows published since the key set's first key came into use that carry no signature: by a
    # process still running code from before signing (during an upgrade), or stripped. Their
    # content still rests on its hash and the audit chain; they cannot be proved offline.
    unsigned: tuple[str, ...] = ()


def verify_signatures(session: Session, keys: Keys) -> SignatureReport:
    """Every stored signature against the key set: made by a key of it, in use then, over the
    row's content hash."""
    unsigned = []
    for model, moment_name, what in SIGNED:
        columns = ("id", "content_hash", "signature_kid", "signature_value", moment_name)
        query = select(*(getattr(model, name) for name in columns)).order_by(model.id)
        with closing(session.execute(query.execution_options(yield_per=1000))) as rows:
            for row_id, content, kid, value, moment in rows:
                where = f"{what} {row_id}"
                if kid is None or value is None:
                    if moment >= keys.signing_began:
                        unsigned.append(where)
                    continue
                key = keys.find(kid)
                if key is None:
                    problem = f"{where}: signed by key {kid!r}, which is not in the key set"
                elif not key.verifies(content.encode("utf-8"), value):
                    problem = f"{where}: its signature does not verify with key {kid!r} (the row was edited)"
                elif not key.covers(moment):
                    problem = f"{where}: key {kid!r} was not the agency's signing key when it was published"
                else:
                    continue
                return SignatureReport(problem, tuple(unsigned))
    return SignatureReport(None, tuple(unsigned))


def verify(session: Session, keys: Keys | None = None) -> IntegrityReport:
    """The chain and every published row; with `keys`, every stored signature too."""
    chain = verify_chain(session)
    checked, problem = verify_versions(session)
    problem = (
        problem or verify_translations(session) or verify_rumors(session) or verify_recorded_rows(session)
    )
    signatures = verify_signatures(session, keys) if keys is not None and problem is None else None
    return IntegrityReport(
        chain,
        checked,
        problem or (signatures.problem if signatures else None),
        signatures=signatures,
    )
