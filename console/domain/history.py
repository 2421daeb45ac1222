"""What reviewers read: every version of every update, what each changed, where each went.

Public by design, so it carries only public facts: a delivery shows its channel, state,
time and the post's link, never its error text, and an author is a display name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from console.domain import run_posts, wording
from console.domain.alerting import cap_defaults_words
from console.domain.area import area_words
from console.domain.details_translations import current_translations
from console.domain.details_versions import DETAIL_FIELDS, details_of, details_versions
from console.domain.incident_facts import IncidentFacts, facts_of
from console.domain.incidents import get_incident
from console.domain.media import Picture, alts_fit, pictures, with_alts
from console.domain.paging import Page, check_page_number
from console.domain.run_posts import PostLink
from console.domain.translation_drafts import translated_alts
from console.domain.translations import translations_by_version
from console.models import (
    AlertStatus,
    Delivery,
    DeliveryState,
    Incident,
    OutboxEvent,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
)

CORRECTIONS_PER_PAGE = 25
LOGGED_KINDS = (VersionKind.CORRECTION, VersionKind.RETRACTION)


def public_link(url: str | None) -> str | None:
    """A post's address, if it is a web address (never a `javascript:` or file link)."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


@dataclass(frozen=True)
class PublicDelivery:
    channel: str
    state: DeliveryState
    delivered_at: datetime | None  # when it reached the channel (sent deliveries only)
    external_id: str | None
    external_url: str | None
    posts: tuple[PostLink, ...] = ()  # a social delivery's posts: more than one for a run
    # What it delivered: None, the version itself; a language, the version's translation into
    # it, added later (a `translation.added` event, delivered on its own).
    translation: str | None = None

    @classmethod
    def of(
        cls, delivery: Delivery, posts: tuple[PostLink, ...] = (), *, translation: str | None = None
    ) -> PublicDelivery:
        sent = delivery.state is DeliveryState.SENT
        return cls(
            channel=delivery.channel,
            state=delivery.state,
            delivered_at=delivery.completed_at if sent else None,
            external_id=delivery.external_id if sent else None,
            external_url=public_link(delivery.external_url) if sent else None,
            posts=tuple(
                PostLink(post.position, post.external_id, public_link(post.external_url))
                for post in (posts if sent else ())
            ),
            translation=translation,
        )

    def view(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "state": self.state.value,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "external_id": self.external_id,
            "external_url": self.external_url,
            "posts": [post.view() for post in self.posts],
            "translation": self.translation,
        }


@dataclass(frozen=True)
class TranslatedText:
    """A version's headline and body in another language: its newest translation into it."""

    lang: str
    headline: str | None
    body: str
    media_alt: tuple[str, ...] | None = None  # its alt text for the version's images (issue 18)


def translated_texts(translations: Iterable[Translation]) -> tuple[TranslatedText, ...]:
    """One text per language, the newest (translations come oldest first)."""
    newest = {
        each.lang: TranslatedText(each.lang, each.headline, each.body, _alts(translated_alts(each)))
        for each in translations
    }
    return tuple(newest.values())


def _alts(alts: list[str] | None) -> tuple[str, ...] | None:
    return None if alts is None else tuple(alts)


@dataclass(frozen=True)
class VersionEntry(wording.VersionWords):
    seq: int
    number: int
    reason: str | None
    author: str
    published_at: datetime
    content_hash: str
    labels: tuple[str, ...]
    previous: VersionEntry | None
    deliveries: tuple[PublicDelivery, ...] = ()
    signature_kid: str | None = None  # None: published before signing began
    signature_value: str | None = None
    translations: tuple[TranslatedText, ...] = ()  # this version's own, one per language
    alerting: str | None = None  # its CAP fields, instruction and WEA texts as hashed (issue 17)
    images: tuple[Picture, ...] = ()  # issue 18

    @property
    def anchor(self) -> str:
        return wording.version_anchor(self.seq, self.number)

    def translation_in(self, lang: str | None) -> TranslatedText | None:
        return next((each for each in self.translations if each.lang == lang), None)

    def images_in(self, lang: str | None, primary_lang: str) -> tuple[tuple[Picture, ...], str | None]:
        """The images as a reader of `lang` sees them, as the live page shows them
        (`with_alts`): with the alt text of this version's translation into `lang` when it
        gives one; and the language their alt text is in, when it is not the page's."""
        translation = self.translation_in(lang) if lang != primary_lang else None
        alts = translation.media_alt if translation is not None else None
        if translation is not None and alts_fit(self.images, alts):
            return with_alts(self.images, alts), translation.lang
        return self.images, primary_lang if lang is not None and lang != primary_lang else None

    @property
    def headline_changed(self) -> bool:
        return self.previous is not None and self.previous.headline != self.headline

    @property
    def body_changed(self) -> bool:
        return self.previous is not None and self.previous.body != self.body

    @property
    def preliminary_changed(self) -> bool:
        return self.previous is not None and self.previous.preliminary != self.preliminary


