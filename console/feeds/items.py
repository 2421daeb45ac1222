"""What the feeds carry, read from the database: one item per published version."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, aliased

from console.domain import rumors, wording
from console.domain.alerting import (
    NOTHING,
    Alerting,
    TranslatedAlerting,
    cap_defaults_words,
    is_spanish,
    stored_alerting,
    stored_translated,
)
from console.domain.area import area_words, georss_circle, georss_polygon, stored_area
from console.domain.details_translations import shown_details, source_text
from console.domain.details_versions import DETAIL_FIELDS, details_of, details_version
from console.domain.errors import NotFound
from console.domain.incidents import get_incident
from console.domain.pins import current_pin
from console.domain.translation_drafts import translated_alts
from console.domain.translations import TranslationStatus, says_withdrawn_text
from console.domain.versions import newest_first, versions_with_incident
from console.domain.wording import VersionWords
from console.media import store
from console.models import (
    AlertStatus,
    Incident,
    IncidentDetailsTranslation,
    IncidentDetailsVersion,
    Rumor,
    RumorTranslation,
    RumorVersion,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
)

# Characters XML 1.0 cannot carry at all (the text rules already refuse most control
# characters, but not e.g. U+FFFE): shown as U+FFFD rather than failing every feed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


@dataclass(frozen=True)
class IncidentInfo:
    slug: str
    title: str
    summary: str
    location: str
    category: str
    alert_status: AlertStatus
    created_at: datetime
    # The mapped area's polygons and circles (issue 17), as GeoRSS Simple writes them
    georss_polygons: tuple[str, ...] = ()
    georss_circles: tuple[str, ...] = ()
    # The details version it states (`DetailsHistory`); 0: the incident as it reads now
    details_version: int = 0

    @property
    def has_shapes(self) -> bool:
        return bool(self.georss_polygons or self.georss_circles)

    @classmethod
    def of(cls, incident: Incident, details: IncidentDetailsVersion | None = None) -> IncidentInfo:
        """`incident` as it reads now, or as `details` (one of its versions) states it."""
        said = details or incident
        area = stored_area(said.area)
        return cls(
            incident.slug,
            xml_safe(said.title),
            xml_safe(said.summary),
            xml_safe(said.location),
            said.category,
            said.alert_status,
            incident.created_at,
            tuple(georss_polygon(ring) for ring in area["polygons"]) if area else (),
            tuple(georss_circle(circle) for circle in area["circles"]) if area else (),
            details.version if details is not None else 0,
        )

    def translated(self, translation: IncidentDetailsTranslation | None) -> IncidentInfo:
        """As read in the translation's language (issue 13.2); itself when there is none."""
        if translation is None:
            return self
        return replace(
            self,
            title=xml_safe(translation.title),
            summary=xml_safe(translation.summary),
            location=xml_safe(translation.location),
        )


def incident_info(session: Session, incident: Incident, lang: str | None) -> IncidentInfo:
    """The incident as a feed in `lang` names it now (None: the primary language): the feed's
    own title and subtitle, not what its entries say of it (`DetailsHistory`)."""
    info = IncidentInfo.of(incident)
    return info.translated(shown_details(session, [incident], lang).get(incident.id) if lang else None)


@dataclass(frozen=True)
class DetailsHistory:
    """Every version of an incident's details (issues 13 and 17), oldest first. What a feed
    entry or a CAP message says of its incident (title, location, category, alert status,
    mapped area, and their translation) is the version in force when it was published or sent:
    a later change of the details never rewrites what was already read, nor one written late or
    again after its file was lost. The change is an entry of its own (`DetailsItem`)."""

    incident: Incident
    versions: list[IncidentDetailsVersion]

    @classmethod
    def of(cls, session: Session, incident: Incident) -> Self:
        return cls.of_each(session, [incident])[incident.id]

    @classmethod
    def of_each(cls, session: Session, incidents: Collection[Incident]) -> dict[int, Self]:
        """Each incident's, by its id: read in one query."""
        versions: dict[int, list[IncidentDetailsVersion]] = defaultdict(list)
        if incidents:
            rows = session.scalars(
                select(IncidentDetailsVersion)
                .where(IncidentDetailsVersion.incident_id.in_(sorted({i.id for i in incidents})))
                .order_by(IncidentDetailsVersion.incident_id, IncidentDetailsVersion.version)
            )
            for row in rows:
                versions[row.incident_id].append(row)
        return {incident.id: cls(incident, versions[incident.id]) for incident in incidents}

    def in_force(self, moment: datetime) -> IncidentDetailsVersion:
        """The version in force at `moment`."""
        in_force = [version for version in self.versions if version.published_at <= moment]
        # the first version is the incident as created, which nothing published precedes
        return in_force[-1] if in_force else self.versions[0]

    def stating(self, info: IncidentInfo) -> IncidentDetailsVersion:
        """The version `info` states (the newest when it is the incident as it reads now)."""
        if info.details_version:
            return next(v for v in self.versions if v.version == info.details_version)
        return self.versions[-1]


