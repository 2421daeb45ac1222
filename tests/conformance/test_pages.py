"""Every HTML document the app makes conforms: the Nu HTML Checker finds no error in any
public page, console page, live frame or offline snapshot page, and axe-core finds no
accessibility violation on any page a browser opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conformance.checkers import axe_violations, vnu_errors
from tests.conformance.site import Site, seeded_site
from tests.live.support import correct, publish

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with seeded_site(migrated_template, tmp_path_factory.mktemp("conformance")) as served:
        yield served


def test_every_document_has_no_html_error(site: Site, tmp_path: Path) -> None:
    errors = vnu_errors(site.documents, tmp_path / "documents")
    kinds = {
        "public": [
            name for name in errors if name.startswith(("/", "POST")) and not name.startswith("/console")
        ],
        "console": [name for name in errors if name.startswith("/console")],
        "live frame": [name for name in errors if name.startswith("live frame")],
        "snapshot": [name for name in errors if name.startswith("snapshot")],
    }
    assert all(kinds.values()), kinds  # each kind of document was checked
    assert site.record.frame_count >= 10  # the record's whole history was pushed
    failing = {name: found for name, found in errors.items() if found}
    report = "\n".join(
        f"{name}: {len(found)} errors\n  " + "\n  ".join(found[:10]) for name, found in failing.items()
    )
    assert not failing, f"{len(failing)} of {len(errors)} documents have errors:\n{report}"


def test_every_page_has_no_accessibility_violation(site: Site, browser: Browser) -> None:
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": site.server.url} for c in site.cookies]
    )
    page = context.new_page()
    found = {}
    try:
        for name, url in site.urls.items():
            answer = page.goto(url)
            assert answer is None or answer.status in (200, 400, 404, 422), name
            found[name] = axe_violations(page)
    finally:
        context.close()
    assert any(name.startswith("/console/") for name in found) and any(
        name.startswith("snapshot") for name in found
    )
    failing = {name: violations for name, violations in found.items() if violations}
    report = "\n".join(f"{name}:\n  " + "\n  ".join(v) for name, v in failing.items())
    assert not failing, f"{len(failing)} of {len(found)} pages have violations:\n{report}"


def test_live_pages_conform_after_frames_land(site: Site, browser: Browser, tmp_path: Path) -> None:
    """The live pages as htmx leaves them after a new update and a correction arrive over the
    websocket: the page's DOM checked by vnu and axe."""
    context = browser.new_context()
    pages = {path: context.new_page() for path in ("/", f"/incidents/{site.record.active}")}
    try:
        for path, page in pages.items():
            page.goto(site.server.url + path)
            expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
        new = publish(site.server.url, site.token, site.record.active, "Boil water before drinking it.")
        correct(
            site.server.url, site.token, new["id"], "Boil tap water before drinking it.", "Tap water only", 1
        )
        documents = {}
        for path, page in pages.items():
            expect(page.get_by_text("Boil tap water before drinking it.").first).to_be_visible()
            assert axe_violations(page) == [], path
            documents[f"{path} after live frames"] = page.content()
    finally:
        context.close()
    errors = vnu_errors(documents, tmp_path / "documents")
    assert errors == {name: [] for name in documents}


def test_the_console_drawing_map_conforms_once_open(site: Site, browser: Browser, tmp_path: Path) -> None:
    """The incident screen with "Correct details" open: the drawing map (Leaflet, Leaflet.draw)
    as its script leaves the DOM, checked by axe and vnu."""
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": site.server.url} for c in site.cookies]
    )
    page = context.new_page()
    try:
        page.goto(f"{site.server.url}/console/incidents/{site.record.active}")
        page.locator("summary", has_text="Correct details").click()
        expect(page.locator("[data-area-map] .leaflet-tile-loaded").first).to_be_visible()
        expect(page.locator("[data-area-map] path.leaflet-interactive")).not_to_have_count(0)  # its area
        violations = axe_violations(page)
        document = page.content()
    finally:
        context.close()
    assert violations == []
    errors = vnu_errors({"console incident, map open": document}, tmp_path / "documents")
    assert errors == {"console incident, map open": []}
