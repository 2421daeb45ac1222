"""Chromium goes through the subscribe flow: the "Get alerts" link, the form, the
confirmation link (which only shows a button), Confirm, and a published update arriving."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from starlette.datastructures import Secret

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from tests.alerts.support import Inbox, link_in, smtp_server, text_of
from tests.conftest import PIO
from tests.support.browser import screenshot
from tests.support.live_server import serve


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server()


def wait_for(inbox: Inbox, address: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(inbox.to(address)) < count:
        assert time.monotonic() < deadline, inbox.recipients()
        time.sleep(0.05)


def test_subscribe_in_chromium(settings: Settings, db: Database, smtp: tuple[Inbox, int], page: Page) -> None:
    inbox, port = smtp
    alert_settings = dataclasses.replace(
        settings,
        channels=("subscribers",),
        languages=("en", "es"),
        smtp_url=Secret(f"smtp://127.0.0.1:{port}"),
    )
    routing = routing_for(alert_settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Wildfire"), routing=routing)
        slug = incident.slug
    with serve(alert_settings) as server:
        page.goto(f"{server.url}/incidents/{slug}?lang=es")
        page.get_by_role("link", name="Recibir alertas").click()
        expect(page.get_by_role("heading", name="Recibir alertas")).to_be_visible()
        page.get_by_label("Correo electrónico").fill("ana@example.org")
        page.get_by_label("Este incidente").check()
        page.get_by_role("button", name="Recibir alertas").click()
        expect(page.get_by_role("status")).to_contain_text("Revise su correo")
        wait_for(inbox, "ana@example.org", 1)
        confirm = link_in(text_of(inbox.to("ana@example.org")[0]), "/subscribe/confirm")

        page.goto(confirm)  # what a mail scanner does too: nothing is confirmed by it
        screenshot(page, "subscribe-confirm")
        page.get_by_role("button", name="Confirmar").click()
        expect(page.get_by_role("status")).to_contain_text("Recibirá alertas")

        with db.write() as session:
            publish_update(
                session, PIO, slug, Draft(body="Evacuate the north side.", preliminary=True), routing=routing
            )
        wait_for(inbox, "ana@example.org", 2)
        alert = inbox.to("ana@example.org")[1]
        assert alert["Subject"].startswith("PRELIMINAR: Wildfire")
        unsubscribe = str(alert["List-Unsubscribe"]).strip("<>")
        page.goto(unsubscribe)
        page.get_by_role("button", name="Darse de baja").click()
        expect(page.get_by_role("status")).to_contain_text("Se ha dado de baja")


def test_every_control_of_the_form_is_big_enough_to_tap_on_a_phone(settings: Settings, page: Page) -> None:
    """WCAG 2.5.8: each target at least 24 by 24 CSS pixels, on a 360 px wide screen."""
    page.set_viewport_size({"width": 360, "height": 740})
    with serve(settings) as server:
        page.goto(f"{server.url}/subscribe")
        controls = page.locator("form.verify-form :is(input:not([type=hidden]), select, button):visible")
        assert controls.count() >= 8
        for index in range(controls.count()):
            box = controls.nth(index).bounding_box()
            name = controls.nth(index).evaluate("el => el.name || el.type")
            assert box is not None and box["width"] >= 24 and box["height"] >= 24, (name, box)