def details_translations(
    session: Session, incident_ids: Collection[int], lang: str
) -> dict[int, list[IncidentDetailsTranslation]]:
    """Every details translation into `lang` of each incident, oldest first."""
    found: dict[int, list[IncidentDetailsTranslation]] = defaultdict(list)
    if incident_ids:
        for row in session.scalars(
            select(IncidentDetailsTranslation)
            .where(
                IncidentDetailsTranslation.incident_id.in_(sorted(incident_ids)),
                IncidentDetailsTranslation.lang == lang,
            )
            .order_by(IncidentDetailsTranslation.id)
        ):
            found[row.incident_id].append(row)
    return found


def translation_of(
    details: IncidentDetailsVersion, translations: Sequence[IncidentDetailsTranslation]
) -> IncidentDetailsTranslation | None:
    """The translation readers of its language got of `details` (`translations`: every one into
    that language, oldest first): the newest made by the time a later version replaced it, if it
    translates its very title, summary and location. For the current version, what
    `shown_details` gives."""
    made = [row for row in translations if row.version.version <= details.version]
    if made and source_text(made[-1].version) == source_text(details):
        return made[-1]
    return None


@dataclass(frozen=True)
class FeedImage:
    """An image of a version as feeds carry it: an enclosure, a CAP <resource> (issue 18)."""

    path: str  # on PUBLIC_URL: /media/<sha256>.<ext>
    content_type: str
    size: int
    sha1: str  # CAP 1.2's <digest> is SHA-1 (FIPS 180-2)
    alt: str
    width: int
    height: int


def feed_images(version: UpdateVersion) -> tuple[FeedImage, ...]:
    return tuple(
        FeedImage(
            store.url_path(item.media.sha256, item.media.extension),
            item.media.content_type,
            item.media.size_bytes,
            item.media.sha1,
            xml_safe(item.alt),
            item.media.width,
            item.media.height,
        )
        for item in version.media
    )


@dataclass(frozen=True)
class FeedItem(VersionWords):
    """One published version of an update, with what the feeds need of its incident."""

    incident: IncidentInfo
    seq: int
    version: int
    reason: str | None
    author: str
    published_at: datetime
    update_id: int = 0
    # The feed language's view of this version (see `in_language`); None: the primary text as is.
    text_lang: str | None = None
    translation: TranslationStatus | None = None
    translated_at: datetime | None = None
    # Its CAP fields, instruction and WEA texts (issue 17); in a translation's language, the
    # translated instruction (the primary one when it has none) and only Spanish WEA texts.
    alerting: Alerting = NOTHING
    instruction_in_primary: bool = False  # a translation's: it gave none, so the primary's is shown
    images: tuple[FeedImage, ...] = ()
    # What the update is: the kind of its first version (an all-clear stays one when corrected).
    first_kind: VersionKind = VersionKind.ORIGINAL

    @property
    def is_fallback(self) -> bool:
        """Shown in the primary language because the translation is stale or missing."""
        return self.translation is not None and self.translation is not TranslationStatus.CURRENT

    @property
    def updated(self) -> datetime:
        """When the entry last changed: a translation added later changes it."""
        return self.translated_at or self.published_at

    @property
    def badges(self) -> list[str]:
        """What the update is now, as its card's badges say it (`wording.standing_labels`)."""
        return wording.standing_labels(
            self.kind, self.preliminary, self.incident.alert_status, first_kind=self.first_kind
        )


