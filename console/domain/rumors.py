"""Rumor control: the agency's answer to a claim circulating in a crisis.

A rumor response quotes the claim as it circulates (and, optionally, where it was seen), and
gives the agency's verdict ("False", "Unconfirmed", "True") with the facts; per incident or
agency-wide. Like updates it is versioned (a correction is a new immutable version with a
reason, naming the version it corrects), translatable (with each version), signed (the
signature of its content hash, made in the publishing transaction), audited
(`rumor.published`) and sent to every channel through the outbox (`rumor.published`).
Everywhere it is shown it reads `RUMOR CONTROL:` and the verdict first, the claim quoted,
so it can never be mistaken for the claim itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import audit, outbox, wording
from console.domain.actors import Actor, require_publisher
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.errors import InvalidInput, VersionConflict
from console.domain.events import RumorPublished
from console.domain.incidents import get_incident
from console.domain.rows import newest_version, row_by_id
from console.domain.signing import seal, signature_view
from console.domain.text import BODY_MAX, REASON_MAX, clean
from console.languages import Languages
from console.models import (
    AlertStatus,
    Rumor,
    RumorKind,
    RumorTranslation,
    RumorVersion,
    Verdict,
    VersionKind,
    utcnow,
)

CLAIM_MAX = 1000
SEEN_AT_MAX = 300
LABEL = "RUMOR CONTROL"
VERDICT_WORDS = {Verdict.FALSE: "FALSE", Verdict.UNCONFIRMED: "UNCONFIRMED", Verdict.TRUE: "TRUE"}


@dataclass(frozen=True)
class RumorDraft:
    claim: str
    verdict: str
    facts: str
    seen_at: str | None = None


@dataclass(frozen=True)
class RumorTranslationDraft:
    lang: str
    claim: str
    facts: str


@dataclass(frozen=True)
class PublishedRumor:
    rumor: Rumor
    version: RumorVersion
    event: RumorPublished
    translations: tuple[RumorTranslation, ...] = ()


def rumor_hash(rumor_id: int, incident_slug: str | None, version: RumorVersion) -> str:
    """What a rumor response's signature covers (README, Signatures)."""
    return sha256_hex(
        canonical_json(
            {
                "type": "rumor_response",
                "rumor": rumor_id,
                "incident": incident_slug,
                "version": version.version,
                **_stated(version),
                "published_at": iso(version.published_at),
            }
        )
    )


def rumor_translation_hash(rumor_id: int, version: int, translation: RumorTranslation) -> str:
    return sha256_hex(
        canonical_json(
            {
                "type": "rumor_translation",
                "rumor": rumor_id,
                "version": version,
                "lang": translation.lang,
                "claim": translation.claim,
                "facts": translation.facts,
                "author": translation.author_name,
                "created_at": iso(translation.created_at),
            }
        )
    )


def _verdict(value: str, errors: dict[str, str]) -> Verdict:
    try:
        return Verdict(value.strip().lower())
    except (ValueError, AttributeError):
        errors["verdict"] = "must be one of False, Unconfirmed, True"
        return Verdict.UNCONFIRMED


def _check(draft: RumorDraft, errors: dict[str, str]) -> tuple[str, str | None, Verdict, str]:
    claim = clean(draft.claim, max_chars=CLAIM_MAX, required=True, errors=errors, field="claim")
    seen_at = clean(draft.seen_at, max_chars=SEEN_AT_MAX, required=False, errors=errors, field="seen_at")
    verdict = _verdict(draft.verdict, errors)
    facts = clean(draft.facts, max_chars=BODY_MAX, required=True, errors=errors, field="facts")
    return claim or "", seen_at, verdict, facts or ""


def _check_translations(
    drafts: Sequence[RumorTranslationDraft], languages: Languages, errors: dict[str, str]
) -> list[RumorTranslationDraft]:
    checked: list[RumorTranslationDraft] = []
    for index, draft in enumerate(drafts):
        prefix = f"translations[{index}]."
        lang = languages.translation_language(draft.lang, errors, f"{prefix}lang")
        claim = clean(draft.claim, max_chars=CLAIM_MAX, required=True, errors=errors, field=f"{prefix}claim")
        facts = clean(draft.facts, max_chars=BODY_MAX, required=True, errors=errors, field=f"{prefix}facts")
        if lang is not None and any(earlier.lang == lang for earlier in checked):
            errors[f"{prefix}lang"] = f"{lang} is given twice; send one translation per language"
        elif lang is not None and claim and facts:
            checked.append(RumorTranslationDraft(lang, claim, facts))
    return checked


def get_rumor(session: Session, rumor_id: int) -> Rumor:
    return row_by_id(session, Rumor, rumor_id, "rumor response")


def latest_rumor_version(session: Session, rumor: Rumor) -> RumorVersion:
    of_rumor = RumorVersion.rumor_id == rumor.id
    return newest_version(session, RumorVersion, of_rumor, RumorVersion.version).one()


