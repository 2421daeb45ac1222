"""The archive in Chromium: readable without JavaScript, and with htmx the filters refresh the
results in place (no reload, the address follows, nothing breaks the Content-Security-Policy)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from console.db import Database
from console.domain.outbox import Routing
from tests.archive.conftest import T0, make_incident, publish_history
from tests.support.browser import screenshot
from tests.support.live_server import LiveServer


def test_filters_refresh_the_results_in_place(
    served: LiveServer, db: Database, routing: Routing, own_page: Page
) -> None:
    page = own_page
    publish_history(db, routing, title="Gas leak on Elm St")
    make_incident(db, routing, "Flooding downtown", at=T0 + timedelta(days=1), category="Met")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    failed: list[str] = []
    page.on(
        "response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )
    page.goto(f"{served.url}/archive")
    assert page.locator(".archive-entry").count() == 2
    page.evaluate("window.__same_document = true")
    page.fill("#q", "evacuated")
    expect(page.locator(".archive-entry")).to_have_count(1)
    assert page.locator(".archive-entry h2").inner_text() == "Gas leak on Elm St"
    assert page.evaluate("window.__same_document") is True, "no reload"
    page.wait_for_url("**/archive?q=evacuated**")
    page.select_option("#category", "Met")
    expect(page.locator(".archive-results__count")).to_have_text("No incidents match.")
    screenshot(page, "archive-filtered")
    assert errors == [] and failed == []


def test_history_reads_without_javascript(
    served: LiveServer, db: Database, routing: Routing, browser_no_js: Page
) -> None:
    sample = publish_history(db, routing)
    browser_no_js.goto(f"{served.url}/incidents/{sample.slug}/history")
    correction = browser_no_js.locator("#update-1-v2")
    inline = correction.locator(".change--inline")
    assert inline.locator("ins").inner_text() == "Elm" and inline.locator("del").inner_text() == "Oak"
    expect(correction.locator(".change--split")).to_be_hidden()
    screenshot(browser_no_js, "incident-history")


def test_what_changed_on_a_phone_is_before_then_after(
    served: LiveServer, db: Database, routing: Routing, browser_no_js: Page
) -> None:
    """Below 600 px the change reads as two blocks, not interleaved words (issue 13.8)."""
    page = browser_no_js
    page.set_viewport_size({"width": 360, "height": 740})
    sample = publish_history(db, routing)
    page.goto(f"{served.url}/incidents/{sample.slug}/history#update-1-v2")
    correction = page.locator("#update-1-v2")
    expect(correction.locator(".change--inline")).to_be_hidden()
    before, after = correction.locator(".change__side--before"), correction.locator(".change__side--after")
    expect(before).to_be_visible()
    expect(after).to_be_visible()
    assert before.locator(".change__label").inner_text().lower() == "before"
    assert [before.locator("del").inner_text(), before.locator("ins").count()] == ["Oak", 0]
    assert [after.locator("ins").inner_text(), after.locator("del").count()] == ["Elm", 0]
    assert "Residents of Oak St" in before.inner_text() and "Residents of Elm St" in after.inner_text()
    assert before.bounding_box()["y"] < after.bounding_box()["y"]  # type: ignore[index]
    assert page.evaluate("window.scrollY") > 0, "the link's anchor scrolled to the version"
    screenshot(page, "incident-history-phone")
