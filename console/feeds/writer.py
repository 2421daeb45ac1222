"""Renders feed files from the database and writes them under FEEDS_DIR.

Used by the `feeds` outbox channel (after each public event), by `console feeds rebuild`
(everything) and by the app for a file that is not there yet. A file whose bytes would not
change is left alone, keeping its modification time and its HTTP validators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.db import Database
from console.domain.errors import NotFound
from console.domain.events import ChannelEvent, RumorPublished, TranslationAdded, VersionPublished
from console.domain.incidents import get_incident
from console.feeds import cap, items, syndication
from console.feeds.cap_signing import CapSigner
from console.feeds.paths import (
    CAP_INDEX,
    Kind,
    Target,
    cap_message,
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
        """The languages whose feeds (/feeds/{lang}/...) each publication writes: none while
        LANGUAGES names only the primary language (its /feeds/{lang}/ files are then made on
        their first request, like any missing file)."""
        languages = self.settings.languages
        return languages if len(languages) > 1 else ()

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

    def _updates(self, session: Session, lang: str | None = None) -> dict[Target, bytes]:
        found = items.newest_versions(session, limit=self.settings.feeds_max_entries)
        found, language = self._localized(session, found, lang)
        spec = syndication.updates_spec(self.settings, found, language)
        details = items.details_items(session, limit=self.settings.feeds_max_entries)
        atom, rss = syndication.render(self.settings, spec, found, details)
        return {updates_atom(lang): atom, updates_rss(lang): rss}

    def _incident(self, session: Session, incident: Incident, lang: str | None = None) -> dict[Target, bytes]:
        found = items.newest_versions(session, limit=self.settings.feeds_max_entries, incident=incident)
        found, language = self._localized(session, found, lang)
        spec = syndication.incident_spec(self.settings, items.IncidentInfo.of(incident), found, language)
        details = items.details_items(session, limit=self.settings.feeds_max_entries, incident=incident)
        atom, rss = syndication.render(self.settings, spec, found, details)
        return {incident_atom(incident.slug, lang): atom, incident_rss(incident.slug, lang): rss}

    def _all_languages(
        self, render: Callable[[str | None], dict[Target, bytes]], languages: Iterable[str]
    ) -> dict[Target, bytes]:
        rendered: dict[Target, bytes] = {}
        for lang in (None, *languages):
            rendered |= render(lang)
        return rendered

    def _cap_index(self, session: Session) -> dict[Target, bytes]:
        current = items.current_versions(session, limit=self.settings.feeds_max_entries)
        return {CAP_INDEX: cap.render_index(self.settings, current)}

    def _cap_message(self, session: Session, history: list[items.FeedItem]) -> dict[Target, bytes]:
        last = history[-1]
        primary = self.settings.primary_language
        translated = [
            localized
            for lang in self.settings.languages[1:]
            for localized in items.in_language(session, [last], lang, primary)
            if not localized.is_fallback
        ]
        others = items.earlier_messages(session, last) if last.kind is VersionKind.RESOLUTION else []
        message = cap.render_message(self.settings, history, translated, others)
        if self.cap_signer is not None:
            message = self.cap_signer.sign(message)
        return {cap_message(last.incident.slug, last.seq, last.version): message}

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
            return self._cap_message(
                session, items.version_history(session, target.slug, target.seq, target.version)
            )
        return self._incident(session, get_incident(session, target.slug), target.lang)

    # Writing.

    def _write(self, rendered: Iterable[tuple[Target, bytes]]) -> WriteReport:
        report = WriteReport()
        for target, content in rendered:
            changed = write_if_changed(self.path_of(target), content, mode=FILE_MODE)
            (report.written if changed else report.unchanged).append(target)
        return report

    def write_for_event(self, session: Session, event: ChannelEvent) -> WriteReport:
        """Every file an event can change. The CAP message goes first and the indexes last, so
        nothing ever links to a file that is not there yet."""
        if isinstance(event, RumorPublished):  # rumor responses are not in the feeds
            return WriteReport()
        incident = get_incident(session, event.incident_slug)
        rendered: dict[Target, bytes] = {}
        if isinstance(event, VersionPublished | TranslationAdded):
            rendered |= self._cap_message(
                session, items.version_history(session, event.incident_slug, event.seq, event.version)
            )
        if isinstance(event, TranslationAdded):
            # only that language's feeds read differently (and the CAP message gained an <info>)
            if event.lang in self.languages:
                rendered |= self._incident(session, incident, event.lang)
                rendered |= self._updates(session, event.lang)
            return self._write(rendered.items())
        rendered |= self._all_languages(lambda lang: self._incident(session, incident, lang), self.languages)
        rendered |= self._cap_index(session)
        rendered |= self._all_languages(lambda lang: self._updates(session, lang), self.languages)
        return self._write(rendered.items())

    def write_incident(self, session: Session, incident: Incident) -> WriteReport:
        """The incident's feeds and every CAP message of its updates."""
        rendered: dict[Target, bytes] = {}
        for history in items.all_histories(session, incident):
            for count in range(1, len(history) + 1):
                rendered |= self._cap_message(session, history[:count])
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
