"""Translations as typed: checking them, and writing one with its audit event.

Used both when a version is published with its translations (one transaction) and when a
translation is added later (`console.domain.translations.add_translation`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.actors import Actor
from console.domain.alerting import (
    NOT_TRANSLATED,
    TranslatedAlerting,
    stored_translated,
    translated_text,
    translated_view,
)
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.errors import InvalidInput
from console.domain.media import clean_alt
from console.domain.signing import seal
from console.domain.text import BODY_MAX, HEADLINE_MAX, clean
from console.languages import Languages
from console.models import Translation, UpdateVersion


@dataclass(frozen=True)
class TranslationDraft:
    """What a translator typed for one language."""

    lang: str
    body: str
    headline: str | None = None
    # The translated instruction and (Spanish) WEA texts (issue 17), checked by the caller
    # (console.domain.alerting.check_translated).
    alerting: TranslatedAlerting = NOT_TRANSLATED
    media_alt: tuple[str, ...] | None = None  # the alt text of the version's images, in order


@dataclass(frozen=True)
class CheckedDraft:
    lang: str
    headline: str | None
    body: str
    alerting: TranslatedAlerting = NOT_TRANSLATED
    media_alt: tuple[str, ...] | None = None


def check_draft(
    draft: TranslationDraft, languages: Languages, errors: dict[str, str], *, prefix: str = ""
) -> CheckedDraft | None:
    """Validate one translation; problems go into `errors` under `{prefix}lang`, `…headline`, `…body`."""
    before = len(errors)
    lang = languages.translation_language(draft.lang, errors, f"{prefix}lang")
    headline = clean(
        draft.headline, max_chars=HEADLINE_MAX, required=False, errors=errors, field=f"{prefix}headline"
    )
    body = clean(draft.body, max_chars=BODY_MAX, required=True, errors=errors, field=f"{prefix}body")
    media_alt = None
    if draft.media_alt is not None:
        media_alt = tuple(
            clean_alt(alt, errors=errors, field=f"{prefix}media_alt[{index}]") or ""
            for index, alt in enumerate(draft.media_alt)
        )
    if len(errors) > before or lang is None or body is None:
        return None
    return CheckedDraft(lang, headline, body, alerting=draft.alerting, media_alt=media_alt)


def check_drafts(
    drafts: Sequence[TranslationDraft], languages: Languages, errors: dict[str, str]
) -> list[CheckedDraft]:
    """Validate the translations sent with a version; problems go into `errors` as
    `translations[i].lang` and so on. One translation per language."""
    checked: list[CheckedDraft] = []
    for index, draft in enumerate(drafts):
        prefix = f"translations[{index}]."
        one = check_draft(draft, languages, errors, prefix=prefix)
        if one is not None and any(earlier.lang == one.lang for earlier in checked):
            errors[f"{prefix}lang"] = f"{one.lang} is given twice; send one translation per language"
        elif one is not None:
            checked.append(one)
    return checked


def translated_alts(translation: Translation) -> list[str] | None:
    """The alt text a translation gives its version's images (None: it gives none)."""
    if translation.media_alt is None:
        return None
    alts = json.loads(translation.media_alt)
    assert isinstance(alts, list)
    return [str(alt) for alt in alts]


def translation_hash(incident_slug: str, seq: int, version: int, translation: Translation) -> str:
    # Hashed only when given (issue 17: the translated instruction and WEA texts; issue 18: the
    # images' alt text): translations written before keep their hash.
    alerting = {"alerting": translation.alerting} if translation.alerting is not None else {}
    alts = translated_alts(translation)
    return sha256_hex(
        canonical_json(
            {
                **alerting,
                **({"media_alt": alts} if alts is not None else {}),
                "incident": incident_slug,
                "seq": seq,
                "version": version,
                "lang": translation.lang,
                "headline": translation.headline,
                "body": translation.body,
                "author": translation.author_name,
                "created_at": iso(translation.created_at),
            }
        )
    )


def new_translation(
    session: Session, actor: Actor, version: UpdateVersion, draft: CheckedDraft, *, now: datetime
) -> Translation:
    """A translation of `version`, hashed and signed, not yet added to the session."""
    if draft.media_alt is not None and len(draft.media_alt) != len(version.media):
        raise InvalidInput(
            {
                f"translations.{draft.lang}.media_alt": f"gives {len(draft.media_alt)} alt texts; "
                f"version {version.version} has {len(version.media)} images: one for each, in order"
            }
        )
    update = version.update
    translation = Translation(
        version=version,
        update_id=update.id,
        lang=draft.lang,
        headline=draft.headline,
        body=draft.body,
        **actor.authorship,
        created_at=now,
        alerting=translated_text(draft.alerting),
        media_alt=None if draft.media_alt is None else json.dumps(list(draft.media_alt), ensure_ascii=False),
    )
    seal(
        session, translation, translation_hash(update.incident.slug, update.seq, version.version, translation)
    )
    return translation


def record_translation(session: Session, actor: Actor, translation: Translation, *, now: datetime) -> None:
    """Write `translation` (rows are immutable: everything about it must be set by now) and its
    audit event."""
    session.add(translation)
    session.flush()
    version = translation.version
    update = version.update
    draft_alerting = stored_translated(translation.alerting)
    audit.record(
        session,
        actor,
        "translation.added",
        f"update {update.id} version {version.version} in {translation.lang}",
        incident_id=update.incident_id,
        now=now,
        data={
            "update_id": update.id,
            "seq": update.seq,
            "version": version.version,
            "lang": translation.lang,
            "translation_id": translation.id,
            "content_hash": translation.content_hash,
            **({"alerting": translated_view(draft_alerting)} if not draft_alerting.empty else {}),
        },
    )


def write_translation(
    session: Session, actor: Actor, version: UpdateVersion, draft: CheckedDraft, *, now: datetime
) -> Translation:
    """Store a translation published with its version (whose own event announces it)."""
    translation = new_translation(session, actor, version, draft, now=now)
    record_translation(session, actor, translation, now=now)
    return translation
