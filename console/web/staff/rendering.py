"""Rendering console screens: the whole page, or one block of it for htmx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.domain.errors import DomainError
from console.web.bearer import DOMAIN_STATUS
from console.web.state import app_state

if TYPE_CHECKING:
    from console.web.staff.auth import Viewer

# Messages shown after a redirect, by code: the URL never carries text of its own.
NOTICES = {
    "incident_created": "Incident created. It is on the live page now; publish its first update below.",
    "published": "Published. Delivery to each channel is shown below and updates by itself.",
    "pending_approval": "Sent for approval: nothing goes out until another PIO or an admin approves it.",
    "approved": "Approved and published: it goes out on every channel now.",
    "returned": "Returned to its author with your comment; nothing was published.",
    "corrected": "Correction published. Delivery to each channel is shown below.",
    "confirmed": "Confirmed: PRELIMINARY is removed on every channel.",
    "retracted": "Retracted. The text stays, struck through, with your reason.",
    "resolved": "Incident resolved: the all-clear is going out on every channel.",
    "reopened": "Incident reopened: the reason is going out on every channel.",
    "details_changed": "Details corrected on every channel; the old version stays in the public history.",
    "details_translated": "Details translated: readers of that language see them now.",
    "pinned": "Pinned: it is shown first as “What to do now” on the live page, in the feeds and in CAP.",
    "unpinned": "Unpinned: nothing is shown as “What to do now”.",
    "template_saved": "Template saved. PIOs can start an update from it now.",
    "template_deleted": "Template deleted. It is no longer offered; its versions stay on record.",
    "password_changed": "Password changed. Other sessions of your account were signed out.",
    "retry_requested": "Delivery queued again.",
    "channel_resumed": "Channel resumed: what waited is being delivered, in order.",
    "token_revoked": "Token revoked: it no longer works.",
    "user_disabled": "Account disabled: its sessions are ended and its API tokens revoked.",
    "user_enabled": "Account enabled: it can sign in again. Its old API tokens stay revoked.",
    "user_role_changed": "Role changed.",
    "sessions_ended": "Every other session of your account is signed out.",
    "translated": "Translation added: readers of that language see it now.",
    "rumor_published": "Rumor response published: it goes out on every channel, labelled RUMOR CONTROL.",
    "rumor_corrected": "Rumor response corrected: the new version goes out on every channel.",
}


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    block: str | None = None,
    headers: Mapping[str, str] | None = None,
    block_alone: bool = False,
) -> Response:
    """The page, or only `block` when htmx asked (one template renders both); `block_alone`:
    only `block` whoever asked (the answer to a request only htmx makes)."""
    full: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": viewer.csrf if viewer else None,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **context,
    }
    templates = app_state(request).templates
    if block is not None and (is_htmx(request) or block_alone):
        return templates.TemplateResponse(
            request, name, full, status_code=status_code, headers=headers, block_name=block
        )
    return templates.TemplateResponse(request, name, full, status_code=status_code, headers=headers)


def error_page(
    request: Request,
    viewer: Viewer | None,
    message: str,
    status_code: int,
    *,
    block: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    context = {"message": message, "status_code": status_code}
    page = "console/error.html"
    return render(
        request, page, context, viewer=viewer, status_code=status_code, block=block, headers=headers
    )


def refused_page(request: Request, viewer: Viewer, exc: DomainError) -> Response:
    """The error page for an action the domain refused, with the status the API gives it."""
    return error_page(request, viewer, exc.message, DOMAIN_STATUS[type(exc)])


def see_other(request: Request, url: str) -> Response:
    """After a successful POST: a redirect (POST/redirect/GET), or a full navigation for htmx."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