def _items(session: Session, query: Select[UpdateVersion, int, Incident]) -> list[FeedItem]:
    """Each version with its incident as it was when the version was published (`DetailsHistory`)."""
    infos: dict[int, IncidentInfo] = {}  # by details version id
    items = []
    rows = session.execute(query).all()
    firsts = select(UpdateVersion.update_id, UpdateVersion.kind).where(
        UpdateVersion.update_id.in_({version.update_id for version, _, _ in rows}), UpdateVersion.version == 1
    )
    first_kinds = {update_id: kind for update_id, kind in session.execute(firsts)}
    histories = DetailsHistory.of_each(session, {incident.id: incident for _, _, incident in rows}.values())
    for version, seq, incident in rows:
        details = histories[incident.id].in_force(version.published_at)
        info = infos.get(details.id)
        if info is None:
            info = infos[details.id] = IncidentInfo.of(incident, details)
        items.append(
            FeedItem(
                incident=info,
                seq=seq,
                version=version.version,
                kind=version.kind,
                headline=xml_safe(version.headline) if version.headline else None,
                body=xml_safe(version.body),
                preliminary=version.preliminary,
                reason=xml_safe(version.reason) if version.reason else None,
                author=xml_safe(version.author_name),
                published_at=version.published_at,
                update_id=version.update_id,
                alerting=stored_alerting(version.alerting),
                images=feed_images(version),
                first_kind=first_kinds[version.update_id],
            )
        )
    return items


def newest_versions(session: Session, *, limit: int, incident: Incident | None = None) -> list[FeedItem]:
    """The `limit` most recently published versions, of every incident or of one, newest first."""
    query = versions_with_incident()
    if incident is not None:
        query = query.where(Update.incident_id == incident.id)
    return _items(session, newest_first(query, limit))


def current_versions(session: Session, *, limit: int) -> list[FeedItem]:
    """The newest version of each update (what stands now), most recently changed first."""
    later = aliased(UpdateVersion)
    superseded = exists().where(
        later.update_id == UpdateVersion.update_id, later.version > UpdateVersion.version
    )
    return _items(session, newest_first(versions_with_incident().where(~superseded), limit))


def pinned_item(session: Session, incident: Incident) -> FeedItem | None:
    """The update pinned as "What to do now" (issue 13.6), as its newest version reads, of the
    incident as it reads now (it heads the feed, which is not one of its entries); None when
    nothing is pinned, the pinned update is retracted, or the incident is resolved (its
    all-clear comes first then)."""
    pin = current_pin(session, incident.id)
    if incident.resolved_at is not None or pin is None or pin.update_id is None:
        return None
    pinned = version_at(session, pin.update_id)
    return replace(pinned, incident=IncidentInfo.of(incident)) if pinned is not None else None


def version_at(session: Session, update_id: int, at: datetime | None = None) -> FeedItem | None:
    """The update's newest version (published at or before `at`, when given); None when it is
    a retraction, or there is none."""
    query = versions_with_incident().where(UpdateVersion.update_id == update_id)
    if at is not None:
        query = query.where(UpdateVersion.published_at <= at)
    found = _items(session, query.order_by(UpdateVersion.version.desc()).limit(1))
    return found[0] if found and found[0].kind is not VersionKind.RETRACTION else None


def version_history(session: Session, slug: str, seq: int, version: int) -> list[FeedItem]:
    """Versions 1 to `version` of update `seq` of incident `slug`, oldest first."""
    incident = get_incident(session, slug)
    items = _items(
        session,
        versions_with_incident()
        .where(Update.incident_id == incident.id, Update.seq == seq, UpdateVersion.version <= version)
        .order_by(UpdateVersion.version),
    )
    if not items or items[-1].version != version:
        raise NotFound(f"this incident has no update {seq} version {version}")
    return items


def all_histories(session: Session, incident: Incident) -> Iterator[list[FeedItem]]:
    """Every update of `incident` as its versions, oldest first (for a full rebuild)."""
    by_update: dict[int, list[FeedItem]] = defaultdict(list)
    for item in _items(
        session,
        versions_with_incident()
        .where(Update.incident_id == incident.id)
        .order_by(Update.seq, UpdateVersion.version),
    ):
        by_update[item.seq].append(item)
    yield from by_update.values()


