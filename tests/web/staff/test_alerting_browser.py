"""The live character count of the WEA texts (static/js/wea-count.js, issue 17) in Chromium:
it counts as the PIO types, says how far over the limit a text is, and breaks no CSP rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.settings import Settings
from tests.conftest import PIO
from tests.support.live_server import LiveServer, serve
from tests.web.staff.conftest import email_of
from tests.web.staff.test_browser import Watch, sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(settings) as live:
        yield live


def test_the_wea_texts_are_counted_as_they_are_typed(
    server: LiveServer, page: Page, db: Database, routing: Routing, people: dict[str, int]
) -> None:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        slug = incident.slug
    watch = Watch(page)
    sign_in(page, server.url, email_of("pio"))
    page.goto(f"{server.url}/console/incidents/{slug}")
    count = page.locator("#compose-wea_short-count")
    expect(count).to_have_text("0 of 90 characters")
    page.fill("#compose-wea_short", "Gas leak downtown: leave now.")
    expect(count).to_have_text("29 of 90 characters")
    page.fill("#compose-wea_short", "x" * 95)
    expect(count).to_have_text("95 of 90 characters: 5 over the limit")
    expect(count).to_have_class("field__count field__count--over")
    page.fill("#compose-wea_long", "y" * 10)
    expect(page.locator("#compose-wea_long-count")).to_have_text("10 of 360 characters")
    # The Spanish translation's own phone alert texts are counted the same way
    page.locator("#compose summary", has_text="Translations").click()
    spanish = page.locator("#compose-tr-es-wea_short-count")
    expect(spanish).to_have_text("0 of 90 characters")
    page.fill("#compose-tr-es-wea_short", "Fuga de gas: salga ahora.")
    expect(spanish).to_have_text("25 of 90 characters")
    assert watch.problems == []
