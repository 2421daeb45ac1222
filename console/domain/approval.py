"""Two-person approval (issue 18): with APPROVAL_REQUIRED, what a PIO publishes waits as a
pending version until another PIO or an admin approves it (it is then published by the same
path as a direct publish, in the approver's transaction) or returns it with a comment.

A pending version is not a version: it lives in `pending_versions`, so the published record
(`update_versions`, immutable and gap-free) only ever holds what was published. The author may
also publish at once by giving a reason (an emergency bypass), recorded in the audit chain.
A version that starts waiting, and a bypass, are emailed to the approvers (`approver_notices`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from console.domain import approver_notices, audit, outbox
from console.domain.actors import Actor, require_publisher
from console.domain.alerting import (
    NOTHING,
    Alerting,
    alerting_text,
    alerting_view,
    stored_alerting,
    translated_from_view,
    translated_view,
)
from console.domain.errors import InvalidInput, NotAllowed, PermissionDenied
from console.domain.media import MediaDraft
from console.domain.resolution import check_all_clear, resolve_with_all_clear
from console.domain.rows import row_by_id
from console.domain.text import REASON_MAX, clean
from console.domain.translation_drafts import CheckedDraft, TranslationDraft
from console.domain.updates import (
    CORRECT,
    RETRACT,
    Action,
    ChangeRequest,
    Draft,
    Published,
    Publishing,
    Translations,
    change_update,
    check_change,
    check_original,
    publish_update,
)
from console.languages import Languages
from console.models import (
    AuditEvent,
    Incident,
    PendingState,
    PendingVersion,
    Update,
    VersionKind,
    utcnow,
)

DECISIONS = ("approve", "return")
BYPASSED = "version.bypassed_approval"


def required_for(required: Sequence[str], kind: VersionKind | str) -> bool:
    return str(kind) in required


def number_of(pending: PendingVersion) -> int:
    """The version number it is published as (checked again when it is approved)."""
    return 1 if pending.corrects_version is None else pending.corrects_version + 1


def _stored(drafts: Sequence[CheckedDraft]) -> str:
    return json.dumps(
        [
            {
                "lang": d.lang,
                "headline": d.headline,
                "body": d.body,
                **translated_view(d.alerting),
                **({"media_alt": list(d.media_alt)} if d.media_alt is not None else {}),
            }
            for d in drafts
        ]
    )


def translations_of(pending: PendingVersion) -> list[dict[str, Any]]:
    """Its translations as sent: lang, headline, body, and instruction, wea, media_alt when given."""
    loaded: list[dict[str, Any]] = json.loads(pending.translations)
    return loaded


def _translation_drafts(pending: PendingVersion) -> list[TranslationDraft]:
    return [
        TranslationDraft(
            lang=item["lang"],
            body=item["body"],
            headline=item["headline"],
            alerting=translated_from_view(item),
            media_alt=tuple(item["media_alt"]) if "media_alt" in item else None,
        )
        for item in translations_of(pending)
    ]


def _stored_media(media: Sequence[MediaDraft] | None) -> str | None:
    if media is None:
        return None
    return json.dumps([{"id": item.media_id, "alt": item.alt} for item in media])


def media_of(pending: PendingVersion) -> list[dict[str, Any]] | None:
    """The images it was sent with, as [{"id", "alt"}]; None when none were sent."""
    if pending.media is None:
        return None
    loaded: list[dict[str, Any]] = json.loads(pending.media)
    return loaded


def alerting_of(pending: PendingVersion) -> Alerting:
    return stored_alerting(pending.alerting)


def _wait(
    session: Session,
    actor: Actor,
    now: datetime | None,
    *,
    incident_id: int,
    update_id: int | None,
    kind: VersionKind,
    headline: str | None,
    body: str,
    translations: Sequence[CheckedDraft],
    preliminary: bool | None,
    routing: outbox.Routing,
    reason: str | None = None,
    corrects_version: int | None = None,
    alerting: Alerting = NOTHING,
    media: Sequence[MediaDraft] | None = None,
    template_version_id: int | None = None,
) -> PendingVersion:
    """Keep a checked version as pending, by `actor`, record that it waits, and have the
    approvers emailed (in this transaction: the outbox sends it)."""
    assert actor.user_id is not None  # only an account's publish waits: the CLI publishes directly
    now = now or utcnow()
    pending = PendingVersion(
        incident_id=incident_id,
        update_id=update_id,
        kind=kind.value,
        headline=headline,
        body=body,
        translations=_stored(translations),
        preliminary=preliminary,
        reason=reason,
        corrects_version=corrects_version,
        alerting=alerting_text(alerting),
        media=_stored_media(media),
        template_version_id=template_version_id,
        **actor.authorship,
        created_at=now,
        state=PendingState.PENDING.value,
    )
    session.add(pending)
    session.flush()
    audit.record(
        session,
        actor,
        "version.submitted",
        f"pending version {pending.id}",
        incident_id=pending.incident_id,
        now=now,
        data={
            "pending_id": pending.id,
            "update_id": pending.update_id,
            "version": number_of(pending),
            "kind": pending.kind,
        },
    )
    approver_notices.submitted(session, routing, pending, version=number_of(pending), now=now)
    return pending


def submit_original(
    session: Session,
    actor: Actor,
    incident_slug: str,
    draft: Draft,
    *,
    translations: Translations,
    alerting: Alerting = NOTHING,
    template_version_id: int | None = None,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> PendingVersion:
    """A new update, checked as `publish_update` checks it, kept until approved with the
    alerting fields, images and template version it was sent with."""
    checked = check_original(
        session,
        actor,
        incident_slug,
        draft,
        translations=translations,
        template_version_id=template_version_id,
        alerting=alerting,
    )
    return _wait(
        session,
        actor,
        now,
        incident_id=checked.incident.id,
        update_id=None,
        kind=VersionKind.ORIGINAL,
        headline=checked.text.headline,
        body=checked.text.body,
        translations=checked.translations,
        preliminary=checked.text.preliminary,
        alerting=alerting,
        media=draft.media,
        template_version_id=checked.template_version_id,
        routing=routing,
    )


def submit_resolution(
    session: Session,
    actor: Actor,
    incident_slug: str,
    message: str | None,
    *,
    translations: Translations,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> PendingVersion:
    """An all-clear, checked as `resolve_with_all_clear` checks it, kept until approved: the
    incident stays active until then."""
    incident, text = check_all_clear(session, actor, incident_slug, message, translations)
    return _wait(
        session,
        actor,
        now,
        incident_id=incident.id,
        update_id=None,
        kind=VersionKind.RESOLUTION,
        headline=None,
        body=text,
        translations=translations.check({}),
        preliminary=False,
        routing=routing,
    )


def submit_change(
    session: Session,
    actor: Actor,
    update_id: int,
    action: Action,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
    **request: Unpack[ChangeRequest],
) -> PendingVersion:
    """A correction or retraction, checked as `change_update` checks it, kept until approved
    with the alerting fields and images it was sent with (what it does not send is carried
    over from the version current when it is approved, as a direct correction does)."""
    change = check_change(session, actor, update_id, action, **request)
    draft = request.get("draft")
    return _wait(
        session,
        actor,
        now,
        incident_id=change.update.incident_id,
        update_id=change.update.id,
        kind=action.kind,
        headline=change.text.headline,
        body=change.text.body,
        translations=change.translations,
        # None keeps the current flag when approved, as a correction sent without it does.
        preliminary=None if draft is None else draft.preliminary,
        reason=change.reason,
        corrects_version=change.current.version,
        alerting=request.get("alerting", NOTHING),
        media=None if draft is None else draft.media,
        routing=routing,
    )


@dataclass(frozen=True)
class Decided:
    pending: PendingVersion
    published: Published | None  # None when returned


def decide(
    session: Session,
    actor: Actor,
    pending_id: int,
    *,
    version: int,
    decision: str,
    comment: str | None,
    languages: Languages,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> Decided:
    """Approve (publish it now, by the path a direct publish takes) or return a pending version.

    `version` is the number the approver saw it would be published as: another answers 422."""
    require_publisher(actor)
    errors: dict[str, str] = {}
    if decision not in DECISIONS:
        errors["decision"] = "must be approve or return"
    comment_text = clean(comment, max_chars=REASON_MAX, required=False, errors=errors, field="comment")
    pending = row_by_id(session, PendingVersion, pending_id, "pending version")
    if errors:
        raise InvalidInput(errors)
    if pending.state != PendingState.PENDING.value:
        raise NotAllowed(f"pending version {pending.id} was already {pending.state}")
    if actor.user_id is not None and actor.user_id == pending.author_id:
        raise PermissionDenied(
            "the author of a version cannot approve or return it: another PIO or admin does"
        )
    if version != number_of(pending):
        raise InvalidInput({"version": f"pending version {pending.id} is version {number_of(pending)}"})
    now = now or utcnow()
    data: dict[str, Any] = {
        "pending_id": pending.id,
        "update_id": pending.update_id,
        "version": version,
        "kind": pending.kind,
        "author": pending.author_name,
        "author_id": pending.author_id,
        "comment": comment_text,
    }
    state = PendingState.APPROVED if decision == "approve" else PendingState.RETURNED
    # Claimed by a conditional UPDATE: of two approvers at once, the second waits for the first
    # one's row lock (PostgreSQL) and then finds it decided, so it is never published twice.
    claimed = session.execute(
        update(PendingVersion)
        .where(PendingVersion.id == pending.id, PendingVersion.state == PendingState.PENDING.value)
        .values(state=state.value)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAllowed(f"pending version {pending.id} was decided meanwhile")
    published = None
    if state is PendingState.APPROVED:
        published = _publish(session, actor, pending, languages, routing, now)
        data["update_id"] = published.update.id
        action_name = "version.approved"
    else:
        action_name = "version.returned"
    pending.state = state.value
    pending.decided_by_id = actor.user_id
    pending.decided_by = actor.name
    pending.decided_at = now
    pending.comment = comment_text
    if published is not None:
        pending.update_id = published.update.id
    audit.record(
        session,
        actor,
        action_name,
        f"pending version {pending.id}",
        incident_id=pending.incident_id,
        now=now,
        data=data,
    )
    return Decided(pending, published)


def _publish(
    session: Session,
    approver: Actor,
    pending: PendingVersion,
    languages: Languages,
    routing: outbox.Routing,
    now: datetime,
) -> Published:
    # The author's words under the author's name; the approver's role is what publishes them.
    author = Actor(pending.author_id, pending.author_name, approver.role, approver.via)
    translations = Translations(_translation_drafts(pending), languages)
    approval = {"approved_by": approver.label, "pending_id": pending.id}
    sent_media = media_of(pending)
    media = None if sent_media is None else tuple(MediaDraft(item["id"], item["alt"]) for item in sent_media)
    draft = Draft(body=pending.body, headline=pending.headline, preliminary=pending.preliminary, media=media)
    publishing = Publishing(
        routing=routing, translations=translations, now=now, alerting=alerting_of(pending)
    )
    if pending.kind == VersionKind.RESOLUTION.value:
        slug = pending.incident.slug
        return resolve_with_all_clear(
            session, author, slug, pending.body, translations=translations, routing=routing, now=now
        ).all_clear
    if pending.update_id is None:
        return publish_update(
            session,
            author,
            pending.incident.slug,
            draft,
            approval=approval,
            template_version_id=pending.template_version_id,
            **publishing,
        )
    action = _action(pending.kind)
    return change_update(
        session,
        author,
        pending.update_id,
        action,
        corrects_version=pending.corrects_version,
        reason=pending.reason,
        draft=draft if action.new_text else None,
        approval=approval,
        **publishing,
    )


def _action(kind: str) -> Action:
    return {VersionKind.CORRECTION.value: CORRECT, VersionKind.RETRACTION.value: RETRACT}[kind]


def bypass_reason(value: str | None) -> str:
    """The reason an author gives for publishing without approval; checked before publishing."""
    errors: dict[str, str] = {}
    reason = clean(value, max_chars=REASON_MAX, required=True, errors=errors, field="bypass_approval")
    if errors:
        raise InvalidInput(errors)
    return reason or ""


def record_bypass(
    session: Session,
    actor: Actor,
    published: Published,
    reason: str,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> None:
    """Mark a version published without the approval it needed, with the author's reason, and
    have the approvers emailed (in this transaction: the outbox sends it)."""
    now = now or published.version.published_at
    audit.record(
        session,
        actor,
        BYPASSED,
        f"update {published.update.id} version {published.version.version}",
        incident_id=published.update.incident_id,
        now=now,
        data={
            "update_id": published.update.id,
            "version": published.version.version,
            "kind": published.version.kind.value,
            "reason": reason,
        },
    )
    approver_notices.bypassed(
        session,
        routing,
        published.version,
        incident_id=published.update.incident_id,
        **actor.authorship,
        reason=reason,
        now=now,
    )


def waiting(session: Session) -> list[PendingVersion]:
    """Every pending version, oldest first (the one waiting longest heads the list)."""
    return list(
        session.scalars(
            select(PendingVersion)
            .where(PendingVersion.state == PendingState.PENDING.value)
            .order_by(PendingVersion.created_at, PendingVersion.id)
        )
    )


def of_incident(session: Session, incident_id: int, limit: int = 20) -> list[PendingVersion]:
    """An incident's pending and returned versions, newest first (its screen lists them)."""
    return list(
        session.scalars(
            select(PendingVersion)
            .where(
                PendingVersion.incident_id == incident_id,
                PendingVersion.state.in_([PendingState.PENDING.value, PendingState.RETURNED.value]),
            )
            .order_by(PendingVersion.created_at.desc(), PendingVersion.id.desc())
            .limit(limit)
        )
    )


