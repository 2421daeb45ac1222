"""The mapped area in the console's "Correct details" form (issue 17): typed as GeoJSON or as
"lat,lon ..." lines, shown again for the next change, refused with the typing kept; the
drawing map offered to those who can change it, with its tiles' origin allowed on that page."""

from __future__ import annotations

import html
import json
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain.area import stored_area
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.models import Incident
from console.settings import Settings, SettingsError
from console.web.app import create_app
from console.web.middleware import DEFAULT_CSP
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in
from tests.web.staff.test_incident_details_form import details_rows, form

SQUARE = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
LINES = " ".join(f"{lat},{lon}" for lat, lon in SQUARE)
GEOJSON = json.dumps({"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in SQUARE]]})


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas laek", location="Elm St", category="Fire"), routing=routing
        )
        return created.slug


def area_of_incident(db: Database, slug: str) -> object:
    with db.read() as session:
        incident = session.query(Incident).filter_by(slug=slug).one()
        return stored_area(incident.area)


@pytest.mark.parametrize("typed", [LINES, GEOJSON], ids=["lines", "geojson"])
def test_an_area_typed_in_the_form_is_a_new_details_version(
    client: TestClient, db: Database, incident: str, typed: str
) -> None:
    token = sign_in(client, email_of("pio"))
    done = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, area=typed, area_description="Downtown", reason="Area mapped"),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert area_of_incident(db, incident) == {
        "description": "Downtown",
        "polygons": [SQUARE],
        "circles": [],
        "geocodes": [],
    }
    assert [row.version for row in details_rows(db)] == [1, 2]
    page = client.get(f"/console/incidents/{incident}").text
    assert 'value="Downtown"' in page and "38.93" in page  # shown for the next change
    # Sent again as shown (with a title change): the area is not a change.
    shown = page.split('name="area"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    again = client.post(
        f"/console/incidents/{incident}/details",
        data=form(
            token,
            title="Gas leak",
            area=html.unescape(shown).strip(),
            area_description="Downtown",
            reason="Typo",
            corrects_version="2",
        ),
        follow_redirects=False,
    )
    assert again.status_code == 303, again.text
    rows = details_rows(db)
    assert rows[-1].version == 3 and rows[-1].area == rows[-2].area


def test_a_bad_area_is_refused_with_the_typing_kept(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("pio"))
    bow_tie = "38.90,-77.04 38.93,-77.00 38.90,-77.00 38.93,-77.04 38.90,-77.04"
    refused = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, area=bow_tie, area_description="Downtown", reason="Area mapped"),
    )
    assert refused.status_code == 422
    assert "Self-intersection" in refused.text and bow_tie in refused.text
    assert [row.version for row in details_rows(db)] == [1]


def test_the_incident_screen_offers_the_drawing_map_and_allows_its_tiles_there_only(
    client: TestClient, incident: str
) -> None:
    sign_in(client, email_of("pio"))
    screen = client.get(f"/console/incidents/{incident}")
    policy = screen.headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy
    assert "connect-src 'self' ws://" in policy  # the rest of the app's policy, kept
    page = screen.text
    assert '<script src="/static/js/area_map.js" defer></script>' in page
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in page
    assert (
        'data-area-map="details-area" data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png" '
        'data-attribution="© OpenStreetMap contributors" hidden>'
    ) in page
    assert "tile.openstreetmap.org" not in client.get("/console").headers["content-security-policy"]


def test_a_reviewer_gets_no_map_and_no_tiles(client: TestClient, incident: str) -> None:
    sign_in(client, email_of("reviewer"))
    screen = client.get(f"/console/incidents/{incident}")
    assert screen.status_code == 200
    assert "tile.openstreetmap.org" not in screen.headers["content-security-policy"]
    assert "area_map.js" not in screen.text and "leaflet" not in screen.text


def test_without_map_tiles_the_area_is_typed_only(settings: Settings, incident: str) -> None:
    with TestClient(create_app(replace(settings, map_tiles_url=None))) as client:
        sign_in(client, email_of("pio"))
        screen = client.get(f"/console/incidents/{incident}")
        assert screen.headers["content-security-policy"] == DEFAULT_CSP.replace(
            "connect-src 'self'", "connect-src 'self' ws://127.0.0.1:8000"
        )
        assert "data-area-map" not in screen.text and "leaflet" not in screen.text
        assert 'name="area"' in screen.text


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example.org:8443/v1/{z}/{x}/{y}@2x.png", "https://*.tiles.example.org:8443"),
    ],
)
def test_map_tiles_url_gives_the_origin_images_are_allowed_from(url: str, origin: str) -> None:
    assert Settings.from_environ({"MAP_TILES_URL": url}).map_tiles_origin == origin


@pytest.mark.parametrize(
    "url",
    [
        "tile.openstreetmap.org/{z}/{x}/{y}.png",
        "ftp://tiles.example.org/{z}/{x}/{y}.png",
        "https://t.org/{z}/{x}.png",
    ],
)
def test_a_map_tiles_url_that_is_not_a_tile_template_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="MAP_TILES_URL must be an absolute http"):
        Settings.from_environ({"MAP_TILES_URL": url})


def test_a_blank_map_tiles_url_turns_the_map_off() -> None:
    assert Settings.from_environ({"MAP_TILES_URL": ""}).map_tiles_origin is None
