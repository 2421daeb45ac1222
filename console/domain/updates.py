"""Versioned updates: publish, correct, confirm, retract.

An update is never edited in place. Every change is a new immutable version that names
the version it supersedes; if that is no longer the newest, the service raises a
`VersionConflict` carrying the newer one, so no one's words are overwritten unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.domain import outbox
from console.domain.actors import Actor, require_publisher
from console.domain.alerting import (
    NOTHING,
    Alerting,
    alerting_text,
    alerting_view,
    recheck,
    stored_alerting,
)
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.details_versions import current_cap_defaults
from console.domain.errors import InvalidInput, NotAllowed, VersionConflict
from console.domain.events import VersionPublished
from console.domain.incident_changes import announce_change
from console.domain.incidents import ID_MAX, get_incident, reopen
from console.domain.media import CheckedMedia, MediaDraft, check_media, hashed_media, media_view
from console.domain.reverts import reverts as find_reverts
from console.domain.rows import newest_version, row_by_id
from console.domain.signing import seal, signature_view
from console.domain.text import BODY_MAX, HEADLINE_MAX, REASON_MAX, clean
from console.domain.translation_drafts import CheckedDraft, TranslationDraft, check_drafts, write_translation
from console.languages import Languages
from console.media_models import VersionMedia
from console.models import (
    EventType,
    Incident,
    IncidentStatus,
    TemplateVersion,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
    utcnow,
)

DEFAULT_CONFIRMATION_REASON = "Information confirmed"
REVERT_UNCONFIRMED = (
    "would undo text a newer version introduced; confirm that you mean to revert it, or edit your text"
)


@dataclass(frozen=True)
class Draft:
    """What a PIO typed. `preliminary=None` on a correction keeps the current flag."""

    body: str
    headline: str | None = None
    preliminary: bool | None = None
    # Images with alt text (issue 18). None on a correction keeps the current version's images.
    media: tuple[MediaDraft, ...] | None = None


@dataclass(frozen=True)
class Published:
    update: Update
    version: UpdateVersion
    event: VersionPublished
    translations: tuple[Translation, ...] = ()  # written with the version, in its transaction


@dataclass(frozen=True)
class Translations:
    """Translations sent with a new version, and the LANGUAGES they are checked against."""

    drafts: Sequence[TranslationDraft]
    languages: Languages

    def check(self, errors: dict[str, str]) -> list[CheckedDraft]:
        return check_drafts(self.drafts, self.languages, errors)


NO_TRANSLATIONS = Translations((), Languages(("en",)))


@dataclass(frozen=True)
class NewText:
    headline: str | None
    body: str
    preliminary: bool
    media: tuple[CheckedMedia, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CheckedVersion:
    """What a new version says and carries, checked: what `_append_version` writes."""

    number: int  # the version it is published as
    text: NewText
    reason: str | None
    translations: Sequence[CheckedDraft]
    alerting: Alerting
    template_version_id: int | None = None  # the template version it was written from (issue 18)


def _published_fields(version: UpdateVersion) -> dict[str, Any]:
    """What a version says, as both its content hash and its public view name it."""
    return {
        "version": version.version,
        "kind": version.kind.value,
        "headline": version.headline,
        "body": version.body,
        "preliminary": version.preliminary,
        "reason": version.reason,
        "author": version.author_name,
    }


def content_hash(incident_slug: str, seq: int, version: UpdateVersion) -> str:
    # Its alerting fields (issue 17) and images (issue 18) are hashed only when it has some,
    # so versions written before they existed keep the hash they were written with.
    alerting = {"alerting": version.alerting} if version.alerting is not None else {}
    media = {"media": hashed_media(version.media)} if version.media else {}
    hashed = {"incident": incident_slug, "seq": seq, **_published_fields(version), **alerting, **media}
    return sha256_hex(canonical_json({**hashed, "published_at": iso(version.published_at)}))


def version_view(version: UpdateVersion) -> dict[str, Any]:
    """The public fields of a version, as the API and every export show them (`media` only
    when it has images, as its content hash)."""
    media = {"media": [media_view(item) for item in version.media]} if version.media else {}
    return {
        **_published_fields(version),
        **alerting_view(stored_alerting(version.alerting)),  # cap, instruction, wea: when given
        **media,
        "published_at": version.published_at.isoformat(),
        "content_hash": version.content_hash,
        "signature": signature_view(version.signature_kid, version.signature_value),
    }


def _current_media(version: UpdateVersion) -> tuple[CheckedMedia, ...]:
    return tuple(CheckedMedia(item.media, item.alt) for item in version.media)


def _media(session: Session, draft: Draft | None, errors: dict[str, str]) -> tuple[CheckedMedia, ...] | None:
    if draft is None or draft.media is None:
        return None
    return tuple(check_media(session, draft.media, errors))


def get_update(session: Session, update_id: int) -> Update:
    return row_by_id(session, Update, update_id, "update")


def update_exists(session: Session, incident_slug: str, seq: int) -> bool:
    """Whether the incident has an update numbered `seq` (any number a link may carry)."""
    if not 1 <= seq <= ID_MAX:  # past what the database can compare
        return False
    query = select(Update.id).join(Incident, Update.incident_id == Incident.id)
    return session.scalar(query.where(Incident.slug == incident_slug, Update.seq == seq)) is not None


def latest_version(session: Session, update: Update) -> UpdateVersion:
    return newest_version(
        session, UpdateVersion, UpdateVersion.update_id == update.id, UpdateVersion.version
    ).one()


def first_kind(session: Session, update_id: int) -> VersionKind:
    """The kind of the update's first version: RESOLUTION for the incident's all-clear, whose
    corrections are still labelled RESOLVED (`wording.labels`)."""
    return session.scalars(
        select(UpdateVersion.kind).where(UpdateVersion.update_id == update_id, UpdateVersion.version == 1)
    ).one()


def _oldest_first(session: Session, update: Update) -> list[UpdateVersion]:
    # Not versions.versions_of: that module sits above this one (it imports the previews).
    return list(
        session.scalars(
            select(UpdateVersion).where(UpdateVersion.update_id == update.id).order_by(UpdateVersion.version)
        )
    )


def _text(draft: Draft, errors: dict[str, str]) -> tuple[str | None, str]:
    headline = clean(draft.headline, max_chars=HEADLINE_MAX, required=False, errors=errors, field="headline")
    body = clean(draft.body, max_chars=BODY_MAX, required=True, errors=errors, field="body")
    return headline, body or ""


def _reason(value: str | None, errors: dict[str, str]) -> str:
    return clean(value, max_chars=REASON_MAX, required=True, errors=errors, field="reason") or ""


def _append_version(
    session: Session,
    actor: Actor,
    routing: outbox.Routing,
    update: Update,
    kind: VersionKind,
    checked: CheckedVersion,
    *,
    now: datetime,
    audit_data: dict[str, Any] | None = None,
) -> Published:
    incident = update.incident
    text, alerting = checked.text, checked.alerting
    version = UpdateVersion(
        update=update,
        template_version_id=checked.template_version_id,
        version=checked.number,
        kind=kind,
        headline=text.headline,
        body=text.body,
        preliminary=text.preliminary,
        reason=checked.reason,
        **actor.authorship,
        published_at=now,
        alerting=alerting_text(alerting),
        media=[
            VersionMedia(position=position, media=item.media, alt=item.alt)
            for position, item in enumerate(text.media)
        ],
    )
    seal(session, version, content_hash(incident.slug, update.seq, version))
    session.add(version)
    session.flush()
    subject = f"update {update.id} version {checked.number}"
    data = {
        "update_id": update.id,
        "seq": update.seq,
        "version": checked.number,
        "kind": kind.value,
        "preliminary": text.preliminary,
        "reason": checked.reason,
        "content_hash": version.content_hash,
        **({"alerting": alerting_view(alerting)} if not alerting.empty else {}),
        **({"media": hashed_media(version.media)} if version.media else {}),
        **(audit_data or {}),
    }
    event = announce_change(
        session,
        actor,
        routing,
        incident,
        EventType.VERSION_PUBLISHED,
        subject,
        data,
        now=now,
        version=version,
    )
    assert isinstance(event, VersionPublished)
    written = tuple(
        write_translation(session, actor, version, draft, now=now) for draft in checked.translations
    )
    return Published(update, version, event, written)


@dataclass(frozen=True)
class CheckedOriginal(CheckedVersion):
    """A new update's text, checked: what `publish_update` publishes as its version 1."""

    incident: Incident


