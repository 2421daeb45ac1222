"""Two-person approval in the console (issue 18): the pending versions on every PIO's dashboard
(with their age, text and the change from the current version), the author's returned ones
with the approver's comment, versions published without approval, and the approve/return form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from console.domain import approval, previews
from console.domain.actors import Actor
from console.domain.alerting import NOTHING, Alerting
from console.domain.approval import Bypass
from console.domain.errors import DomainError, InvalidInput, NotAllowed
from console.domain.media import file_view
from console.domain.previews import DraftText
from console.domain.rows import row_by_id
from console.domain.updates import get_update, latest_version
from console.domain.versions import versions_of
from console.media_models import MediaFile
from console.models import AlertStatus, PendingVersion, Update, UpdateVersion, VersionKind
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import read_form
from console.web.staff.rendering import refused_page, render, see_other
from console.web.state import app_state


@dataclass(frozen=True)
class PendingCard:
    """One pending (or returned) version as the dashboard shows it."""

    id: int
    version: int
    kind: str
    incident_slug: str
    incident_title: str
    update_id: int | None
    update_seq: int | None  # the update's number within its incident (None: a new update)
    headline: str | None
    body: str
    reason: str | None
    author: str
    preliminary: bool | None
    state: str
    own: bool  # the viewer wrote it: they cannot decide on it
    created_at: datetime
    waited_minutes: int
    # The current version's text, for a correction's word diff (None for a new update).
    before_headline: str | None = None
    before_body: str | None = None
    comment: str | None = None
    decided_by: str | None = None
    alerting: Alerting = NOTHING  # the CAP fields, instruction and WEA texts it was sent with
    images: tuple[PendingImage, ...] = ()


@dataclass(frozen=True)
class PendingImage:
    url: str
    alt: str


def _images(session: Session, pending: PendingVersion) -> tuple[PendingImage, ...]:
    found = []
    for item in approval.media_of(pending) or []:
        media = session.get(MediaFile, item["id"])
        if media is not None:  # checked when it was sent; uploads are never deleted while used
            found.append(PendingImage(file_view(media)["url"], item["alt"]))
    return tuple(found)


def _card(session: Session, pending: PendingVersion, viewer: Actor, now: datetime) -> PendingCard:
    before_headline = before_body = update_seq = None
    if pending.update_id is not None:
        update = get_update(session, pending.update_id)
        update_seq = update.seq
        if pending.state == "pending":
            current = latest_version(session, update)
            before_headline, before_body = current.headline, current.body
    return PendingCard(
        id=pending.id,
        version=approval.number_of(pending),
        kind=pending.kind,
        incident_slug=pending.incident.slug,
        incident_title=pending.incident.title,
        update_id=pending.update_id,
        update_seq=update_seq,
        headline=pending.headline,
        body=pending.body,
        reason=pending.reason,
        author=pending.author_name,
        preliminary=pending.preliminary,
        state=pending.state,
        own=pending.author_id == viewer.user_id,
        created_at=pending.created_at,
        waited_minutes=max(0, int((now - pending.created_at).total_seconds() // 60)),
        before_headline=before_headline,
        before_body=before_body,
        comment=pending.comment,
        decided_by=pending.decided_by,
        alerting=approval.alerting_of(pending),
        images=_images(session, pending),
    )


@dataclass(frozen=True)
class ApprovalBoard:
    waiting: list[PendingCard]
    returned: list[PendingCard]  # the viewer's own, sent back
    bypassed: list[Bypass]


def board(session: Session, viewer: Actor, now: datetime) -> ApprovalBoard:
    returned = approval.returned_to(session, viewer.user_id, limit=10) if viewer.user_id is not None else []
    return ApprovalBoard(
        waiting=[_card(session, pending, viewer, now) for pending in approval.waiting(session)],
        returned=[_card(session, pending, viewer, now) for pending in returned],
        bypassed=approval.bypasses(session, limit=10),
    )


@dataclass(frozen=True)
class PendingScreen:
    card: PendingCard
    alert_status: AlertStatus
    seq: int  # the update's, or the one a new update would get
    earlier: list[UpdateVersion]  # the update's published versions, oldest first


def _screen(session: Session, pending_id: int, viewer: Actor, now: datetime) -> PendingScreen:
    pending = row_by_id(session, PendingVersion, pending_id, "pending version")
    incident = pending.incident
    if pending.update_id is not None:
        update = get_update(session, pending.update_id)
        seq, earlier = update.seq, versions_of(session, update.id)
    else:
        newest = session.scalar(select(func.max(Update.seq)).where(Update.incident_id == incident.id))
        seq, earlier = (newest or 0) + 1, []
    return PendingScreen(_card(session, pending, viewer, now), incident.alert_status, seq, earlier)


@access(Access.READER, STAFF)
async def pending_page(request: Request, viewer: Viewer) -> Response:
    """One pending version as its approver checks it: the same previews on every channel and
    the word diff from the current version the author's own review showed."""
    return await _pending_screen(request, viewer)


