"""Resolving is an all-clear every channel carries; reopening says why (issue 13.4).

The all-clear is published as the incident's final update (kind `resolution`, labelled
RESOLVED everywhere: live page, feeds, CAP `AllClear`, X and Mastodon in the incident's
thread, archive), in the transaction that marks the incident resolved. Reopening publishes
the reason as an update of kind `reopening` (REOPENED) the same way. Both are versions like
any other: immutable, signed, audited, correctable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from console.domain import outbox
from console.domain.actors import Actor, require_publisher
from console.domain.errors import InvalidInput, NotAllowed
from console.domain.events import IncidentResolved
from console.domain.incidents import get_incident, reopen, resolve_incident
from console.domain.text import BODY_MAX, REASON_MAX, clean
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import (
    NO_TRANSLATIONS,
    Draft,
    Published,
    Translations,
    publish_update,
    standing_all_clear,
)
from console.languages import Languages
from console.models import Incident, IncidentStatus, VersionKind, utcnow

ALL_CLEAR_PREFILL = "All clear: "  # what the console's resolve form starts with


@dataclass(frozen=True)
class Resolved:
    incident: Incident
    all_clear: Published
    event: IncidentResolved


@dataclass(frozen=True)
class Reopened:
    incident: Incident
    announcement: Published


def translations_of(texts: Mapping[str, str], languages: Languages) -> Translations:
    """`{lang: text}` as the translations of a one-text update (no headline)."""
    return Translations([TranslationDraft(lang=lang, body=text) for lang, text in texts.items()], languages)


def check_all_clear(
    session: Session, actor: Actor, slug: str, message: str | None, translations: Translations
) -> tuple[Incident, str]:
    """Everything `resolve_with_all_clear` refuses, refused without writing anything: the
    incident and the all-clear's text."""
    text = _checked_text(actor, message, "message", BODY_MAX, translations)
    incident = get_incident(session, slug)
    if incident.status is IncidentStatus.RESOLVED:
        raise NotAllowed(f"incident {slug!r} is already resolved")
    return incident, text


def resolve_with_all_clear(
    session: Session,
    actor: Actor,
    slug: str,
    message: str | None,
    *,
    translations: Translations,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> Resolved:
    _, text = check_all_clear(session, actor, slug, message, translations)
    now = now or utcnow()
    all_clear = _announce(session, actor, slug, text, VersionKind.RESOLUTION, routing, now, translations)
    incident, event = resolve_incident(
        session, actor, slug, routing=routing, now=now, all_clear_update_id=all_clear.update.id
    )
    return Resolved(incident, all_clear, event)


def _checked_text(
    actor: Actor, value: str | None, field: str, max_chars: int, translations: Translations
) -> str:
    """The text a publisher sent as `field`, cleaned; InvalidInput naming every field that is
    wrong, its own and the translations'."""
    require_publisher(actor)
    errors: dict[str, str] = {}
    text = clean(value, max_chars=max_chars, required=True, errors=errors, field=field)
    translations.check(errors)
    if errors or text is None:
        raise InvalidInput(errors)
    return text


def _announce(
    session: Session,
    actor: Actor,
    slug: str,
    text: str,
    kind: VersionKind,
    routing: outbox.Routing,
    now: datetime,
    translations: Translations = NO_TRANSLATIONS,
) -> Published:
    """The update that says an incident was resolved or reopened: confirmed from the start."""
    draft = Draft(body=text, preliminary=False)
    return publish_update(
        session, actor, slug, draft, routing=routing, translations=translations, now=now, kind=kind
    )


def reopen_incident(
    session: Session,
    actor: Actor,
    slug: str,
    reason: str | None,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> Reopened:
    text = _checked_text(actor, reason, "reason", REASON_MAX, NO_TRANSLATIONS)
    incident = get_incident(session, slug)
    if incident.status is not IncidentStatus.RESOLVED:
        raise NotAllowed(f"incident {slug!r} is not resolved")
    now = now or utcnow()
    # Active before the announcement: an update is published only on an active incident.
    incident.status, incident.resolved_at = IncidentStatus.ACTIVE, None
    announcement = _announce(session, actor, slug, text, VersionKind.REOPENING, routing, now)
    reopen(session, actor, incident, now=now, data={"reason": text, "update_id": announcement.update.id})
    return Reopened(incident, announcement)


def resolved_first(session: Session, slug: str) -> tuple[str | None, datetime | None]:
    """Who resolved the incident (the author of the all-clear it stands on) and when."""
    incident = get_incident(session, slug)
    if incident.status is not IncidentStatus.RESOLVED:
        return None, None
    all_clear = standing_all_clear(session, incident)
    return all_clear.author_name if all_clear is not None else None, incident.resolved_at