def check_original(
    session: Session,
    actor: Actor,
    incident_slug: str,
    draft: Draft,
    *,
    translations: Translations = NO_TRANSLATIONS,
    template_version_id: int | None = None,
    alerting: Alerting = NOTHING,
) -> CheckedOriginal:
    """Everything `publish_update` refuses, refused here without writing anything (a pending
    version is checked by this before it waits for approval)."""
    require_publisher(actor)
    errors: dict[str, str] = {}
    headline, body = _text(draft, errors)
    recheck(alerting, errors)
    checked = translations.check(errors)
    media = _media(session, draft, errors) or ()
    incident = get_incident(session, incident_slug)
    if template_version_id is not None and session.get(TemplateVersion, template_version_id) is None:
        errors["template"] = f"there is no template version {template_version_id}"
    if errors:
        raise InvalidInput(errors)
    if incident.status is IncidentStatus.RESOLVED:
        raise NotAllowed(
            f"incident {incident_slug!r} is resolved; its updates can still be "
            "corrected or retracted, but new ones go to a new incident"
        )
    preliminary = True if draft.preliminary is None else draft.preliminary
    text = NewText(headline, body, preliminary, media)
    return CheckedOriginal(
        number=1,
        text=text,
        reason=None,
        translations=checked,
        alerting=alerting,
        template_version_id=template_version_id,
        incident=incident,
    )


