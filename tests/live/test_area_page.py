"""The mapped area on the live incident page (issue 17): its description and an inline SVG
outline without JavaScript, pushed when it changes, and "Am I in the area?" checking a typed
or allowed location in Chromium, in the page (nothing sent)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.testclient import TestClient

from console.db import Database
from console.settings import Settings
from console.web.app import create_app
from tests.live.support import api, new_incident
from tests.support.factories import bearer, make_token
from tests.support.live_server import LiveServer

TIMEOUT = 10_000  # ms
SQUARE = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
AREA = {
    "description": "Downtown, between 1st and 14th Streets",
    "polygons": [SQUARE],
    "circles": [{"lat": 38.80, "lon": -77.10, "radius_km": 2}],
}
INSIDE_SQUARE, INSIDE_CIRCLE, OUTSIDE = "38.915, -77.02", "38.805 -77.105", "38.95, -77.02"


@pytest.fixture
def web(live_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(live_settings, live_poll_seconds=60))) as test_client:
        yield test_client


@pytest.fixture
def token(db: Database) -> str:
    return make_token(db, "pio")


def set_area(web: TestClient, token: str, slug: str, area: dict[str, Any], version: int) -> None:
    response = web.post(
        f"/api/v1/incidents/{slug}/details",
        json={"area": area, "reason": "Area mapped", "corrects_version": version},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text


def test_the_page_shows_the_area_description_and_outline_without_javascript(
    web: TestClient, token: str
) -> None:
    slug = web.post("/api/v1/incidents", json={"title": "Gas leak"}, headers=bearer(token)).json()["slug"]
    other = web.post("/api/v1/incidents", json={"title": "Fire"}, headers=bearer(token)).json()["slug"]
    set_area(web, token, slug, AREA, 1)
    page = web.get(f"/incidents/{other}").text
    assert '<section id="incident-area" class="incident-area" hidden>' in page and "<svg" not in page
    page = web.get(f"/incidents/{slug}").text
    section = page[
        page.index('<section id="incident-area"') : page.index("</section>", page.index('id="incident-area"'))
    ]
    assert '<p class="incident-area__description">Downtown, between 1st and 14th Streets</p>' in section
    svg = section[section.index("<svg") : section.index("</svg>")]
    assert re.search(r'<polygon class="incident-area__shape" points="[\d., ]+"/>', svg)
    assert '<circle class="incident-area__shape"' in svg
    assert "<title" in svg and "Downtown, between 1st and 14th Streets" in svg
    # The check is there for the script to show, hidden without it; the privacy promise with it.
    assert '<form class="area-check" data-area-check hidden' in section
    assert "never sent to us or to anyone else" in section
    assert '<script src="/static/js/area.js" defer></script>' in page


def test_a_pushed_details_change_carries_the_area(web: TestClient, token: str) -> None:
    slug = web.post("/api/v1/incidents", json={"title": "Gas leak"}, headers=bearer(token)).json()["slug"]
    with web.websocket_connect(f"/live?incident={slug}") as socket:
        socket.send_json({"last_event_id": 0})
        set_area(web, token, slug, AREA, 1)
        frames = ""
        for _ in range(10):
            frames += socket.receive_text()
            if 'id="incident-area"' in frames:
                break
    assert (
        '<section id="incident-area" class="incident-area" aria-labelledby="incident-area-heading" '
        'data-hx-swap-oob="true"' in frames
    )
    assert "Downtown, between 1st and 14th Streets" in frames and "<polygon" in frames


def test_am_i_in_the_area_checks_a_typed_location_in_the_browser(
    live: LiveServer, page: Page, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak")
    api(
        live.url,
        pio_token,
        f"/incidents/{slug}/details",
        {"area": AREA, "reason": "Mapped", "corrects_version": 1},
    )
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live.url}/incidents/{slug}")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
    form = page.locator("form[data-area-check]")
    expect(form).to_be_visible()
    assert page.locator("#incident-area svg").bounding_box()["width"] <= 320  # type: ignore[index]
    result = form.locator("[data-area-result]")
    before = page.evaluate("performance.getEntriesByType('resource').length")
    for typed, answer in (
        (INSIDE_SQUARE, "Yes"),
        (OUTSIDE, "No"),
        (INSIDE_CIRCLE, "Yes"),
        ("north", "Type a"),
    ):
        form.locator("input").fill(typed)
        form.locator("button[type=submit]").click()
        expect(result).to_contain_text(answer, timeout=TIMEOUT)
    assert page.url == f"{live.url}/incidents/{slug}"  # the form was never sent
    assert page.evaluate("performance.getEntriesByType('resource').length") == before


def test_am_i_in_the_area_uses_the_browser_location_when_allowed(
    live: LiveServer, browser: Browser, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak")
    api(
        live.url,
        pio_token,
        f"/incidents/{slug}/details",
        {"area": AREA, "reason": "Mapped", "corrects_version": 1},
    )
    context = browser.new_context()
    try:
        context.grant_permissions(["geolocation"], origin=live.url)
        context.set_geolocation({"latitude": 38.915, "longitude": -77.02})
        page = context.new_page()
        page.goto(f"{live.url}/incidents/{slug}")
        form = page.locator("form[data-area-check]")
        form.locator("[data-area-locate]").click()
        expect(form.locator("[data-area-result]")).to_contain_text("Yes", timeout=TIMEOUT)
        context.set_geolocation({"latitude": 38.95, "longitude": -77.02})
        form.locator("[data-area-locate]").click()
        expect(form.locator("[data-area-result]")).to_contain_text("No", timeout=TIMEOUT)
    finally:
        context.close()
