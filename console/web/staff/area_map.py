"""The console's drawing map (issue 17): the incident screen's "Correct details" form draws
the mapped area on Leaflet (`static/js/area_map.js`), over tiles from MAP_TILES_URL."""

from __future__ import annotations

from console.settings import Settings
from console.web.middleware import content_security_policy, websocket_origin


def map_page_headers(settings: Settings, can_publish: bool) -> dict[str, str] | None:
    """The policy of a page that shows the map: the tiles' origin allowed for images, on that
    page only (every other page keeps the app's own policy). None where there is no map."""
    if not can_publish or settings.map_tiles_origin is None:
        return None
    policy = content_security_policy([websocket_origin(settings.public_url)], [settings.map_tiles_origin])
    return {"Content-Security-Policy": policy}
