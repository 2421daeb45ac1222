"""Which CAP messages an update has. A published CAP file never changes, so each change is a
message of its own: one per published version (carrying the translations published with
it), and one more, a *revision* of that version, each time a translation of it is added
later (carrying every translation of the version so far). Oldest first, each message
references every earlier one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain.area import Area, stored_area
from console.domain.incidents import get_incident
from console.feeds import items
from console.feeds.items import (
    FeedItem,
    IncidentInfo,
    earlier_messages,
    translated,
    version_at,
    version_history,
)
from console.feeds.paths import Target, cap_message
from console.models import (
    Incident,
    Pin,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
)

# update id -> [(version number, translation)], in the order the translations were sent
Translations = dict[int, list[tuple[int, Translation]]]


@dataclass(frozen=True)
class CapMessage:
    item: FeedItem  # the version the message states, in the primary language
    revision: int  # 0: the version's own message; n: re-sent with the n-th translation added later
    sent: datetime
    translated: tuple[FeedItem, ...]  # the version in other languages: one <info> each

    @property
    def target(self) -> Target:
        item = self.item
        return cap_message(item.incident.slug, item.seq, item.version, self.revision or None)


def translations_of(session: Session, update_ids: Collection[int]) -> Translations:
    found: Translations = defaultdict(list)
    if not update_ids:
        return found
    rows = session.execute(
        select(Translation, UpdateVersion.version)
        .join(UpdateVersion, Translation.version_id == UpdateVersion.id)
        .where(Translation.update_id.in_(sorted(update_ids)))
        .order_by(Translation.id)
    )
    for translation, version in rows:
        found[translation.update_id].append((version, translation))
    return found


def version_messages(
    item: FeedItem, translations: Sequence[tuple[int, Translation]], languages: Sequence[str]
) -> list[CapMessage]:
    """The messages of one version, oldest first. `languages`: the ones an <info> may be in,
    in the order they are written (LANGUAGES after the primary)."""
    own = [translation for version, translation in translations if version == item.version]
    with_version = [translation for translation in own if translation.event_id is None]
    later = [translation for translation in own if translation.event_id is not None]
    messages = []
    for revision in range(len(later) + 1):
        newest: dict[str, Translation] = {}
        for translation in with_version + later[:revision]:
            newest[translation.lang] = translation  # sent in order: a fix replaces the earlier row
        messages.append(
            CapMessage(
                item,
                revision,
                item.published_at if revision == 0 else later[revision - 1].created_at,
                tuple(translated(item, newest[lang]) for lang in languages if lang in newest),
            )
        )
    return messages


def update_messages(
    session: Session, slug: str, seq: int, version: int, languages: Sequence[str]
) -> list[CapMessage]:
    """Every message of update `seq` of incident `slug` up to the last one of `version`, oldest
    first. Raises NotFound for an unknown incident, update or version."""
    history = version_history(session, slug, seq, version)
    translations = translations_of(session, {history[0].update_id})[history[0].update_id]
    return [message for item in history for message in version_messages(item, translations, languages)]


def other_updates_messages(session: Session, item: FeedItem, languages: Sequence[str]) -> list[CapMessage]:
    """Every message of the incident's other updates sent up to `item`, oldest first: what an
    all-clear's CAP message references (issue 13.4)."""
    others = earlier_messages(session, item)
    translations = translations_of(session, {other.update_id for other in others})
    messages = [
        message
        for other in others
        for message in version_messages(other, translations.get(other.update_id, []), languages)
        if message.sent <= item.published_at
    ]
    return sorted(messages, key=lambda message: message.sent)


@dataclass(frozen=True)
class PinHistory:
    """Every pin of an incident's "What to do now" (issue 13.6), and every resolving and
    reopening, which end and restart it, oldest first: read once for all the messages of one of
    its updates, from published rows, so a message's instruction is what it was when sent."""

    incident: Incident
    pins: list[tuple[datetime, int | None]]  # (pinned at, the update pinned; None: unpinned)
    resolutions: list[tuple[datetime, bool]]  # (published at, resolved: the all-clear; else reopened)

    @classmethod
    def of(cls, session: Session, slug: str) -> PinHistory:
        incident = get_incident(session, slug)
        pins = session.execute(
            select(Pin.pinned_at, Pin.update_id).where(Pin.incident_id == incident.id).order_by(Pin.id)
        )
        resolutions = session.execute(
            select(UpdateVersion.published_at, UpdateVersion.kind)
            .join(Update, Update.id == UpdateVersion.update_id)
            .where(
                Update.incident_id == incident.id,
                UpdateVersion.kind.in_((VersionKind.RESOLUTION, VersionKind.REOPENING)),
            )
            .order_by(UpdateVersion.published_at, UpdateVersion.id)
        )
        return cls(
            incident,
            [(at, update_id) for at, update_id in pins],
            [(at, kind is VersionKind.RESOLUTION) for at, kind in resolutions],
        )

    def pinned_at(self, moment: datetime) -> int | None:
        in_force = [update_id for at, update_id in self.pins if at <= moment]
        return in_force[-1] if in_force else None

    def was_resolved(self, moment: datetime) -> bool:
        in_force = [resolved for at, resolved in self.resolutions if at <= moment]
        return bool(in_force) and in_force[-1]


class DetailsHistory(items.DetailsHistory):
    """Every version of an incident's details (issues 13 and 17), oldest first: a message states
    the incident as it was when sent (title, location, category, status, mapped area), so one
    written late, after a details change, or again after its file was lost, says what it said.
    The feeds' entries read it the same way (`items.DetailsHistory`)."""

    def stated(self, message: CapMessage) -> tuple[CapMessage, Area | None]:
        """`message` with its incident as it was when sent, and the mapped area then."""
        details = self.in_force(message.sent)
        incident = IncidentInfo.of(self.incident, details)
        return (
            replace(
                message,
                item=replace(message.item, incident=incident),
                translated=tuple(replace(item, incident=incident) for item in message.translated),
            ),
            stored_area(details.area),
        )


def instruction(session: Session, message: CapMessage, pins: PinHistory) -> dict[str | None, FeedItem]:
    """What to do now as `message` carries it in its `<instruction>`: the update pinned when it
    was sent, as it read then, by language (None: the primary text), in the languages it was
    translated into by then. Read as of `sent`, so a rebuild writes the same bytes."""
    sent = message.sent
    update_id = pins.pinned_at(sent)
    if update_id is None or pins.was_resolved(sent):
        return {}
    pinned = version_at(session, update_id, sent)
    if pinned is None:
        return {}
    texts: dict[str | None, FeedItem] = {None: pinned}
    for version, translation in translations_of(session, {update_id})[update_id]:
        if version == pinned.version and translation.created_at <= sent:
            texts[translation.lang] = translated(pinned, translation)  # in order: a fix replaces
    return texts
