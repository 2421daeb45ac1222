"""Renders feed files from the database and writes them under FEEDS_DIR.

Used by the `feeds` outbox channel (after each public event), by `console feeds rebuild`
(everything) and by the app for a file that is not there yet. A file whose bytes would not
change is left alone, keeping its modification time and its HTTP validators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.db import Database
from console.domain.errors import NotFound
from console.domain.events import ChannelEvent, RumorPublished, TranslationAdded, VersionPublished
from console.domain.incidents import get_incident
from console.feeds import cap, cap_history, items, syndication
from console.feeds.cap_signing import CapSigner
from console.feeds.paths import (
    CAP_INDEX,
    Kind,
    Target,
    incident_atom,
    incident_rss,
    updates_atom,
    updates_rss,
)
from console.files import create_atomically, write_if_changed
from console.models import Incident, OutboxEvent, VersionKind
from console.settings import Settings

# Readable by a web server running as another user.
FILE_MODE = 0o644


@dataclass
class WriteReport:
    written: list[Target] = field(default_factory=list)
    unchanged: list[Target] = field(default_factory=list)

    def add(self, other: WriteReport) -> None:
        self.written += other.written
        self.unchanged += other.unchanged

    def describe(self) -> str:
        wrote = ", ".join(t.url_path for t in self.written) or "nothing"
        return f"wrote {wrote}; {len(self.unchanged)} unchanged"


class FeedFiles:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = settings.feeds_dir
        self.cap_signer = CapSigner.from_settings(settings)  # None: CAP files are unsigned

    def path_of(self, target: Target) -> Path:
        return target.file_in(self.directory)

    # Rendering. Atom and RSS of one feed come from one query; `render` returns both.

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages whose feeds (/feeds/{lang}/...) each publication writes: every one of
        LANGUAGES when it names several. While it names only the primary language, its
        /feeds/{lang}/ files are made on their first request, like any missing file, and from
        then on (their folder exists) written with every publication like the first feeds:
        a feed a reader subscribed to is never left behind with the entries it had then."""
        languages = self.settings.languages
        if len(languages) > 1:
            return languages
        [primary] = languages
        served = self.path_of(updates_atom(primary)).parent  # FEEDS_DIR/feeds/{primary}
        return (primary,) if served.is_dir() else ()

    def _localized(
        self, session: Session, found: list[items.FeedItem], lang: str | None
    ) -> tuple[list[items.FeedItem], syndication.FeedLanguage | None]:
        if lang is None:
            return found, None
        if lang not in self.settings.languages:
            raise NotFound(
                f"no feeds in {lang!r}: the languages here are {', '.join(self.settings.languages)}"
            )
        localized = items.in_language(session, found, lang, self.settings.primary_language)
        return localized, syndication.feed_language(self.settings, lang)

    def _entries(
        self, session: Session, incident: Incident | None = None
    ) -> tuple[list[items.FeedItem], list[syndication.Extra]]:
        """The FEEDS_MAX_ENTRIES newest entries of the all-updates feeds, or of `incident`'s: the
        versions, the corrections of incident details and the rumor responses together."""
        limit = self.settings.feeds_max_entries
        found = items.newest_versions(session, limit=limit, incident=incident)
        extras: list[syndication.Extra] = [
            *items.details_items(session, limit=limit, incident=incident),
            *items.rumor_items(session, limit=limit, incident=incident),
        ]
        return syndication.newest_entries(found, extras, limit)

    def _updates(self, session: Session, lang: str | None = None) -> dict[Target, bytes]:
        found, extras = self._entries(session)
        found, language = self._localized(session, found, lang)
        spec = syndication.updates_spec(self.settings, found, language)
        atom, rss = syndication.render(self.settings, spec, found, extras)
        return {updates_atom(lang): atom, updates_rss(lang): rss}

    def _incident(self, session: Session, incident: Incident, lang: str | None = None) -> dict[Target, bytes]:
        found, extras = self._entries(session, incident)
        found, language = self._localized(session, found, lang)
        pinned = items.pinned_item(session, incident)
        if pinned is not None:
            [pinned] = self._localized(session, [pinned], lang)[0]
        info = items.incident_info(
            session, incident, lang if lang != self.settings.primary_language else None
        )
        spec = syndication.incident_spec(self.settings, info, found, language, pinned)
        atom, rss = syndication.render(self.settings, spec, found, extras)
        return {incident_atom(incident.slug, lang): atom, incident_rss(incident.slug, lang): rss}

    def _all_languages(
        self, render: Callable[[str | None], dict[Target, bytes]], languages: Iterable[str]
    ) -> dict[Target, bytes]:
        rendered: dict[Target, bytes] = {}
        for lang in (None, *languages):
            rendered |= render(lang)
        return rendered

    # CAP. A published CAP file is never replaced (see `console.feeds.cap_history`).

    @property
    def _cap_languages(self) -> tuple[str, ...]:
        return self.settings.languages[1:]

    def _cap_bytes(
        self,
        session: Session,
        messages: list[cap_history.CapMessage],
        pins: cap_history.PinHistory,
        details: cap_history.DetailsHistory,
    ) -> bytes:
        *earlier, message = messages
        message, area = details.stated(message)
        last = message.item
        others = (
            cap_history.other_updates_messages(session, last, self._cap_languages)
            if last.kind is VersionKind.RESOLUTION
            else []
        )
        instruction = cap_history.instruction(session, message, pins)
        xml = cap.render_message(self.settings, [*earlier, message], others, instruction, area)
        return self.cap_signer.sign(xml) if self.cap_signer is not None else xml

    def _cap_renderings(
        self, session: Session, slug: str, seq: int, version: int
    ) -> list[tuple[Target, Callable[[], bytes]]]:
        """Every message of update `seq` up to version `version`'s last, oldest first, each with
        what renders its file: called only for a file that is wanted."""
        messages = cap_history.update_messages(session, slug, seq, version, self._cap_languages)
        pins = cap_history.PinHistory.of(session, slug)
        details = cap_history.DetailsHistory.of(session, pins.incident)
        return [
            (message.target, partial(self._cap_bytes, session, messages[: count + 1], pins, details))
            for count, message in enumerate(messages)
        ]

    def _cap_files(self, session: Session, slug: str, seq: int, version: int) -> dict[Target, bytes]:
        """Every message of update `seq` up to version `version`'s last, oldest first."""
        return {target: rendered() for target, rendered in self._cap_renderings(session, slug, seq, version)}

    def _new_cap_files(
        self, session: Session, slug: str, seq: int, version: int
    ) -> dict[Target, bytes | None]:
        """As `_cap_files`, but None for each message already published (never rendered again)."""
        return {
            target: None if self.path_of(target).exists() else rendered()
            for target, rendered in self._cap_renderings(session, slug, seq, version)
        }

    def _cap_index(
        self, session: Session, rendered: Mapping[Target, bytes | None] = MappingProxyType({})
    ) -> dict[Target, bytes]:
        """The CAP index, after the file of each message it lists that is neither written nor in
        `rendered` (what this delivery writes) yet. Those are written with the index: events
        delivered late, after an outage, then render each message once, not once per event."""
        current = items.current_versions(session, limit=self.settings.feeds_max_entries)
        translations = cap_history.translations_of(session, {item.update_id for item in current})
        newest = [
            cap_history.version_messages(item, translations.get(item.update_id, []), self._cap_languages)[-1]
            for item in current
        ]
        newest.sort(key=lambda message: message.sent, reverse=True)  # stable: ties keep their order
        # each entry names its incident as the message it carries states it (`DetailsHistory`)
        incidents = session.scalars(
            select(Incident).where(Incident.slug.in_({message.item.incident.slug for message in newest}))
        ).all()
        histories = {
            history.incident.slug: history
            for history in cap_history.DetailsHistory.of_each(session, incidents).values()
        }
        newest = [histories[message.item.incident.slug].stated(message)[0] for message in newest]
        unwritten: dict[Target, bytes] = {}
        listed = []
        for message in newest:
            content = rendered.get(message.target)
            if content is None:
                try:
                    content = self.path_of(message.target).read_bytes()
                except FileNotFoundError:
                    item = message.item
                    files = self._cap_files(session, item.incident.slug, item.seq, item.version)
                    content = unwritten[message.target] = files[message.target]
            listed.append((message, content))
        return {**unwritten, CAP_INDEX: cap.render_index(self.settings, listed)}

    def cap_index_lists(self, session: Session, event: TranslationAdded) -> bool:
        """Whether the CAP index lists the version `event` translated, so that the revision of it
        the translation adds changed the index: only while it is its update's current version
        and among the FEEDS_MAX_ENTRIES most recently published ones."""
        listed = items.current_versions(session, limit=self.settings.feeds_max_entries)
        return any(item.update_id == event.update_id and item.version == event.version for item in listed)

    def render(self, session: Session, target: Target) -> dict[Target, bytes]:
        """`target`'s bytes (with its Atom or RSS sibling). Raises NotFound for an unknown
        incident, update or version."""
        if target.kind in (Kind.UPDATES_ATOM, Kind.UPDATES_RSS):
            return self._updates(session, target.lang)
        if target.kind is Kind.CAP_INDEX:
            return self._cap_index(session)
        assert target.slug is not None
        if target.kind is Kind.CAP_MESSAGE:
            assert target.seq is not None and target.version is not None
            messages = self._cap_files(session, target.slug, target.seq, target.version)
            if target not in messages:
                raise NotFound(
                    f"update {target.seq} version {target.version} has no CAP revision {target.revision}"
                )
            return {target: messages[target]}
        return self._incident(session, get_incident(session, target.slug), target.lang)

    # Writing.

    def _write(self, rendered: Iterable[tuple[Target, bytes | None]]) -> WriteReport:
        """Write each file whose bytes changed; a CAP message only if it is not there yet
        (None: a CAP message already published)."""
        report = WriteReport()
        for target, content in rendered:
            path = self.path_of(target)
            if content is None:
                changed = False
            elif target.kind is Kind.CAP_MESSAGE:
                changed = create_atomically(path, content, mode=FILE_MODE)
            else:
                changed = write_if_changed(path, content, mode=FILE_MODE)
            (report.written if changed else report.unchanged).append(target)
        return report

    def write_for_event(self, session: Session, event: ChannelEvent) -> WriteReport:
        """Every file an event can change. The CAP message goes first and the indexes last, so
        nothing ever links to a file that is not there yet."""
        rendered: dict[Target, bytes | None] = {}
        if isinstance(event, RumorPublished):  # in the feeds, not in CAP (no hazard: a verdict on a claim)
            if event.incident_slug is not None:
                about = get_incident(session, event.incident_slug)
                rendered |= self._all_languages(
                    lambda lang: self._incident(session, about, lang), self.languages
                )
            rendered |= self._all_languages(lambda lang: self._updates(session, lang), self.languages)
            return self._write(rendered.items())
        incident = get_incident(session, event.incident_slug)
        if isinstance(event, VersionPublished | TranslationAdded):
            rendered |= self._new_cap_files(session, event.incident_slug, event.seq, event.version)
        if isinstance(event, TranslationAdded):
            # that language's feeds read differently, and the CAP index lists the new revision
            if event.lang in self.languages:
                rendered |= self._incident(session, incident, event.lang)
                rendered |= self._updates(session, event.lang)
            rendered |= self._cap_index(session, rendered)
            return self._write(rendered.items())
        rendered |= self._all_languages(lambda lang: self._incident(session, incident, lang), self.languages)
        rendered |= self._cap_index(session, rendered)
        rendered |= self._all_languages(lambda lang: self._updates(session, lang), self.languages)
        return self._write(rendered.items())

    def write_incident(self, session: Session, incident: Incident) -> WriteReport:
        """The incident's feeds and every CAP message of its updates not written yet."""
        rendered: dict[Target, bytes | None] = {}
        for history in items.all_histories(session, incident):
            last = history[-1]
            rendered |= self._new_cap_files(session, incident.slug, last.seq, last.version)
        rendered |= self._all_languages(lambda lang: self._incident(session, incident, lang), self.languages)
        return self._write(rendered.items())

    def write_indexes(self, session: Session) -> WriteReport:
        updates = self._all_languages(lambda lang: self._updates(session, lang), self.languages)
        return self._write([*self._cap_index(session).items(), *updates.items()])

    def ensure(self, session: Session, target: Target) -> None:
        """Create `target` (and its sibling format) if missing, never replacing a file that a
        channel delivery wrote meanwhile. Raises NotFound if there is nothing to render."""
        for each, content in self.render(session, target).items():
            path = self.path_of(each)
            if not path.exists():
                create_atomically(path, content, mode=FILE_MODE)

    def rebuild(self, db: Database) -> WriteReport:
        """Regenerate every file from the database.

        Events published meanwhile are caught up at the end: their own deliveries may have
        written newer files than this pass read, so their incidents are rendered again."""
        report = WriteReport()
        with db.read() as session:
            seen = _last_event_id(session)
            slugs = items.incident_slugs(session)
        for slug in slugs:
            with db.read() as session:
                report.add(self.write_incident(session, get_incident(session, slug)))
        with db.read() as session:
            report.add(self.write_indexes(session))
        while True:
            with db.read() as session:
                latest = _last_event_id(session)
                if latest == seen:
                    return report
                changed = session.scalars(
                    select(Incident).join(OutboxEvent).where(OutboxEvent.id > seen).distinct()
                ).all()
                for incident in changed:
                    report.add(self.write_incident(session, incident))
                report.add(self.write_indexes(session))
            seen = latest


def _last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(OutboxEvent.id))) or 0