@dataclass(frozen=True)
class DetailsItem:
    """A correction of an incident's details (details version 2 and later, issue 13.5): the
    feeds carry it as a `CORRECTION: incident details` entry."""

    incident: IncidentInfo
    version: int
    reason: str
    author: str
    published_at: datetime
    changes: tuple[tuple[str, str, str], ...]  # (field, before, after)


def details_items(session: Session, *, limit: int, incident: Incident | None = None) -> list[DetailsItem]:
    """The newest details corrections, newest first (one incident's, or every incident's)."""
    query = (
        select(IncidentDetailsVersion, Incident)
        .join(Incident, IncidentDetailsVersion.incident_id == Incident.id)
        .where(IncidentDetailsVersion.version > 1)
        .order_by(IncidentDetailsVersion.published_at.desc(), IncidentDetailsVersion.id.desc())
        .limit(limit)
    )
    if incident is not None:
        query = query.where(IncidentDetailsVersion.incident_id == incident.id)
    found = []
    for row, owner in session.execute(query).all():
        previous = details_version(session, row.incident_id, row.version - 1).one()
        before, after = details_of(previous), details_of(row)
        changes = tuple(
            (name, xml_safe(before[name]), xml_safe(after[name]))
            for name in DETAIL_FIELDS
            if before[name] != after[name]
        )
        if previous.area != row.area:
            changes += (("area", xml_safe(area_words(previous.area)), xml_safe(area_words(row.area))),)
        if previous.cap_defaults != row.cap_defaults:
            was, now = (xml_safe(cap_defaults_words(r.cap_defaults)) for r in (previous, row))
            changes += (("cap_defaults", was, now),)
        found.append(
            DetailsItem(
                IncidentInfo.of(owner, row),  # as this version made it
                row.version,
                xml_safe(row.reason or ""),
                xml_safe(row.author_name),
                row.published_at,
                changes,
            )
        )
    return found


@dataclass(frozen=True)
class RumorItem:
    """One version of a rumor response (issue 19): the feeds carry each as a `RUMOR CONTROL:`
    entry, the verdict first and the claim quoted, like each version of an update."""

    rumor_id: int
    incident: IncidentInfo | None  # None: agency-wide
    version: int
    labels: list[str]  # before `RUMOR CONTROL:` (`rumors.labels`): CORRECTION, EXERCISE…
    verdict: str  # a Verdict value
    claim: str
    facts: str
    reason: str | None
    author: str
    published_at: datetime
    translations: dict[str, tuple[str, str]]  # lang -> (claim, facts) of this very version

    def text_in(self, lang: str) -> tuple[str, str, str | None]:
        """(claim, facts, the language they are in, or None for the primary one) for `lang`."""
        if lang in self.translations:
            claim, facts = self.translations[lang]
            return claim, facts, lang
        return self.claim, self.facts, None


def rumor_items(session: Session, *, limit: int, incident: Incident | None = None) -> list[RumorItem]:
    """The newest rumor response versions, newest first (every one, or one incident's)."""
    query = (
        select(RumorVersion, Rumor)
        .join(Rumor, RumorVersion.rumor_id == Rumor.id)
        .order_by(RumorVersion.published_at.desc(), RumorVersion.id.desc())
        .limit(limit)
    )
    if incident is not None:
        query = query.where(Rumor.incident_id == incident.id)
    rows = session.execute(query).all()
    histories = DetailsHistory.of_each(
        session, {rumor.incident.id: rumor.incident for _, rumor in rows if rumor.incident}.values()
    )
    translations: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    for translation in session.scalars(
        select(RumorTranslation)
        .where(RumorTranslation.rumor_version_id.in_([version.id for version, _ in rows]))
        .order_by(RumorTranslation.id)
    ):
        translations[translation.rumor_version_id][translation.lang] = (
            xml_safe(translation.claim),
            xml_safe(translation.facts),
        )
    found = []
    for version, rumor in rows:
        # its incident as it was when the version was published (`DetailsHistory`)
        info = None
        if rumor.incident is not None:
            details = histories[rumor.incident.id].in_force(version.published_at)
            info = IncidentInfo.of(rumor.incident, details)
        found.append(
            RumorItem(
                rumor_id=rumor.id,
                incident=info,
                version=version.version,
                labels=rumors.labels(version.kind, info.alert_status if info else AlertStatus.ACTUAL),
                verdict=version.verdict.value,
                claim=xml_safe(version.claim),
                facts=xml_safe(version.facts),
                reason=xml_safe(version.reason) if version.reason else None,
                author=xml_safe(version.author_name),
                published_at=version.published_at,
                translations=translations.get(version.id, {}),
            )
        )
    return found


