"""Chromium on /subscribe (issue 17): "Use my current location" fills the location field from
the browser's geolocation, once the resident allows it, and the form stores that point; a
typed point that is not one comes back with its message; this browser's push subscription
carries the location typed in the form."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from starlette.datastructures import Secret

from console.alert_models import Subscriber
from console.alerts.web_push import new_private_key
from console.db import Database
from console.settings import Settings
from tests.alerts.support import Inbox, smtp_server
from tests.alerts.test_web_push import Browser as PushBrowser
from tests.support.live_server import serve


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server()


def test_use_my_current_location_fills_the_point(
    settings: Settings, db: Database, smtp: tuple[Inbox, int], browser: Browser
) -> None:
    alert_settings = dataclasses.replace(
        settings, channels=("subscribers",), smtp_url=Secret(f"smtp://127.0.0.1:{smtp[1]}")
    )
    with serve(alert_settings) as server:
        context = browser.new_context()
        try:
            context.grant_permissions(["geolocation"], origin=server.url)
            context.set_geolocation({"latitude": 38.915123, "longitude": -77.021987})
            page = context.new_page()
            page.goto(f"{server.url}/subscribe")
            page.get_by_label("Email address").fill("ana@example.org")
            point = page.get_by_label("Location: latitude, longitude")
            point.fill("north")
            page.get_by_role("button", name="Get alerts", exact=True).click()
            expect(page.get_by_role("alert")).to_contain_text("Enter your location as latitude, longitude")
            page.get_by_role("button", name="Use my current location").click()
            expect(point).to_have_value("38.91512, -77.02199")
            page.get_by_role("button", name="Get alerts", exact=True).click()
            expect(page.get_by_role("status")).to_contain_text("Check your email")
        finally:
            context.close()
    with db.read() as session:
        ana = session.scalars(select(Subscriber)).one()
    assert (ana.address, ana.area_lat, ana.area_lon, ana.area_zip) == (
        "ana@example.org",
        38.91512,
        -77.02199,
        None,
    )


def test_this_browsers_push_subscription_carries_the_location(
    settings: Settings, db: Database, browser: Browser
) -> None:
    """push.js sends the form's ZIP code with the subscription, and says which field to fix
    when it is refused. Chromium's own push service is out of reach here, so the page's
    `pushManager.subscribe` answers with a subscription to an endpoint of ours."""
    keys = PushBrowser.new().keys()
    subscription = {"endpoint": "http://127.0.0.1:9/push/a", "expirationTime": None, "keys": keys}
    push_settings = dataclasses.replace(
        settings, vapid_private_key=Secret(new_private_key()), push_allow_private=True
    )
    with serve(push_settings) as server:
        context = browser.new_context()
        try:
            context.add_init_script(
                "PushManager.prototype.subscribe = function () {"
                f" var json = {json.dumps(subscription)};"
                " return Promise.resolve({toJSON: function () { return json; }}); };"
            )
            page = context.new_page()
            page.goto(f"{server.url}/subscribe")
            zip_code = page.get_by_label("Or a US ZIP code")
            this_browser = page.get_by_role("button", name="Get alerts in this browser")
            status = page.locator("[data-push-status]")
            zip_code.fill("2000")
            this_browser.click()
            expect(status).to_contain_text("Check the location or ZIP code above")
            zip_code.fill("20001")
            this_browser.click()
            expect(status).to_contain_text("This browser will show alerts")
        finally:
            context.close()
    with db.read() as session:
        pushed = session.scalars(select(Subscriber)).one()
    assert (pushed.address, pushed.area_zip) == ("http://127.0.0.1:9/push/a", "20001")
