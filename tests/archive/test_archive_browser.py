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
    assert correction.locator("ins").inner_text() == "Elm" and correction.locator("del").inner_text() == "Oak"
    screenshot(browser_no_js, "incident-history")
