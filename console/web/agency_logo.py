"""GET /agency/logo: the agency's logo (AGENCY_LOGO), from our own origin, as the public
header shows it (console/agency.py). 404 when none is set or the file is not there."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from console.settings import LOGO_TYPES
from console.web.access import Access, access
from console.web.state import app_state

CACHE = {"Cache-Control": "public, max-age=3600"}


@access(Access.PUBLIC)
async def agency_logo(request: Request) -> Response:
    logo = app_state(request).settings.agency_logo
    if logo is None or not logo.is_file():
        return Response("No agency logo is set.", status_code=404, media_type="text/plain")
    return FileResponse(logo, media_type=LOGO_TYPES[logo.suffix.lower()], headers=CACHE)