def version_entry(
    version: UpdateVersion,
    seq: int,
    alert_status: AlertStatus,
    previous: VersionEntry | None,
    deliveries: tuple[PublicDelivery, ...] = (),
    translations: tuple[TranslatedText, ...] = (),
    first_kind: VersionKind = VersionKind.ORIGINAL,
) -> VersionEntry:
    """`first_kind`: the kind of the update's first version (see `wording.labels`)."""
    return VersionEntry(
        **wording.words_of(version),
        seq=seq,
        number=version.version,
        reason=version.reason,
        author=version.author_name,
        published_at=version.published_at,
        content_hash=version.content_hash,
        labels=tuple(wording.labels(version.kind, version.preliminary, alert_status, first_kind=first_kind)),
        previous=previous,
        deliveries=deliveries,
        signature_kid=version.signature_kid,
        signature_value=version.signature_value,
        translations=translations,
        alerting=version.alerting,
        images=pictures(version.media),
    )


@dataclass(frozen=True)
class UpdateHistory:
    update_id: int
    seq: int
    versions: tuple[VersionEntry, ...]

    @property
    def anchor(self) -> str:
        return f"update-{self.seq}"

    @property
    def current(self) -> VersionEntry:
        return self.versions[-1]


DETAIL_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "location": "Location",
    "category": "Category",
    "alert_status": "Alert status",
    "area": "Mapped area",
    "cap_defaults": "CAP defaults",
}


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class DetailsChange:
    """One version of an incident's details and what it changed from the one before."""

    number: int
    reason: str | None
    author: str
    published_at: datetime
    changes: tuple[FieldChange, ...]

    @property
    def anchor(self) -> str:
        return f"details-v{self.number}"


def details_changes(session: Session, incident_id: int) -> tuple[DetailsChange, ...]:
    rows = details_versions(session, incident_id)
    entries = []
    for index, row in enumerate(rows):
        after = details_of(row)
        before = details_of(rows[index - 1]) if index else after
        changes = tuple(
            FieldChange(DETAIL_LABELS[name], before[name], after[name])
            for name in DETAIL_FIELDS
            if before[name] != after[name]
        )
        if index and rows[index - 1].area != row.area:
            changes += (
                FieldChange(DETAIL_LABELS["area"], area_words(rows[index - 1].area), area_words(row.area)),
            )
        if index and rows[index - 1].cap_defaults != row.cap_defaults:
            before_words, after_words = (cap_defaults_words(r.cap_defaults) for r in (rows[index - 1], row))
            changes += (FieldChange(DETAIL_LABELS["cap_defaults"], before_words, after_words),)
        entries.append(DetailsChange(row.version, row.reason, row.author_name, row.published_at, changes))
    return tuple(entries)


@dataclass(frozen=True)
class DetailsText:
    title: str
    summary: str
    location: str


@dataclass(frozen=True)
class IncidentHistory(IncidentFacts):
    updates: tuple[UpdateHistory, ...]  # in order: update 1 first
    # Every version of the incident's details, version 1 first (issue 13.5).
    details: tuple[DetailsChange, ...] = ()
    # Per language, the current translation of the title, summary and location (issue 13.2).
    details_translations: dict[str, DetailsText] = field(default_factory=dict)

    def details_in(self, lang: str | None) -> DetailsText | None:
        """The title, summary and location a reader of `lang` gets translated; None: the primary ones."""
        return self.details_translations.get(lang) if lang else None

    @property
    def details_changes(self) -> tuple[DetailsChange, ...]:
        """The versions after the first: each a change with a reason."""
        return self.details[1:]

    @property
    def version_count(self) -> int:
        return sum(len(update.versions) for update in self.updates)


