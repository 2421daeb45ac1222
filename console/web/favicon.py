"""GET /favicon.ico: the site's icon, where browsers and feed readers look for it first."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from console.web.access import Access, access

ICON = Path(__file__).resolve().parents[2] / "static" / "favicon.ico"
CACHE = {"Cache-Control": "public, max-age=86400"}


@access(Access.PUBLIC)
async def favicon(request: Request) -> Response:
    return FileResponse(ICON, media_type="image/vnd.microsoft.icon", headers=CACHE)
