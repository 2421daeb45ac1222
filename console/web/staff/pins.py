"""The incident screen's "What to do now" buttons: pin an update, or unpin (issue 13.6)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.domain.errors import DomainError
from console.domain.pins import pin_update
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import read_form
from console.web.staff.rendering import error_page, refused_page, see_other
from console.web.state import app_state


@access(Access.PUBLISHER, STAFF)
async def pin(request: Request, viewer: Viewer) -> Response:
    """`seq`: the update to pin; empty unpins."""
    state = app_state(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    typed = form.text("seq").strip()
    if typed and not typed.isdigit():
        return error_page(request, viewer, "The update to pin must be given by its number.", 422)
    seq = int(typed) if typed else None
    try:
        await state.write(lambda session: pin_update(session, viewer.actor, slug, seq, routing=state.routing))
    except DomainError as exc:
        return refused_page(request, viewer, exc)
    return see_other(request, f"/console/incidents/{slug}?notice={'pinned' if seq else 'unpinned'}")
