"""Translations of updates: one version's headline and body in another language.

A translation belongs to one version. It is *current* while that version is the update's
newest; once a correction, confirmation or retraction is published it is *stale*, and
readers in that language get the new primary-language text with a notice instead, never
the stale text presented as current. Nothing here is stored as a status: it is derived
from the rows each time, so it can never disagree with the versions.

A translation may be sent again for the same version and language (a typo fixed): that is
a new row, the earlier one is kept, and the newest is the one shown.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from console.domain import outbox
from console.domain.actors import Actor, require_publisher
from console.domain.alerting import stored_translated, translated_view
from console.domain.errors import InvalidInput, VersionConflict
from console.domain.events import TranslationAdded
from console.domain.signing import signature_view
from console.domain.translation_drafts import (
    TranslationDraft,
    check_draft,
    new_translation,
    record_translation,
    translated_alts,
)
from console.domain.updates import get_update, latest_version, version_view
from console.languages import Languages
from console.models import (
    EventType,
    Incident,
    IncidentStatus,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
    utcnow,
)


class TranslationStatus(enum.StrEnum):
    CURRENT = "current"  # a translation of the update's newest version
    STALE = "stale"  # only translations of earlier versions: being updated
    MISSING = "missing"  # never translated into this language


@dataclass(frozen=True)
class AddedTranslation:
    translation: Translation
    event: TranslationAdded


@dataclass(frozen=True)
class LanguageText:
    """The text of an update to show a reader who asked for `requested`.

    `lang` is the language the text is actually in: the requested one when a current
    translation exists (or it is the primary language), else the primary language, with
    `status` saying why (stale: "Translation being updated"; missing: not translated).
    """

    requested: str
    lang: str
    headline: str | None
    body: str
    status: TranslationStatus | None  # None when the primary language was requested
    translation: Translation | None = None  # the translation shown, when one is
    # Stale: the newest translation, which describes an earlier version (issue 13.2); the
    # reader gets it too, folded and labelled with that version.
    earlier: Translation | None = None

    @property
    def is_fallback(self) -> bool:
        return self.lang != self.requested


def add_translation(
    session: Session,
    actor: Actor,
    update_id: int,
    draft: TranslationDraft,
    *,
    version: int,
    languages: Languages,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> AddedTranslation:
    """Add a translation of `version`, which must be the update's current version.

    Raises InvalidInput (language not in LANGUAGES or primary, text blank or too long, no such
    version), NotFound (no such update) or VersionConflict naming the current version (a newer
    version was published since: translate that one instead).
    """
    require_publisher(actor)
    errors: dict[str, str] = {}
    checked = check_draft(draft, languages, errors)
    update = get_update(session, update_id)
    if errors or checked is None:
        raise InvalidInput(errors)
    current = latest_version(session, update)
    if version != current.version:
        if not 1 <= version <= current.version:
            raise InvalidInput({"version": f"update {update.id} has no version {version}"})
        raise VersionConflict(version, {"update_id": update.id, **version_view(current)})
    shown = shown_translations(session, [update.id]).get(update.id, {}).get(checked.lang)
    if (
        shown is not None
        and shown.version_id == current.id
        and (shown.headline, shown.body, stored_translated(shown.alerting))
        == (checked.headline, checked.body, checked.alerting)
    ):
        raise InvalidInput({"body": f"is the same as the current {checked.lang} translation"})
    now = now or utcnow()
    translation = new_translation(session, actor, current, checked, now=now)
    # The event is written with the translation (which names it), in one flush: rows are immutable.
    event = outbox.emit(
        session,
        routing,
        EventType.TRANSLATION_ADDED,
        update.incident,
        version=current,
        translation=translation,
        now=now,
    )
    record_translation(session, actor, translation, now=now)
    assert isinstance(event, TranslationAdded)
    return AddedTranslation(translation, event)


# --- reading ------------------------------------------------------------------------------


def _order_key(row: tuple[Translation, int]) -> tuple[int, int]:
    translation, version = row
    return version, translation.id


def shown_translations(session: Session, update_ids: Collection[int]) -> dict[int, dict[str, Translation]]:
    """For each update, per language, the translation that counts: the newest one of the
    newest version that has any (whether that version is still current is `status_of`'s call)."""
    if not update_ids:
        return {}
    rows = session.execute(
        select(Translation, UpdateVersion.version)
        .join(Translation.version)
        .options(contains_eager(Translation.version))  # its number labels a stale one
        .where(Translation.update_id.in_(list(update_ids)))
    )
    shown: dict[int, dict[str, Translation]] = defaultdict(dict)
    for translation, _ in sorted(rows, key=_order_key):
        shown[translation.update_id][translation.lang] = translation
    return dict(shown)


def says_withdrawn_text(kind: VersionKind, version: int, translated_version: int) -> bool:
    """Whether a translation of `translated_version` says version `version` (of `kind`) in its
    language beyond its own: a retraction withdraws the text as it stood, the version before
    it, and is never translated anew."""
    return kind is VersionKind.RETRACTION and translated_version == version - 1


def status_of(translation: Translation | None, current: UpdateVersion) -> TranslationStatus:
    if translation is None:
        return TranslationStatus.MISSING
    if translation.version_id == current.id or says_withdrawn_text(
        current.kind, current.version, translation.version.version
    ):
        return TranslationStatus.CURRENT
    return TranslationStatus.STALE


def statuses(
    current: UpdateVersion, shown: Mapping[str, Translation], languages: Languages
) -> dict[str, TranslationStatus]:
    """Per translated language (LANGUAGES order), whether the update reads current in it."""
    return {lang: status_of(shown.get(lang), current) for lang in languages.translated}


def text_for_language(
    current: UpdateVersion, shown: Mapping[str, Translation], lang: str, languages: Languages
) -> LanguageText:
    """What a reader of `lang` is shown of an update whose newest version is `current`."""
    if lang == languages.primary:
        return LanguageText(lang, lang, current.headline, current.body, None)
    translation = shown.get(lang)
    status = status_of(translation, current)
    if status is TranslationStatus.CURRENT and translation is not None:
        return LanguageText(lang, lang, translation.headline, translation.body, status, translation)
    return LanguageText(lang, languages.primary, current.headline, current.body, status, earlier=translation)


def texts_for_language(
    session: Session, current_versions: Mapping[int, UpdateVersion], lang: str, languages: Languages
) -> dict[int, LanguageText]:
    """`text_for_language` for many updates at once (by update id), in one query."""
    shown = shown_translations(session, list(current_versions)) if lang != languages.primary else {}
    return {
        update_id: text_for_language(version, shown.get(update_id, {}), lang, languages)
        for update_id, version in current_versions.items()
    }


def translation_view(translation: Translation, version: int, status: str) -> dict[str, Any]:
    """A translation as the API and the archive show it."""
    return {
        "lang": translation.lang,
        "version": version,
        "headline": translation.headline,
        "body": translation.body,
        **translated_view(stored_translated(translation.alerting)),  # instruction, wea: when given
        "status": status,
        "author": translation.author_name,
        "created_at": translation.created_at.isoformat(),
        **({"media_alt": alts} if (alts := translated_alts(translation)) is not None else {}),
        "content_hash": translation.content_hash,
        "signature": signature_view(translation.signature_kid, translation.signature_value),
    }


def translations_by_version(session: Session, update_ids: Iterable[int]) -> dict[int, list[Translation]]:
    """Every translation of these updates, by version id, oldest first."""
    ids = list(update_ids)
    grouped: dict[int, list[Translation]] = defaultdict(list)
    if ids:
        for translation in session.scalars(
            select(Translation).where(Translation.update_id.in_(ids)).order_by(Translation.id)
        ):
            grouped[translation.version_id].append(translation)
    return grouped


@dataclass(frozen=True)
class TranslationGap:
    """An update that does not read current in every language: for the console to fix."""

    incident_slug: str
    incident_title: str
    update_id: int
    seq: int
    version: int
    headline: str | None
    missing: tuple[str, ...]
    stale: tuple[str, ...]


def translation_gaps(
    session: Session, languages: Languages, *, incident_id: int | None = None
) -> list[TranslationGap]:
    """Updates whose translations are missing or stale, newest first: one incident's, or those
    of every active incident."""
    if not languages.translated:
        return []
    query = (
        select(UpdateVersion, Update, Incident)
        .join(Update, UpdateVersion.update_id == Update.id)
        .join(Incident, Update.incident_id == Incident.id)
        .order_by(Incident.updated_at.desc(), Incident.id, Update.seq.desc(), UpdateVersion.version)
    )
    query = query.where(
        Incident.id == incident_id if incident_id is not None else Incident.status == IncidentStatus.ACTIVE
    )
    current: dict[int, tuple[UpdateVersion, Update, Incident]] = {}
    for version, update, incident in session.execute(query):
        current[update.id] = (version, update, incident)  # versions ascend: the last one is current
    shown = shown_translations(session, list(current))
    gaps = []
    for update_id, (version, update, incident) in current.items():
        per_language = statuses(version, shown.get(update_id, {}), languages)
        missing = tuple(lang for lang, state in per_language.items() if state is TranslationStatus.MISSING)
        stale = tuple(lang for lang, state in per_language.items() if state is TranslationStatus.STALE)
        if missing or stale:
            gaps.append(
                TranslationGap(
                    incident_slug=incident.slug,
                    incident_title=incident.title,
                    update_id=update_id,
                    seq=update.seq,
                    version=version.version,
                    headline=version.headline,
                    missing=missing,
                    stale=stale,
                )
            )
    return gaps
