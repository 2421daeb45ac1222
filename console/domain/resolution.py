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

from console.domain import audit, outbox
from console.domain.actors import Actor, require_publisher
from console.domain.errors import InvalidInput, NotAllowed
from console.domain.events import IncidentResolved
from console.domain.incidents import get_incident, resolve_incident
from console.domain.text import BODY_MAX, REASON_MAX, clean
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Published, Translations, publish_update
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
    require_publisher(actor)
    errors: dict[str, str] = {}
    text = clean(message, max_chars=BODY_MAX, required=True, errors=errors, field="message")
    translations.check(errors)
    if errors or text is None:
        raise InvalidInput(errors)
    incident = get_incident(session, slug)
    if incident.status is IncidentStatus.RESOLVED:
        raise NotAllowed(f"incident {slug!r} is already resolved")
    now = now or utcnow()
    all_clear = publish_update(
        session,
        actor,
        slug,
        Draft(body=text, preliminary=False),
        routing=routing,
        translations=translations,
        now=now,
        kind=VersionKind.RESOLUTION,
    )
    incident, event = resolve_incident(
        session, actor, slug, routing=routing, now=now, all_clear_update_id=all_clear.update.id
    )
    return Resolved(incident, all_clear, event)


def reopen_incident(
    session: Session,
    actor: Actor,
    slug: str,
    reason: str | None,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> Reopened:
    require_publisher(actor)
    errors: dict[str, str] = {}
    text = clean(reason, max_chars=REASON_MAX, required=True, errors=errors, field="reason")
    if errors or text is None:
        raise InvalidInput(errors)
    incident = get_incident(session, slug)
    if incident.status is not IncidentStatus.RESOLVED:
        raise NotAllowed(f"incident {slug!r} is not resolved")
    now = now or utcnow()
    incident.status = IncidentStatus.ACTIVE
    incident.resolved_at = None
    incident.updated_at = now
    session.flush()
    announcement = publish_update(
        session,
        actor,
        slug,
        Draft(body=text, preliminary=False),
        routing=routing,
        now=now,
        kind=VersionKind.REOPENING,
    )
    audit.record(
        session,
        actor,
        "incident.reopened",
        f"incident {slug}",
        incident_id=incident.id,
        now=now,
        data={"slug": slug, "reason": text, "update_id": announcement.update.id},
    )
    return Reopened(incident, announcement)