def _append(
    session: Session,
    actor: Actor,
    routing: outbox.Routing,
    rumor: Rumor,
    *,
    number: int,
    text: tuple[str, str | None, Verdict, str],
    reason: str | None,
    translations: Sequence[RumorTranslationDraft],
    now: datetime,
) -> PublishedRumor:
    claim, seen_at, verdict, facts = text
    incident = rumor.incident
    version = RumorVersion(
        rumor=rumor,
        version=number,
        kind=RumorKind.ORIGINAL if number == 1 else RumorKind.CORRECTION,
        claim=claim,
        seen_at=seen_at,
        verdict=verdict,
        facts=facts,
        reason=reason,
        **actor.authorship,
        published_at=now,
    )
    seal(session, version, rumor_hash(rumor.id, incident.slug if incident else None, version))
    session.add(version)
    if incident is not None:
        incident.updated_at = now
    session.flush()
    written = []
    for draft in translations:
        translation = RumorTranslation(
            rumor_version=version,
            lang=draft.lang,
            claim=draft.claim,
            facts=draft.facts,
            **actor.authorship,
            created_at=now,
        )
        seal(session, translation, rumor_translation_hash(rumor.id, number, translation))
        session.add(translation)
        written.append(translation)
    session.flush()
    event = outbox.emit_rumor(session, routing, rumor_version=version, incident=incident, now=now)
    audit.record(
        session,
        actor,
        "rumor.published",
        f"rumor response {rumor.id} version {number}",
        incident_id=incident.id if incident else None,
        now=now,
        data={
            "rumor_id": rumor.id,
            "version": number,
            "verdict": verdict.value,
            "reason": reason,
            "content_hash": version.content_hash,
            "translations": {t.lang: t.content_hash for t in written},
        },
    )
    return PublishedRumor(rumor, version, event, tuple(written))


class RumorPublishing(TypedDict, total=False):
    """What publishing and correcting a rumor response also take: where its event goes, the
    languages translations may be in, and the translations sent with it."""

    routing: Required[outbox.Routing]
    languages: Required[Languages]
    translations: Sequence[RumorTranslationDraft]


def _checked(
    actor: Actor, draft: RumorDraft, reason: str | None, publishing: RumorPublishing, errors: dict[str, str]
) -> tuple[tuple[str, str | None, Verdict, str], str | None, list[RumorTranslationDraft]]:
    """The text, reason (None: a first version has none) and translations of a new version,
    checked; what is wrong goes to `errors`."""
    require_publisher(actor)
    text = _check(draft, errors)
    if reason is not None:
        reason = clean(reason, max_chars=REASON_MAX, required=True, errors=errors, field="reason")
    translations = publishing.get("translations", ())
    return text, reason, _check_translations(translations, publishing["languages"], errors)


def publish_rumor(
    session: Session,
    actor: Actor,
    draft: RumorDraft,
    *,
    incident_slug: str | None,
    now: datetime | None = None,
    **publishing: Unpack[RumorPublishing],
) -> PublishedRumor:
    errors: dict[str, str] = {}
    text, _, checked = _checked(actor, draft, None, publishing, errors)
    incident = get_incident(session, incident_slug) if incident_slug else None
    if errors:
        raise InvalidInput(errors)
    now = now or utcnow()
    rumor = Rumor(incident=incident, created_at=now)
    session.add(rumor)
    session.flush()
    routing = publishing["routing"]
    return _append(
        session, actor, routing, rumor, number=1, text=text, reason=None, translations=checked, now=now
    )


def correct_rumor(
    session: Session,
    actor: Actor,
    rumor_id: int,
    draft: RumorDraft,
    *,
    reason: str | None,
    corrects_version: int,
    now: datetime | None = None,
    **publishing: Unpack[RumorPublishing],
) -> PublishedRumor:
    """A new version (the verdict changed, the facts are fuller); the earlier stays in the record."""
    errors: dict[str, str] = {}
    text, reason_text, checked = _checked(actor, draft, reason or "", publishing, errors)
    rumor = get_rumor(session, rumor_id)
    if errors:
        raise InvalidInput(errors)
    current = latest_rumor_version(session, rumor)
    if corrects_version != current.version:
        if not 1 <= corrects_version <= current.version:
            raise InvalidInput(
                {"corrects_version": f"rumor response {rumor.id} has no version {corrects_version}"}
            )
        raise VersionConflict(corrects_version, {"rumor_id": rumor.id, **rumor_version_view(current, [])})
    if text == (current.claim, current.seen_at, current.verdict, current.facts):
        raise InvalidInput({"facts": "the correction is identical to the current version"})
    return _append(
        session,
        actor,
        publishing["routing"],
        rumor,
        number=current.version + 1,
        text=text,
        reason=reason_text,
        translations=checked,
        now=now or utcnow(),
    )


# --- reading ------------------------------------------------------------------------------


def headline(verdict: Verdict, claim: str) -> str:
    """`RUMOR CONTROL: FALSE — “claim”`: the verdict first, the claim quoted."""
    return f"{LABEL}: {VERDICT_WORDS[verdict]} — “{claim}”"