def publish_update(
    session: Session,
    actor: Actor,
    incident_slug: str,
    draft: Draft,
    *,
    routing: outbox.Routing,
    translations: Translations = NO_TRANSLATIONS,
    now: datetime | None = None,
    kind: VersionKind = VersionKind.ORIGINAL,  # RESOLUTION and REOPENING: see console.domain.resolution
    template_version_id: int | None = None,  # the template version it was written from (issue 18)
    approval: dict[str, Any] | None = None,  # how it was approved, for its audit event (issue 18)
    # Its CAP fields, instruction and WEA texts (issue 17); the incident's CAP defaults fill in
    # the CAP fields an original leaves unset.
    alerting: Alerting = NOTHING,
) -> Published:
    checked = check_original(
        session,
        actor,
        incident_slug,
        draft,
        translations=translations,
        template_version_id=template_version_id,
        alerting=alerting,
    )
    incident = checked.incident
    if kind is VersionKind.ORIGINAL:
        # The incident's CAP defaults fill the CAP fields the update does not set, stored as its
        # own: neither it nor its CAP file changes when the defaults do (issue 17).
        defaults = current_cap_defaults(session, incident.id)
        checked = replace(checked, alerting=checked.alerting.over(defaults))
    now = now or utcnow()
    seq = (session.scalar(select(func.max(Update.seq)).where(Update.incident_id == incident.id)) or 0) + 1
    update = Update(incident=incident, seq=seq, created_at=now)
    session.add(update)
    audit_data: dict[str, Any] = {}
    if template_version_id is not None:
        audit_data["template_version_id"] = template_version_id
    if approval is not None:
        audit_data["approval"] = approval
    return _append_version(
        session, actor, routing, update, kind, checked, now=now, audit_data=audit_data or None
    )


def _current_for_change(session: Session, update: Update, corrects_version: int | None) -> UpdateVersion:
    current = latest_version(session, update)
    if current.kind is VersionKind.RETRACTION:
        raise NotAllowed(f"update {update.id} was retracted; a retracted update takes no new versions")
    if corrects_version is not None and corrects_version != current.version:
        if not 1 <= corrects_version <= current.version:
            raise InvalidInput({"corrects_version": f"update {update.id} has no version {corrects_version}"})
        raise VersionConflict(corrects_version, {"update_id": update.id, **version_view(current)})
    return current


def _corrected(current: UpdateVersion, typed: NewText | None) -> NewText:
    assert typed is not None  # a correction always brings its text
    if typed == NewText(current.headline, current.body, current.preliminary, _current_media(current)):
        raise InvalidInput({"body": "the correction is identical to the current version"})
    return typed


def _confirmed(current: UpdateVersion, typed: NewText | None) -> NewText:
    return NewText(current.headline, current.body, False, _current_media(current))