async def _pending_screen(
    request: Request,
    viewer: Viewer,
    *,
    comment: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The pending version's screen; after a refused decision, with the comment as typed and why."""
    state = app_state(request)
    now = state.clock()
    pending_id = request.path_params["pending_id"]
    try:
        screen = await state.read(lambda session: _screen(session, pending_id, viewer.actor, now))
    except DomainError as exc:
        return refused_page(request, viewer, exc)
    card = screen.card
    current = screen.earlier[-1] if screen.earlier else None
    preliminary = card.preliminary if card.preliminary is not None else bool(current and current.preliminary)
    draft = DraftText(card.headline or "", card.body, preliminary, card.reason or "")

    def preview() -> previews.ChannelPreview:
        # Measuring a post can take seconds for long CJK text: not on the event loop.
        return previews.preview(
            draft,
            kind=VersionKind(card.kind),
            incident_slug=card.incident_slug,
            alert_status=screen.alert_status,
            public_url=state.settings.public_url,
            seq=screen.seq,
            now=now,
            update_id=card.update_id or 0,
            earlier=screen.earlier,
            author_name=card.author,
            post_rules=state.post_rules(),
            incident_title=card.incident_title,
            alerting=card.alerting,
        )

    context = {
        "card": card,
        "preview": await run_in_threadpool(preview),
        "comment": comment,
        "decision_errors": errors or {},
    }
    return render(request, "console/pending.html", context, viewer=viewer, status_code=status_code)


def _decided_by_viewer(session: Session, pending_id: int, viewer: Actor, decision: str) -> str | None:
    """The state a pending version is in when this viewer already decided it so (their first
    click of a double click, or a form sent again after a lost answer); None otherwise."""
    pending = session.get(PendingVersion, pending_id)
    wanted = {"approve": "approved", "return": "returned"}.get(decision)
    if pending is None or viewer.user_id is None or pending.decided_by_id != viewer.user_id:
        return None
    return pending.state if pending.state == wanted else None


@access(Access.PUBLISHER, STAFF)
async def decide_view(request: Request, viewer: Viewer) -> Response:
    """Approve or return a pending version from the dashboard."""
    state = app_state(request)
    form = await read_form(request)
    pending_id = request.path_params["pending_id"]
    version = form.integer("version") or 0
    decision = form.text("decision")
    comment = form.text("comment") or None

    def work(session: Session) -> str:
        decided = approval.decide(
            session,
            viewer.actor,
            pending_id,
            version=version,
            decision=decision,
            comment=comment,
            languages=state.languages,
            routing=state.routing,
        )
        return decided.pending.state

    try:
        decided_state = await state.write(work)
    except InvalidInput as exc:  # nothing decided: the screen again, the comment as typed
        return await _pending_screen(
            request, viewer, comment=form.text("comment"), errors=exc.fields, status_code=422
        )
    except NotAllowed as exc:
        earlier = await state.read(
            lambda session: _decided_by_viewer(session, pending_id, viewer.actor, decision)
        )
        if earlier is not None:  # this approver's own first click: where it led
            return see_other(request, f"/console?notice={earlier}")
        return refused_page(request, viewer, exc)
    except DomainError as exc:
        return refused_page(request, viewer, exc)
    return see_other(request, f"/console?notice={decided_state}")
