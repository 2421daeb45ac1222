"""Chromium: an open page ends as a fresh load shows it, after a switch between real and
exercise (every update's label, the tab's title) and after `/`'s incident is reopened and
resolved again."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.live.support import api, new_incident, publish
from tests.live.test_browser import TIMEOUT, watch_console
from tests.support.live_server import LiveServer


def test_open_pages_follow_an_exercise_switch_and_a_reopening(
    live: LiveServer, browser: Browser, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak")
    publish(live.url, pio_token, slug, "Residents of Elm St should leave now.")
    publish(live.url, pio_token, slug, "A shelter is open at Oak St school.")
    api(live.url, pio_token, f"/incidents/{slug}/resolve", {"message": "All clear."})
    context = browser.new_context()
    try:
        incident_page, index_page = context.new_page(), context.new_page()
        problems = [watch_console(incident_page), watch_console(index_page)]
        for page, path in ((incident_page, f"/incidents/{slug}"), (index_page, "/")):
            page.goto(live.url + path)
            expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
        expect(index_page.locator("#incidents-empty")).to_be_visible()
        assert incident_page.title() == "Gas leak · Incident updates"

        api(
            live.url,
            pio_token,
            f"/incidents/{slug}/details",
            {"alert_status": "exercise", "reason": "This is the county drill", "corrects_version": 1},
        )
        labels = incident_page.locator("#timeline > li .badge--exercise")
        expect(labels).to_have_count(3, timeout=TIMEOUT)  # the all-clear and both updates
        expect(incident_page).to_have_title("EXERCISE: Gas leak · Incident updates")
        expect(incident_page.locator("#incident-title")).to_contain_text("EXERCISE")

        api(live.url, pio_token, f"/incidents/{slug}/reopen", {"reason": "Gas detected again"})
        entry = index_page.locator(f"#incidents > #incident-{slug}")
        expect(entry).to_be_visible(timeout=TIMEOUT)
        expect(entry).to_contain_text("Gas detected again")
        expect(index_page.locator("#incidents-empty")).to_be_hidden()

        api(live.url, pio_token, f"/incidents/{slug}/resolve", {"message": "All clear again."})
        expect(index_page.locator("#incidents-empty")).to_be_visible(timeout=TIMEOUT)
        expect(index_page.locator("#incidents > li")).to_have_count(0)
        expect(index_page.locator("#live-announcer")).to_contain_text("Resolved")

        # Both end as a fresh load shows them.
        open_labels = labels.count()
        incident_page.reload()
        expect(labels).to_have_count(open_labels)
        expect(incident_page).to_have_title("EXERCISE: Gas leak · Incident updates")
        index_page.reload()
        expect(index_page.locator("#incidents > li")).to_have_count(0)
        expect(index_page.locator("#incidents-empty")).to_be_visible()
        assert problems == [[], []]
    finally:
        context.close()
