"""Chromium end to end in Spanish: a resident whose browser asks for Spanish reads the
update in Spanish, sees a correction arrive as the new English text marked "Traducción en
actualización" (never the outdated Spanish), then the new translation replace it, all without
a reload; the language chooser switches to English and is remembered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from console.db import Database
from console.settings import Settings
from tests.live.support import api, correct, new_incident
from tests.support.browser import screenshot
from tests.support.factories import make_token
from tests.support.live_server import LiveServer, serve

TIMEOUT = 10_000  # ms
OUTDATED = "Los residentes de Elm St deben salir ya."


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    multilingual = replace(
        settings, languages=("en", "es", "vi"), live_poll_seconds=0.5, live_hello_seconds=3.0
    )
    with serve(multilingual) as server:
        yield server


@pytest.fixture
def spanish_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="es-ES")  # Accept-Language: es-ES
    page = context.new_page()
    yield page
    context.close()


def test_a_spanish_reader_never_sees_an_outdated_translation_as_current(
    live: LiveServer, db: Database, spanish_page: Page
) -> None:
    page = spanish_page
    problems: list[str] = []
    page.on("console", lambda message: _record(problems, message))
    page.on("pageerror", lambda error: problems.append(str(error)))
    token = make_token(db, "pio")
    slug = new_incident(live.url, token, "Gas leak on Elm St")
    update = api(
        live.url,
        token,
        f"/incidents/{slug}/updates",
        {
            "headline": "Evacuate Elm St",
            "body": "Residents of Elm St should leave now.",
            "translations": [{"lang": "es", "headline": "Evacúen Elm St", "body": OUTDATED}],
        },
    )

    page.goto(f"{live.url}/incidents/{slug}")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
    expect(page.locator("#live-state")).to_contain_text("En vivo")
    card = page.locator("#update-1")
    expect(card).to_contain_text(OUTDATED)
    expect(card.locator(".badge--preliminary")).to_have_text("PRELIMINAR")
    expect(page.locator(".language-chooser [aria-current]")).to_have_text("Español")
    page.evaluate("window.loadedOnce = true")

    correct(live.url, token, update["id"], "Residents of Elm and Oak St should leave now.", "Oak St too", 1)
    expect(card).to_contain_text("Residents of Elm and Oak St should leave now.", timeout=TIMEOUT)
    expect(card.locator(".notice--translation")).to_contain_text("la traducción se está actualizando")
    expect(card.locator(".update__body").first).to_have_attribute("lang", "en")
    expect(card.locator(".update__body").first).not_to_contain_text(OUTDATED)
    earlier = card.locator(".update__earlier-translation")  # folded: there, never in view as current
    expect(earlier.locator("summary")).to_have_text("Traducción anterior, de la versión 1")
    expect(earlier.get_by_text(OUTDATED)).to_be_hidden()
    earlier.locator("summary").click()
    expect(earlier.get_by_text(OUTDATED)).to_be_visible()
    expect(page.locator("#live-announcer")).to_contain_text("Actualización 1 corregida")
    screenshot(page, "i18n-es-stale")

    api(
        live.url,
        token,
        f"/updates/{update['id']}/translations",
        {"lang": "es", "body": "Los residentes de Elm y Oak St deben salir ya.", "version": 2},
    )
    expect(card).to_contain_text("Los residentes de Elm y Oak St deben salir ya.", timeout=TIMEOUT)
    expect(card.locator(".notice--translation")).to_have_count(0)
    expect(card.locator(".update__earlier-translation")).to_have_count(0)
    expect(page.locator("#live-announcer")).to_contain_text("Actualización 1 traducida")
    assert page.evaluate("window.loadedOnce") is True, "all of it without a reload"
    screenshot(page, "i18n-es-current")

    page.locator(".language-chooser a[hreflang=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#update-1")).to_contain_text("Residents of Elm and Oak St should leave now.")
    page.goto(f"{live.url}/incidents/{slug}")  # no ?lang: the choice is remembered over Accept-Language
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
    assert problems == []


def _record(problems: list[str], message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        problems.append(message.text)


def test_arabic_text_reads_right_to_left_in_any_page(
    settings: Settings, db: Database, browser: Browser
) -> None:
    """A translation in a right-to-left language runs right to left, with its punctuation at its
    end, on the Arabic page (whose interface is English: Arabic has no catalog) and the English."""
    with serve(replace(settings, languages=("en", "ar"))) as server:
        token = make_token(db, "pio")
        slug = new_incident(server.url, token, "Water main break")
        update = api(
            server.url,
            token,
            f"/incidents/{slug}/updates",
            {"headline": "Boil water", "body": "Boil water for 24 hours."},
        )
        arabic = "اغلوا الماء لمدة 24 ساعة."
        api(
            server.url,
            token,
            f"/updates/{update['id']}/translations",
            {"lang": "ar", "body": arabic, "headline": "اغلوا الماء", "version": 1},
        )
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(f"{server.url}/incidents/{slug}?lang=ar")
            body = page.locator("#update-1 .update__body")
            expect(body).to_contain_text(arabic)
            direction = "el => getComputedStyle(el).direction"
            assert body.evaluate(direction) == "rtl"
            assert page.locator("#update-1 .update__headline").evaluate(direction) == "rtl"
            assert page.locator(".timeline-heading").evaluate(direction) == "ltr"  # English interface
            page.goto(f"{server.url}/incidents/{slug}?lang=en")
            assert page.locator("#update-1 .update__body").evaluate(direction) == "ltr"
        finally:
            context.close()