def _confirmable(current: UpdateVersion) -> str | None:
    return None if current.preliminary else "is already confirmed"


def _always(current: UpdateVersion) -> str | None:
    return None


def _retracted(current: UpdateVersion, typed: NewText | None) -> NewText:
    return NewText(current.headline, current.body, current.preliminary, _current_media(current))


@dataclass(frozen=True)
class Action:
    """One way a PIO changes a published update: each makes a new version of one `kind`.

    `name` names the action everywhere (the console's form, its notice `done`); `new_text`:
    the PIO sends the text (a correction) rather than keeping the current one; `refusal` says
    why the current version cannot take this action (None: it can), in words that follow
    "this update"; `next_text` gives the new version's text from the current one."""

    name: str
    done: str
    kind: VersionKind
    new_text: bool
    reason_required: bool
    next_text: Callable[[UpdateVersion, NewText | None], NewText]
    default_reason: str | None = None
    refusal: Callable[[UpdateVersion], str | None] = _always


# The table of actions: what differs between them is here, the rest is one path (`change_update`).
CORRECT = Action(
    "correct", "corrected", VersionKind.CORRECTION, new_text=True, reason_required=True, next_text=_corrected
)
CONFIRM = Action(
    "confirm",
    "confirmed",
    VersionKind.CONFIRMATION,
    new_text=False,
    reason_required=False,
    next_text=_confirmed,
    default_reason=DEFAULT_CONFIRMATION_REASON,
    refusal=_confirmable,
)
RETRACT = Action(
    "retract", "retracted", VersionKind.RETRACTION, new_text=False, reason_required=True, next_text=_retracted
)


@dataclass(frozen=True)
class CheckedChange(CheckedVersion):
    """An action on an update, checked against its current version: what `change_update`
    appends as the next version."""

    update: Update
    current: UpdateVersion
    audit_data: dict[str, Any]


class ChangeRequest(TypedDict, total=False):
    """What a PIO sends with an action on an update: the version it changes (None: whatever is
    current), the reason, the new text (a correction), and the translations and alerting fields
    (issue 17) sent with it. `started_from` and `reverts_confirmed`: see `change_update`."""

    corrects_version: Required[int | None]
    reason: Required[str | None]
    draft: Draft | None
    started_from: int | None
    reverts_confirmed: bool
    translations: Translations
    alerting: Alerting


def check_change(
    session: Session,
    actor: Actor,
    update_id: int,
    action: Action,
    **request: Unpack[ChangeRequest],
) -> CheckedChange:
    """Everything `change_update` refuses, refused here without writing anything."""
    require_publisher(actor)
    reason, draft = request["reason"], request.get("draft")
    translations = request.get("translations", NO_TRANSLATIONS)
    alerting = request.get("alerting", NOTHING)
    errors: dict[str, str] = {}
    if action.new_text and draft is None:
        raise TypeError(f"{action.name} needs the draft text")
    typed = _text(draft, errors) if action.new_text and draft is not None else None
    if action.reason_required or (reason is not None and reason.strip()):
        reason_text: str | None = _reason(reason, errors)
    else:
        reason_text = action.default_reason
    recheck(alerting, errors)
    checked = translations.check(errors)
    media = _media(session, draft, errors)
    update = get_update(session, update_id)
    if errors:
        raise InvalidInput(errors)
    current = _current_for_change(session, update, request["corrects_version"])
    refusal = action.refusal(current)
    if refusal is not None:
        raise NotAllowed(f"update {update.id} version {current.version} {refusal}")
    sent = None
    if typed is not None and draft is not None:
        preliminary = current.preliminary if draft.preliminary is None else draft.preliminary
        sent = NewText(typed[0], typed[1], preliminary, _current_media(current) if media is None else media)
    # What is not sent is carried from the current version: nothing is dropped unseen.
    in_force = alerting.over(stored_alerting(current.alerting))
    if sent is not None and in_force != stored_alerting(current.alerting):
        text = sent  # a correction of the alerting fields alone
    else:
        text = action.next_text(current, sent)
    audit_data: dict[str, Any] = {}
    started_from = request.get("started_from")
    if sent is not None and started_from is not None and started_from < current.version:
        undone = find_reverts(_oldest_first(session, update), started_from, sent.headline, sent.body)
        if undone and not request.get("reverts_confirmed", False):
            raise InvalidInput({"reverts": REVERT_UNCONFIRMED})
        if undone:
            audit_data = {"reverts": [r.audit_view() for r in undone], "revert_confirmed": True}
    return CheckedChange(
        number=current.version + 1,
        text=text,
        reason=reason_text,
        translations=checked,
        alerting=in_force,
        update=update,
        current=current,
        audit_data=audit_data,
    )


