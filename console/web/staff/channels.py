"""Channel health in the console: a paused channel shows why, and a PIO resumes it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.domain import channel_health
from console.domain.errors import NotAllowed
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer, flash
from console.web.staff.rendering import is_htmx, see_other
from console.web.state import app_state


@access(Access.PUBLISHER, STAFF)
async def resume_channel(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    name = request.path_params["channel"]
    if name not in dict(state.enabled_channels()):
        return flash(request, viewer, f"No enabled channel called {name!r}.", 404)
    try:
        await state.write(
            lambda session: channel_health.resume(session, viewer.actor, name, now=state.clock())
        )
    except NotAllowed as exc:
        return flash(request, viewer, exc.message, 409)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Trigger": "deliveries-changed"})
    return see_other(request, "/console?notice=channel_resumed")