def returned_to(session: Session, author_id: int, limit: int = 20) -> list[PendingVersion]:
    """The author's returned versions, newest decision first, with the approver's comment."""
    return list(
        session.scalars(
            select(PendingVersion)
            .where(PendingVersion.state == PendingState.RETURNED.value, PendingVersion.author_id == author_id)
            .order_by(PendingVersion.decided_at.desc(), PendingVersion.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Bypass:
    update_id: int
    version: int
    reason: str
    actor: str
    occurred_at: datetime
    # The update as the console names it: its number within its incident, and that incident.
    seq: int
    incident_slug: str
    incident_title: str


def bypasses(session: Session, *, incident_id: int | None = None, limit: int | None = 20) -> list[Bypass]:
    """Versions published without approval, newest first, from their audit events."""
    query = select(AuditEvent).where(AuditEvent.action == BYPASSED)
    if incident_id is not None:
        query = query.where(AuditEvent.incident_id == incident_id)
    events = [
        (event, json.loads(event.data))
        for event in session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit))
    ]
    named = {
        row.id: row
        for row in session.execute(
            select(Update.id, Update.seq, Incident.slug, Incident.title)
            .join(Incident, Incident.id == Update.incident_id)
            .where(Update.id.in_({data["update_id"] for _, data in events}))
        )
    }
    return [
        Bypass(
            data["update_id"],
            data["version"],
            data["reason"],
            event.actor,
            event.occurred_at,
            seq=named[data["update_id"]].seq,
            incident_slug=named[data["update_id"]].slug,
            incident_title=named[data["update_id"]].title,
        )
        for event, data in events
    ]


def pending_view(pending: PendingVersion) -> dict[str, Any]:
    """A pending version as the API answers it (202, and the approval's answer when returned)."""
    return {
        "id": pending.id,
        "status": pending.state,
        "incident": pending.incident.slug,
        "update_id": pending.update_id,
        "version": number_of(pending),
        "kind": pending.kind,
        "headline": pending.headline,
        "body": pending.body,
        "preliminary": pending.preliminary,
        "reason": pending.reason,
        "translations": translations_of(pending),
        **alerting_view(alerting_of(pending)),  # cap, instruction, wea: when sent
        **({"media": media_of(pending)} if pending.media is not None else {}),
        "author": pending.author_name,
        "created_at": pending.created_at.isoformat(),
        "decided_by": pending.decided_by,
        "decided_at": None if pending.decided_at is None else pending.decided_at.isoformat(),
        "comment": pending.comment,
    }