def change_update(
    session: Session,
    actor: Actor,
    update_id: int,
    action: Action,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
    approval: dict[str, Any] | None = None,
    **request: Unpack[ChangeRequest],
) -> Published:
    """The one path of every action: check what was sent, refuse a stale `corrects_version`
    (None only for callers acting on whatever is current, such as the demo), then append the
    version the action makes of the current one.

    `started_from`: the version the PIO's text was written from, when older than
    `corrects_version` (they went on after a conflict). Text of the versions since that the
    new text would undo is refused unless `reverts_confirmed`, and is named in the audit event.

    Translations of the earlier version become stale like after any new version (a translator
    confirms they still say the same, or sends them with the change)."""
    change = check_change(session, actor, update_id, action, **request)
    audited = dict(change.audit_data)
    if approval is not None:
        audited["approval"] = approval
    now = now or utcnow()
    published = _append_version(
        session, actor, routing, change.update, action.kind, change, now=now, audit_data=audited
    )
    if action.kind is VersionKind.RETRACTION and _is_standing_all_clear(session, change.update):
        # The all-clear withdrawn, the incident is not over: CAP cancels its AllClear, and the
        # live pages, `/` and the archive say it is active again, as after a reopening.
        reopen(
            session,
            actor,
            change.update.incident,
            now=now,
            data={"reason": change.reason, "retracted_update_id": change.update.id},
        )
    return published


def standing_all_clear(session: Session, incident: Incident) -> UpdateVersion | None:
    """The all-clear a resolved incident stands on (the first version of its newest resolution);
    None while it is active."""
    if incident.status is not IncidentStatus.RESOLVED:
        return None
    return session.scalars(
        select(UpdateVersion)
        .join(Update, UpdateVersion.update_id == Update.id)
        .where(
            Update.incident_id == incident.id,
            UpdateVersion.version == 1,
            UpdateVersion.kind == VersionKind.RESOLUTION,
        )
        .order_by(Update.seq.desc())
        .limit(1)
    ).first()


def _is_standing_all_clear(session: Session, update: Update) -> bool:
    """Whether `update` is the all-clear its incident is resolved by: the newest resolution."""
    standing = standing_all_clear(session, update.incident)
    return standing is not None and standing.update_id == update.id


class Publishing(TypedDict, total=False):
    """What each action on an update also takes: where its events go (`routing`), the
    translations and alerting fields sent with it, and the time (`now`, fixed by tests)."""

    routing: Required[outbox.Routing]
    translations: Translations
    now: datetime | None
    alerting: Alerting  # the CAP fields, instruction and WEA texts sent (issue 17)


def correct_update(
    session: Session,
    actor: Actor,
    update_id: int,
    draft: Draft,
    *,
    reason: str | None,
    corrects_version: int,
    **publishing: Unpack[Publishing],
) -> Published:
    return change_update(
        session,
        actor,
        update_id,
        CORRECT,
        corrects_version=corrects_version,
        reason=reason,
        draft=draft,
        **publishing,
    )


def confirm_update(
    session: Session,
    actor: Actor,
    update_id: int,
    *,
    corrects_version: int,
    reason: str | None = None,
    **publishing: Unpack[Publishing],
) -> Published:
    """Drop PRELIMINARY: a new version with the same text, marked confirmed."""
    return change_update(
        session, actor, update_id, CONFIRM, corrects_version=corrects_version, reason=reason, **publishing
    )


def retract_update(
    session: Session,
    actor: Actor,
    update_id: int,
    *,
    reason: str | None,
    corrects_version: int | None = None,
    **publishing: Unpack[Publishing],
) -> Published:
    """Withdraw an update. Its text stays in the record, shown struck through."""
    return change_update(
        session, actor, update_id, RETRACT, corrects_version=corrects_version, reason=reason, **publishing
    )