def earlier_messages(session: Session, item: FeedItem) -> list[FeedItem]:
    """Every version of the incident's other updates published up to `item`, oldest first:
    what an all-clear's CAP message references (issue 13.4)."""
    incident = get_incident(session, item.incident.slug)
    return [
        earlier
        for earlier in _items(
            session,
            versions_with_incident()
            .where(Update.incident_id == incident.id, Update.seq != item.seq)
            .where(UpdateVersion.published_at <= item.published_at)
            .order_by(UpdateVersion.published_at, UpdateVersion.id),
        )
    ]


def incident_slugs(session: Session) -> list[str]:
    return list(session.scalars(select(Incident.slug).order_by(Incident.id)))


def in_language(session: Session, found: list[FeedItem], lang: str, primary: str) -> list[FeedItem]:
    """`found` as read in `lang`: each version with its own translation into `lang` (the newest
    one sent for that very version), else with the primary text marked STALE (an earlier
    version was translated: the translation is being updated) or MISSING. A translation of an
    earlier version is never shown as the text of a later one."""
    if lang == primary or not found:
        return found
    # update id -> [(version, translation id, translation)]
    by_update: dict[int, list[tuple[int, int, Translation]]] = defaultdict(list)
    rows = session.execute(
        select(Translation, UpdateVersion.version)
        .join(UpdateVersion, Translation.version_id == UpdateVersion.id)
        .where(
            Translation.update_id.in_(sorted({item.update_id for item in found})), Translation.lang == lang
        )
    )
    for translation, version in rows:
        by_update[translation.update_id].append((version, translation.id, translation))
    localized = []
    for item in found:
        earlier = [row for row in by_update.get(item.update_id, []) if row[0] <= item.version]
        if not earlier:
            localized.append(replace(item, translation=TranslationStatus.MISSING))
            continue
        version, _, translation = max(earlier, key=lambda row: (row[0], row[1]))
        if version < item.version and not says_withdrawn_text(item.kind, item.version, version):
            localized.append(replace(item, translation=TranslationStatus.STALE))
            continue
        localized.append(translated(item, translation))
    # The incidents' title and location as read in `lang` too, where translated: each as the
    # details version the item states was translated (`translation_of`).
    incidents = list(
        session.scalars(select(Incident).where(Incident.slug.in_({i.incident.slug for i in found})))
    )
    histories = {
        history.incident.slug: history for history in DetailsHistory.of_each(session, incidents).values()
    }
    details_in_lang = details_translations(session, [incident.id for incident in incidents], lang)
    in_lang = []
    for item in localized:
        history = histories[item.incident.slug]
        stated = history.stating(item.incident)
        shown = translation_of(stated, details_in_lang.get(history.incident.id, []))
        in_lang.append(replace(item, incident=item.incident.translated(shown)))
    return in_lang


def translated(item: FeedItem, translation: Translation) -> FeedItem:
    """`item` read in the language of `translation`, one of its own version's translations."""
    alts = translated_alts(translation)
    own = stored_translated(translation.alerting)
    images = item.images
    if alts is not None and len(alts) == len(images):
        images = tuple(replace(image, alt=xml_safe(alt)) for image, alt in zip(images, alts, strict=True))
    return replace(
        item,
        images=images,
        headline=xml_safe(translation.headline) if translation.headline else None,
        body=xml_safe(translation.body),
        text_lang=translation.lang,
        translation=TranslationStatus.CURRENT,
        translated_at=max(translation.created_at, item.published_at),
        alerting=_translated_alerting(item.alerting, own, translation.lang),
        instruction_in_primary=not own.instruction,
    )


def _translated_alerting(alerting: Alerting, words: TranslatedAlerting, lang: str) -> Alerting:
    spanish = is_spanish(lang)
    return replace(
        alerting,
        instruction=words.instruction or alerting.instruction,
        wea_short=words.wea_short if spanish else None,
        wea_long=words.wea_long if spanish else None,
    )