def labels(kind: RumorKind, alert_status: AlertStatus = AlertStatus.ACTUAL) -> list[str]:
    """The labels before `RUMOR CONTROL:`, as an update's (`wording.labels`): EXERCISE or TEST
    about a drill incident (`alert_status`: its incident's), CORRECTION on a correction, so a
    corrected response never reads as the agency contradicting itself."""
    as_update = VersionKind.CORRECTION if kind is RumorKind.CORRECTION else VersionKind.ORIGINAL
    return wording.labels(as_update, False, alert_status)


def alert_status_of(rumor: Rumor) -> AlertStatus:
    """Its incident's (an exercise's rumor response is one too); agency-wide: ACTUAL."""
    return rumor.incident.alert_status if rumor.incident is not None else AlertStatus.ACTUAL


def _stated(version: RumorVersion) -> dict[str, Any]:
    """What a version says and who said it, as both its content hash and its view name it."""
    return {
        "claim": version.claim,
        "seen_at": version.seen_at,
        "verdict": version.verdict.value,
        "facts": version.facts,
        "reason": version.reason,
        "author": version.author_name,
    }


def rumor_version_view(version: RumorVersion, translations: Sequence[RumorTranslation]) -> dict[str, Any]:
    return {
        "version": version.version,
        "kind": version.kind.value,
        **_stated(version),
        "published_at": version.published_at.isoformat(),
        "content_hash": version.content_hash,
        "signature": signature_view(version.signature_kid, version.signature_value),
        "translations": [
            {
                "lang": t.lang,
                "claim": t.claim,
                "facts": t.facts,
                "author": t.author_name,
                "created_at": t.created_at.isoformat(),
                "content_hash": t.content_hash,
                "signature": signature_view(t.signature_kid, t.signature_value),
            }
            for t in translations
        ],
    }


@dataclass(frozen=True)
class RumorEntry:
    """A rumor response with every version (oldest first): what the public pages show."""

    rumor: Rumor
    incident_slug: str | None
    incident_title: str | None
    versions: tuple[RumorVersion, ...]
    translations: dict[int, tuple[RumorTranslation, ...]]  # by version id
    alert_status: AlertStatus = AlertStatus.ACTUAL  # its incident's

    @property
    def current(self) -> RumorVersion:
        return self.versions[-1]

    @property
    def badges(self) -> list[str]:
        """EXERCISE or TEST about a drill, as its posts and feed entries open (a correction is
        said by its notice)."""
        return labels(RumorKind.ORIGINAL, self.alert_status)

    def text_in(self, lang: str) -> tuple[str, str, str | None]:
        """(claim, facts, lang of that text or None for the primary language) for a reader of
        `lang`: the current version's translation when there is one."""
        for translation in self.translations.get(self.current.id, ()):
            if translation.lang == lang:
                return translation.claim, translation.facts, translation.lang
        return self.current.claim, self.current.facts, None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.rumor.id,
            "incident": self.incident_slug,
            "headline": headline(self.current.verdict, self.current.claim),
            "versions": [rumor_version_view(v, self.translations.get(v.id, ())) for v in self.versions],
        }


def rumor_entries(
    session: Session,
    *,
    rumor_ids: Sequence[int] | None = None,
    incident_id: int | None = None,
    limit: int | None = None,
) -> list[RumorEntry]:
    """Rumor responses (those about incident `incident_id` if given), most recently published first."""
    query = select(RumorVersion).order_by(RumorVersion.rumor_id, RumorVersion.version)
    if rumor_ids is not None:
        query = query.where(RumorVersion.rumor_id.in_(list(rumor_ids)))
    if incident_id is not None:
        query = query.join(Rumor, RumorVersion.rumor_id == Rumor.id).where(Rumor.incident_id == incident_id)
    versions: dict[int, list[RumorVersion]] = defaultdict(list)
    for version in session.scalars(query):
        versions[version.rumor_id].append(version)
    ids = [version.id for found in versions.values() for version in found]
    translations: dict[int, list[RumorTranslation]] = defaultdict(list)
    if ids:
        for translation in session.scalars(
            select(RumorTranslation)
            .where(RumorTranslation.rumor_version_id.in_(ids))
            .order_by(RumorTranslation.id)
        ):
            translations[translation.rumor_version_id].append(translation)
    entries = []
    for rumor in session.scalars(select(Rumor).where(Rumor.id.in_(list(versions)))):
        incident = rumor.incident
        entries.append(
            RumorEntry(
                rumor,
                incident.slug if incident else None,
                incident.title if incident else None,
                tuple(versions[rumor.id]),
                {v.id: tuple(translations.get(v.id, ())) for v in versions[rumor.id]},
                alert_status_of(rumor),
            )
        )
    entries.sort(key=lambda entry: (entry.current.published_at, entry.rumor.id), reverse=True)
    return entries[:limit] if limit is not None else entries


def rumor_record(session: Session, rumor_id: int) -> dict[str, Any]:
    get_rumor(session, rumor_id)
    [entry] = rumor_entries(session, rumor_ids=[rumor_id])
    return entry.view()