def deliveries_by_version(session: Session, incident_ids: list[int]) -> dict[int, tuple[PublicDelivery, ...]]:
    """Public delivery records of every version of these incidents, by version row id: the
    version's own first, then those of each translation of it added later (its `translation.added`
    event's, each saying the language), in the order they were added; each group by channel."""
    found: dict[int, list[PublicDelivery]] = defaultdict(list)
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Delivery, OutboxEvent.version_id, Translation.lang)
        .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
        .outerjoin(Translation, Translation.event_id == OutboxEvent.id)
        .where(OutboxEvent.incident_id.in_(incident_ids), OutboxEvent.version_id.is_not(None))
        .order_by(
            case((Translation.id.is_(None), 0), else_=1),
            OutboxEvent.occurred_at,
            OutboxEvent.id,
            Delivery.channel,
            Delivery.id,
        )
    )
    found_rows = list(rows)
    posts = run_posts.by_delivery(session, (delivery.id for delivery, _, _ in found_rows))
    for delivery, version_id, lang in found_rows:
        if version_id is not None:
            found[version_id].append(
                PublicDelivery.of(delivery, posts.get(delivery.id, ()), translation=lang)
            )
    return {version_id: tuple(items) for version_id, items in found.items()}


def incident_history(session: Session, slug: str) -> IncidentHistory:
    incident = get_incident(session, slug)
    deliveries = deliveries_by_version(session, [incident.id])
    rows = session.execute(
        select(UpdateVersion, Update.seq)
        .join(Update, UpdateVersion.update_id == Update.id)
        .where(Update.incident_id == incident.id)
        .order_by(Update.seq, UpdateVersion.version)
    )
    found = list(rows)
    translations = translations_by_version(session, {version.update_id for version, _ in found})
    grouped: dict[tuple[int, int], list[VersionEntry]] = defaultdict(list)
    for version, seq in found:
        versions = grouped[(seq, version.update_id)]
        previous = versions[-1] if versions else None
        versions.append(
            version_entry(
                version,
                seq,
                incident.alert_status,
                previous,
                deliveries.get(version.id, ()),
                translated_texts(translations.get(version.id, ())),
                first_kind=versions[0].kind if versions else version.kind,
            )
        )
    return IncidentHistory(
        **facts_of(incident),
        updates=tuple(
            UpdateHistory(update_id, seq, tuple(versions)) for (seq, update_id), versions in grouped.items()
        ),
        details=details_changes(session, incident.id),
        details_translations={
            lang: DetailsText(row.title, row.summary, row.location)
            for lang, row in current_translations(session, incident).items()
        },
    )


@dataclass(frozen=True)
class CorrectionEntry:
    incident_slug: str
    incident_title: str
    version: VersionEntry  # with `previous`: what it corrected


CorrectionsPage = Page[CorrectionEntry]


def corrections_page(session: Session, *, page: int, per_page: int = CORRECTIONS_PER_PAGE) -> CorrectionsPage:
    """Every correction and retraction across incidents, newest first, with what it replaced."""
    check_page_number(page)
    logged = UpdateVersion.kind.in_(LOGGED_KINDS)
    total = session.scalar(select(func.count()).select_from(UpdateVersion).where(logged)) or 0
    before, first = aliased(UpdateVersion), aliased(UpdateVersion)
    rows = session.execute(
        select(
            UpdateVersion,
            before,
            first.kind,
            Update.seq,
            Incident.slug,
            Incident.title,
            Incident.alert_status,
        )
        .join(Update, UpdateVersion.update_id == Update.id)
        .join(Incident, Update.incident_id == Incident.id)
        .join(
            before,
            (before.update_id == UpdateVersion.update_id) & (before.version == UpdateVersion.version - 1),
        )
        .join(first, (first.update_id == UpdateVersion.update_id) & (first.version == 1))
        .where(logged)
        .order_by(UpdateVersion.published_at.desc(), UpdateVersion.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    found = list(rows)
    translations = translations_by_version(session, {row[0].update_id for row in found})

    def entry(
        version: UpdateVersion,
        previous: UpdateVersion,
        first_kind: VersionKind,
        seq: int,
        alert_status: AlertStatus,
    ) -> VersionEntry:
        before = version_entry(
            previous,
            seq,
            alert_status,
            None,
            translations=translated_texts(translations.get(previous.id, ())),
            first_kind=first_kind,
        )
        return version_entry(
            version,
            seq,
            alert_status,
            before,
            translations=translated_texts(translations.get(version.id, ())),
            first_kind=first_kind,
        )

    entries = [
        CorrectionEntry(slug, title, entry(version, previous, first_kind, seq, alert_status))
        for version, previous, first_kind, seq, slug, title, alert_status in found
    ]
    return CorrectionsPage(entries, total, page, per_page)
