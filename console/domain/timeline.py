"""What a reader sees of an update right now: its current text and the notices that say how
it got there. One model for the live page, the console's previews and the archive."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import wording
from console.domain.alerting import stored_alerting, stored_translated
from console.domain.media import Picture, alts_fit, pictures, with_alts
from console.domain.translation_drafts import translated_alts
from console.domain.translations import LanguageText, TranslationStatus, texts_for_language
from console.languages import Languages
from console.models import AlertStatus, Incident, Update, UpdateVersion, VersionKind


@dataclass(frozen=True)
class Notice:
    at: datetime
    reason: str
    version: int  # the version that carries it


@dataclass(frozen=True)
class EarlierTranslation:
    """A stale translation, shown folded under the newer primary text (issue 13.2)."""

    lang: str
    headline: str | None
    body: str
    version: int  # the version it describes


@dataclass(frozen=True)
class UpdateCard(wording.VersionWords):
    incident_slug: str
    update_id: int
    seq: int
    version: int
    alert_status: AlertStatus
    published_at: datetime  # when the first version went out
    changed_at: datetime  # when the newest version went out
    corrected: Notice | None  # the newest correction, if any
    confirmed: Notice | None
    retracted: Notice | None
    # Language (issue 8): what language `headline` and `body` are in (None: not said, the
    # primary), and for a reader of another language why they get the primary text (stale,
    # missing) or that they get a current translation.
    text_lang: str | None = None
    translation: TranslationStatus | None = None
    earlier_translation: EarlierTranslation | None = None
    first_kind: VersionKind = VersionKind.ORIGINAL  # RESOLUTION: the incident's all-clear (issue 13.4)
    # What people should do (issue 17), shown first; `instruction_lang`: its language when it
    # is a translation's (None: the primary language).
    instruction: str | None = None
    instruction_lang: str | None = None
    images: tuple[Picture, ...] = ()  # the current version's (issue 18)
    images_lang: str | None = None  # the language of their alt text when a translation's

    @property
    def is_all_clear(self) -> bool:
        return self.first_kind is VersionKind.RESOLUTION and self.retracted is None

    @property
    def translation_pending(self) -> bool:
        """A reader of another language is shown the primary text: stale or missing translation."""
        return self.translation in (TranslationStatus.STALE, TranslationStatus.MISSING)

    @property
    def anchor(self) -> str:
        return f"update-{self.seq}"

    @property
    def corrected_anchor(self) -> str | None:
        """Where "What changed" lands on the history page: the newest correction's version."""
        return None if self.corrected is None else wording.version_anchor(self.seq, self.corrected.version)

    @property
    def labels(self) -> list[str]:
        return wording.labels(self.kind, self.preliminary, self.alert_status, first_kind=self.first_kind)

    @property
    def badges(self) -> list[str]:
        return wording.standing_labels(
            self.kind, self.preliminary, self.alert_status, first_kind=self.first_kind
        )


def _latest(versions: Sequence[UpdateVersion], kind: VersionKind) -> Notice | None:
    for version in reversed(versions):
        if version.kind is kind:
            return Notice(version.published_at, version.reason or "", version.version)
    return None


def card(
    incident_slug: str, alert_status: AlertStatus, update_id: int, seq: int, versions: Sequence[UpdateVersion]
) -> UpdateCard:
    """The card for an update from its versions (oldest first)."""
    current = versions[-1]
    return UpdateCard(
        incident_slug=incident_slug,
        update_id=update_id,
        seq=seq,
        version=current.version,
        **wording.words_of(current),
        alert_status=alert_status,
        published_at=versions[0].published_at,
        changed_at=current.published_at,
        corrected=_latest(versions, VersionKind.CORRECTION),
        # A correction may mark a confirmed update PRELIMINARY again: then it is not confirmed.
        confirmed=None if current.preliminary else _latest(versions, VersionKind.CONFIRMATION),
        retracted=_latest(versions, VersionKind.RETRACTION),
        first_kind=versions[0].kind,
        instruction=stored_alerting(current.alerting).instruction,
        images=pictures(current.media),
    )


def in_language(card: UpdateCard, text: LanguageText) -> UpdateCard:
    """`card` with the text a reader of `text.requested` is shown."""
    earlier = text.earlier
    translated = (
        None if text.translation is None else stored_translated(text.translation.alerting).instruction
    )
    alts = translated_alts(text.translation) if text.translation is not None else None
    return replace(
        card,
        instruction=translated or card.instruction,
        instruction_lang=text.lang if translated else None,
        headline=text.headline,
        body=text.body,
        images=with_alts(card.images, alts),
        images_lang=text.lang if alts_fit(card.images, alts) else None,
        text_lang=text.lang,
        translation=text.status,
        earlier_translation=(
            EarlierTranslation(earlier.lang, earlier.headline, earlier.body, earlier.version.version)
            if earlier is not None
            else None
        ),
    )


def incident_cards(
    session: Session,
    incident: Incident,
    *,
    update_id: int | None = None,
    lang: str | None = None,
    languages: Languages | None = None,
) -> list[UpdateCard]:
    """Cards for an incident's updates (or just one), newest update first; in `lang` (one of
    `languages`) when given: its current translation, else the primary text saying why."""
    query = (
        select(UpdateVersion, Update.seq)
        .join(Update, UpdateVersion.update_id == Update.id)
        .where(Update.incident_id == incident.id)
        .order_by(Update.seq.desc(), UpdateVersion.version)
    )
    if update_id is not None:
        query = query.where(Update.id == update_id)
    grouped: dict[tuple[int, int], list[UpdateVersion]] = defaultdict(list)
    for version, seq in session.execute(query):
        grouped[(seq, version.update_id)].append(version)
    cards = [
        card(incident.slug, incident.alert_status, owner_id, seq, versions)
        for (seq, owner_id), versions in grouped.items()
    ]
    if lang is None or languages is None:
        return cards
    current = {owner_id: versions[-1] for (_, owner_id), versions in grouped.items()}
    texts = texts_for_language(session, current, lang, languages)
    return [in_language(each, texts[each.update_id]) for each in cards]
