"""In Chromium (issue 18): a PIO uploads a photo in the console, types its alt text, reviews
and publishes; the live page shows the image with that alt text, without its GPS position."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.settings import Settings
from tests.conftest import PIO
from tests.support.browser import screenshot, wait_until_true
from tests.support.factories import make_user
from tests.support.images import GPS_IFD, photo_with_gps
from tests.support.live_server import LiveServer, serve
from tests.web.staff.test_browser import Watch, sign_in

WAIT = 10_000


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(settings) as live:
        yield live


def test_a_pio_uploads_an_image_with_alt_text_and_residents_see_it(
    server: LiveServer, page: Page, db: Database, routing: Routing, tmp_path: Path
) -> None:
    watch = Watch(page)
    make_user(db, "pio", "pio@example.org")
    with db.write() as session:
        create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=routing)
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(photo_with_gps(1200, 800))

    sign_in(page, server.url, "pio@example.org")
    page.goto(f"{server.url}/console/incidents/bridge-fire")
    page.fill("#compose-body", "Smoke over the bridge. Avoid the area.")
    page.set_input_files("#compose-image-file", str(photo))
    page.get_by_role("button", name="Upload image").click()
    thumbnail = page.locator("#compose-media .compose-image img")
    expect(thumbnail).to_have_count(1, timeout=WAIT)
    # Review without alt text: the browser holds the form (the server refuses it too:
    # tests/web/staff/test_media_form.py).
    page.get_by_role("button", name="Review and publish…").click()
    expect(page.locator("#compose-media textarea[name=media_alt]:invalid")).to_have_count(1)
    expect(page.get_by_role("heading", name="Check before publishing")).to_have_count(0)
    page.locator("#compose-media textarea[name=media_alt]").fill("Grey smoke above the Main St bridge")
    screenshot(page, "console-media-compose")
    page.get_by_role("button", name="Review and publish…").click()
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"), timeout=WAIT)

    page.goto(f"{server.url}/incidents/bridge-fire")
    image = page.locator(".update__images img")
    expect(image).to_have_attribute("alt", "Grey smoke above the Main St bridge")
    expect(image).to_have_attribute("width", "800")
    expect(image).to_have_attribute("height", "1200")
    wait_until_true(page, "document.querySelector('.update__images img').complete")
    assert page.evaluate("document.querySelector('.update__images img').naturalWidth") > 0
    screenshot(page, "live-page-with-image")
    served = page.request.get(f"{server.url}{image.get_attribute('src')}")
    assert served.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(served.body())).getexif().get_ifd(GPS_IFD)
    assert hashlib.sha256(served.body()).hexdigest() in str(image.get_attribute("src"))
    assert watch.problems == []
