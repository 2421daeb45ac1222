"""The console's drawing map in headless Chromium (issue 17): a PIO draws a polygon with
Leaflet.draw on the "Correct details" form, over tiles from a local tile server (MAP_TILES_URL);
the map writes it into the "Mapped area" field, and once sent it is on the live page, in CAP and
in the JSON. No Content-Security-Policy violation on the way: the page allows the tiles' origin."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest
from lxml import etree
from playwright.sync_api import Page, expect

from console.db import Database
from console.domain.area import cap_polygon, stored_area
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.models import Incident
from console.settings import Settings
from tests.conftest import PIO
from tests.support.browser import screenshot
from tests.support.factories import make_user
from tests.support.live_server import LiveServer, serve
from tests.support.tiles import TILE_PATH, TileServer
from tests.web.staff.test_browser import Watch, sign_in

pytestmark = pytest.mark.slow

WAIT = 10_000  # ms
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
BOW_TIE = "38.9,-77.04 38.93,-77 38.9,-77 38.93,-77.04 38.9,-77.04"


@pytest.fixture
def tiles() -> Iterator[TileServer]:
    with TileServer() as server:
        yield server


@pytest.fixture
def server(settings: Settings, tiles: TileServer) -> Iterator[LiveServer]:
    mapped = replace(
        settings,
        map_tiles_url=tiles.tiles_url,
        map_tiles_attribution="© Test Tiles & contributors",
        live_poll_seconds=0.2,
    )
    with serve(mapped) as live:
        yield live


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_a_polygon_drawn_on_the_console_map_is_on_the_live_page_in_cap_and_in_the_json(
    server: LiveServer, tiles: TileServer, page: Page, db: Database, routing: Routing
) -> None:
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)[0].slug
    watch = Watch(page)
    # Every violation of the page's CSP, as the page itself sees them (reported or not)
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (event) => window.cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));"
    )
    page.set_viewport_size({"width": 1000, "height": 900})
    sign_in(page, server.url, "ana@example.org")
    response = page.goto(f"{server.url}/console/incidents/{slug}")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert f"img-src 'self' data: {tiles.url};" in csp and "style-src 'self';" in csp

    page.wait_for_load_state("networkidle")
    assert tiles.requested == []  # no map, and no tile fetched, until the form is opened
    page.locator("summary", has_text="Correct details").click()
    container = page.locator("[data-area-map]")
    expect(container).to_be_visible()
    expect(container.locator(".leaflet-tile-loaded").first).to_be_visible(timeout=WAIT)
    assert any(TILE_PATH.match(path) for path in tiles.requested)
    expect(container.locator(".leaflet-control-attribution")).to_contain_text("© Test Tiles & contributors")

    # Typed in the field, the area is drawn on the map; refused, it comes back (htmx swaps the
    # form) with the map set up again and the typing on it.
    field = page.locator("#details-area")
    field.fill(BOW_TIE)
    shapes = container.locator("path.leaflet-interactive")
    expect(shapes).to_have_count(1)
    page.fill("#details-reason", "Area mapped")
    page.get_by_role("button", name="Publish details change").click()
    expect(page.locator("#details")).to_contain_text("Self-intersection", timeout=WAIT)
    expect(field).to_have_value(BOW_TIE)
    expect(container).to_have_attribute("data-area-map-ready", "true")
    expect(shapes).to_have_count(1)
    field.fill("not an area")
    expect(container.locator("[role=status]")).to_contain_text("cannot show what is typed")
    field.fill("")
    expect(shapes).to_have_count(0)

    # Leaflet.draw's polygon tool: four corners, then the first again to close it.
    container.locator(".leaflet-draw-draw-polygon").click()
    box = container.locator(".area-map").bounding_box()
    assert box is not None
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(-60, -40), (60, -40), (60, 40), (-60, 40), (-60, -40)]
    for dx, dy in corners:
        page.mouse.move(middle_x + dx, middle_y + dy)
        page.mouse.click(middle_x + dx, middle_y + dy)
        page.wait_for_timeout(150)  # Leaflet.draw ignores a click within 50 ms of the last one
    expect(field).to_have_value(re.compile(r'^\{"type":"Polygon"'), timeout=WAIT)
    drawn = json.loads(field.input_value())
    ring = [[lat, lon] for lon, lat in drawn["coordinates"][0]]
    assert len(ring) == 5 and ring[0] == ring[-1]
    screenshot(page, "console-area-map-drawn")
    assert page.evaluate("window.cspViolations") == []

    page.fill("#details-area_description", "Around the leak")
    page.get_by_role("button", name="Publish details change").click()
    expect(page).to_have_url(re.compile(r"notice=details_changed"), timeout=WAIT)
    with db.read() as session:
        area = stored_area(session.query(Incident).filter_by(slug=slug).one().area)
    assert area == {"description": "Around the leak", "polygons": [ring], "circles": [], "geocodes": []}
    # Shown again for the next change: the map reads the field back and draws it.
    page.locator("summary", has_text="Correct details").click()
    expect(page.locator("[data-area-map] path.leaflet-interactive")).to_have_count(1)

    live = page.context.new_page()
    live.goto(f"{server.url}/incidents/{slug}")
    expect(live.locator("#incident-area svg polygon.incident-area__shape")).to_have_count(1)
    expect(live.locator("#incident-area")).to_contain_text("Around the leak")

    geojson = json.loads(fetch(f"{server.url}/incidents/{slug}.json"))["area"]
    assert geojson["geometry"]["type"] == "Polygon"
    points = geojson["geometry"]["coordinates"][0]
    assert sorted(map(tuple, points[:-1])) == sorted((lon, lat) for lat, lon in ring[:-1])

    page.fill("#compose-body", "Leave the area around the leak.")
    page.get_by_role("button", name="Review and publish…").click()
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".update-row .chip[data-channel=feeds]")).to_have_attribute(
        "data-state", "sent", timeout=WAIT
    )
    cap = etree.fromstring(fetch(f"{server.url}/incidents/{slug}/cap/1-1.xml"))
    assert [p.text for p in cap.iter(f"{CAP}polygon")] == [cap_polygon(ring)]
    assert watch.problems == []


def test_shapes_drawn_beside_circles_and_geocodes_keep_them(
    server: LiveServer, page: Page, db: Database, routing: Routing
) -> None:
    """Circles and geocodes have no GeoJSON geometry: with them the map writes the form's own
    JSON, so a rectangle drawn beside them adds a polygon and loses nothing."""
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    square = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
    area = {
        "description": "Downtown",
        "polygons": [square],
        "circles": [{"lat": 38.915, "lon": -77.02, "radius_km": 0.5}],
        "geocodes": [{"name": "SAME", "value": "011001"}],
    }
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)[0].slug
        change_details(
            session, PIO, slug, DetailsDraft(area=area), reason="Mapped", corrects_version=1, routing=routing
        )
    watch = Watch(page)
    page.set_viewport_size({"width": 1000, "height": 900})
    sign_in(page, server.url, "ana@example.org")
    page.goto(f"{server.url}/console/incidents/{slug}")
    page.locator("summary", has_text="Correct details").click()
    container = page.locator("[data-area-map]")
    expect(container.locator("path.leaflet-interactive")).to_have_count(2)  # the square and the circle

    container.locator(".leaflet-draw-draw-rectangle").click()
    box = container.locator(".area-map").bounding_box()
    assert box is not None
    x, y = box["x"] + 40, box["y"] + box["height"] - 80  # bottom left: clear of the area
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 40, steps=5)
    page.mouse.up()
    expect(container.locator("path.leaflet-interactive")).to_have_count(3)
    typed = json.loads(page.locator("#details-area").input_value())
    assert set(typed) == {"polygons", "circles", "geocodes"}
    assert typed["polygons"][0] == square and len(typed["polygons"][1]) == 5
    assert typed["circles"] == area["circles"] and typed["geocodes"] == area["geocodes"]

    page.fill("#details-reason", "Staging area added")
    page.get_by_role("button", name="Publish details change").click()
    expect(page).to_have_url(re.compile(r"notice=details_changed"), timeout=WAIT)
    with db.read() as session:
        stored = stored_area(session.query(Incident).filter_by(slug=slug).one().area)
    assert stored == {**area, "polygons": typed["polygons"]}
    assert watch.problems == []
