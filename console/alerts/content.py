"""What an alert says about one published version, in one subscriber language.

The text is the version's own, or a current translation of it (else the primary text with
the "translation being updated" notice), with the labels every channel uses
(`console.domain.wording`); a correction also carries the headline and the body it replaced,
each only when it changed, and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import translations, wording
from console.domain.alerting import stored_alerting, stored_translated
from console.domain.details_translations import shown_details
from console.domain.updates import first_kind, version_view
from console.languages import Languages
from console.models import OutboxEvent, UpdateVersion, VersionKind


@dataclass(frozen=True)
class AlertContent:
    event_id: int
    incident_slug: str
    incident_title: str
    seq: int
    version: int
    kind: VersionKind
    labels: list[str]
    lang: str  # the language the text is in
    requested_lang: str
    # The agency's primary language: a reason, and what a correction replaced, are in it.
    primary_lang: str
    # The language of the incident's title (the primary one until the title is translated).
    title_lang: str
    headline: str | None
    body: str
    reason: str | None
    # The body a correction replaced, only when the body changed (a retraction changes
    # nothing: its text is the withdrawn one); in the primary language, as published.
    previous_body: str | None
    url: str
    version_view: dict[str, Any]
    # What people should do (issue 17), shown first: the translation's when it has one, in
    # `instruction_lang`.
    instruction: str | None = None
    instruction_lang: str | None = None
    # The update's id in the API (`/api/v1/updates/{update_id}`); `seq` is its number within
    # the incident. None only in content built by hand (the senders' tests).
    update_id: int | None = None
    # The headline a correction replaced, only when the headline changed and there was one.
    previous_headline: str | None = None

    @property
    def translation_pending(self) -> bool:
        return self.lang != self.requested_lang


class AlertSource:
    """Loads one event's version once and gives its content per language."""

    def __init__(self, session: Session, event_id: int, languages: Languages, public_url: str) -> None:
        event = session.get_one(OutboxEvent, event_id)
        version = event.version
        incident = event.incident
        if version is None or incident is None:
            raise ValueError(f"event {event_id} is not a published version")
        self.event_id = event_id
        self.version = version
        self.incident = incident
        self.languages = languages
        self.public_url = public_url
        self.seq = version.update.seq
        self.update_id = version.update_id
        self.first_kind = first_kind(session, version.update_id)
        self.previous = (
            session.scalar(
                select(UpdateVersion).where(
                    UpdateVersion.update_id == version.update_id, UpdateVersion.version == version.version - 1
                )
            )
            if version.version > 1
            else None
        )
        self.shown = translations.shown_translations(session, [version.update_id]).get(version.update_id, {})
        # The incident's title in each language it is translated into (issue 13.2).
        self.titles = {
            lang: row.title
            for lang in languages.translated
            if (row := shown_details(session, [incident], lang).get(incident.id)) is not None
        }
        self.view = version_view(version)

    def content(self, lang: str) -> AlertContent:
        requested = lang if lang in self.languages.tags else self.languages.primary
        text = translations.text_for_language(self.version, self.shown, requested, self.languages)
        version, previous = self.version, self.previous
        title = self.titles.get(requested)
        instruction = None if version.kind is VersionKind.RETRACTION else self._instruction(text)
        return AlertContent(
            event_id=self.event_id,
            incident_slug=self.incident.slug,
            incident_title=self.incident.title if title is None else title,
            seq=self.seq,
            version=version.version,
            kind=version.kind,
            labels=wording.labels(
                version.kind, version.preliminary, self.incident.alert_status, first_kind=self.first_kind
            ),
            lang=text.lang,
            requested_lang=requested,
            primary_lang=self.languages.primary,
            title_lang=self.languages.primary if title is None else requested,
            headline=text.headline,
            body=text.body,
            reason=version.reason,
            previous_body=self._replaced(previous.body if previous else None, version.body),
            previous_headline=self._replaced(previous.headline if previous else None, version.headline),
            url=wording.stable_update_url(
                self.public_url,
                self.incident.slug,
                self.seq,
                lang=None if requested == self.languages.primary else requested,
            ),
            version_view=self.view,
            instruction=None if instruction is None else instruction[0],
            instruction_lang=None if instruction is None else instruction[1],
            update_id=self.update_id,
        )

    @staticmethod
    def _replaced(before: str | None, now: str | None) -> str | None:
        """What the previous version said, when this one says something else (compared in the
        primary language, where both versions have their text)."""
        return before if before and before != now else None

    def _instruction(self, text: translations.LanguageText) -> tuple[str, str] | None:
        """What to do, and the language it is in."""
        own = text.translation
        if own is not None and (translated := stored_translated(own.alerting).instruction):
            return translated, own.lang
        primary = stored_alerting(self.version.alerting).instruction
        return None if primary is None else (primary, self.languages.primary)
