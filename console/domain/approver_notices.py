"""Approvers emailed (issue 18: "the approvers are notified"): when a version waits for approval
and when one is published without it, every other account able to approve hears of it.

The notice, its recipients and its outbox event are written in the submission's or the bypass's
transaction; the `approvers` channel sends one email per recipient from the worker, marking each
sent as soon as the mail server took it, so that a retry sends only to the ones not reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import outbox
from console.domain.access import Access, permits
from console.domain.errors import NotFound
from console.models import (
    ApprovalNotice,
    ApprovalNoticeRecipient,
    EventType,
    PendingVersion,
    UpdateVersion,
    User,
)

SUBMITTED = "submitted"
BYPASSED = "bypassed"
MAX_ERROR_CHARS = 2000


def approvers(session: Session, *, besides: int | None) -> list[User]:
    """The accounts able to approve (pio or admin, not disabled), but `besides` (the author)."""
    users = session.scalars(select(User).where(User.disabled_at.is_(None)).order_by(User.id))
    return [user for user in users if user.id != besides and permits(user.role, Access.PUBLISHER)]


def _record(
    session: Session,
    routing: outbox.Routing,
    event_type: EventType,
    notice: ApprovalNotice,
) -> ApprovalNotice | None:
    event = outbox.emit_staff(session, routing, event_type, now=notice.occurred_at)
    if event is None:  # no channel takes it (APPROVAL_REQUIRED off): nobody is told
        return None
    notice.event_id = event.id
    session.add(notice)
    session.flush()
    for user in approvers(session, besides=notice.author_id):
        session.add(ApprovalNoticeRecipient(notice_id=notice.id, user_id=user.id, address=user.email))
    session.flush()
    return notice


def submitted(
    session: Session, routing: outbox.Routing, pending: PendingVersion, *, version: int, now: datetime
) -> ApprovalNotice | None:
    """Tell the approvers that `pending` waits for one of them (as version number `version`)."""
    notice = ApprovalNotice(
        kind=SUBMITTED,
        incident_id=pending.incident_id,
        pending_version_id=pending.id,
        version_number=version,
        author_id=pending.author_id,
        author_name=pending.author_name,
        occurred_at=now,
    )
    return _record(session, routing, EventType.APPROVAL_REQUESTED, notice)


def bypassed(
    session: Session,
    routing: outbox.Routing,
    version: UpdateVersion,
    *,
    incident_id: int,
    author_id: int | None,
    author_name: str,
    reason: str,
    now: datetime,
) -> ApprovalNotice | None:
    """Tell the approvers that `version` was published without approval, and why."""
    notice = ApprovalNotice(
        kind=BYPASSED,
        incident_id=incident_id,
        version_id=version.id,
        version_number=version.version,
        author_id=author_id,
        author_name=author_name,
        reason=reason,
        occurred_at=now,
    )
    return _record(session, routing, EventType.APPROVAL_BYPASSED, notice)


@dataclass(frozen=True)
class NoticeText:
    """What an approver's email says (the same for every approver of a notice)."""

    kind: str  # submitted or bypassed
    incident_title: str
    incident_slug: str
    version: int
    version_kind: str
    headline: str | None
    first_line: str
    author: str
    occurred_at: datetime
    reason: str | None  # the bypass reason; for a waiting correction or retraction, its own reason
    console_path: str  # the console screen to open: the pending version, or the published update


@dataclass(frozen=True)
class Addressee:
    recipient_id: int
    address: str


@dataclass(frozen=True)
class ToSend:
    notice_id: int
    text: NoticeText
    addressees: list[Addressee]  # not reached yet, and still able to approve
    reached: int  # already sent (by an earlier attempt)
    dropped: int  # disabled or no longer able to approve since


def first_line(body: str) -> str:
    return next((line.strip() for line in body.splitlines() if line.strip()), "")


def _text(notice: ApprovalNotice) -> NoticeText:
    incident = notice.incident
    if notice.pending_version is not None:
        pending = notice.pending_version
        headline, body, kind = pending.headline, pending.body, pending.kind
        reason, path = pending.reason, f"/console/pending/{pending.id}"
    elif notice.version is not None:
        version = notice.version
        headline, body, kind = version.headline, version.body, version.kind.value
        reason, path = notice.reason, f"/console/updates/{version.update_id}"
    else:
        raise ValueError(f"approval notice {notice.id} names neither a pending nor a published version")
    return NoticeText(
        kind=notice.kind,
        incident_title=incident.title,
        incident_slug=incident.slug,
        version=notice.version_number,
        version_kind=kind,
        headline=headline,
        first_line=first_line(body),
        author=notice.author_name,
        occurred_at=notice.occurred_at,
        reason=reason,
        console_path=path,
    )


def to_send(session: Session, notice_id: int) -> ToSend:
    """The notice's text and the approvers it has not reached yet."""
    notice = session.get(ApprovalNotice, notice_id)
    if notice is None:
        raise NotFound(f"no approval notice {notice_id}")
    able = {user.id for user in approvers(session, besides=notice.author_id)}
    waiting = [r for r in notice.recipients if r.sent_at is None]
    return ToSend(
        notice.id,
        _text(notice),
        [Addressee(r.id, r.address) for r in waiting if r.user_id in able],
        reached=sum(1 for r in notice.recipients if r.sent_at is not None),
        dropped=sum(1 for r in waiting if r.user_id not in able),
    )


def mark_sent(session: Session, recipient_id: int, *, message_id: str, now: datetime) -> None:
    recipient = session.get_one(ApprovalNoticeRecipient, recipient_id)
    recipient.attempts += 1
    recipient.sent_at = now
    recipient.message_id = message_id
    recipient.last_error = None


def mark_failed(session: Session, recipient_id: int, error: str) -> None:
    recipient = session.get_one(ApprovalNoticeRecipient, recipient_id)
    recipient.attempts += 1
    recipient.last_error = error[:MAX_ERROR_CHARS]
