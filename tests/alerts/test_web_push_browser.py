"""Chromium runs the Web Push side of the page: /subscribe shows "this browser" only with
JavaScript and a configured key, and the service worker at /sw.js shows a push the DevTools
protocol delivers (`ServiceWorker.deliverPushMessage`: Chromium's own push service is out of
reach here) as a notification with the labels, whose data is the update's URL."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from playwright.sync_api import Page, expect
from starlette.datastructures import Secret

from console.alerts.web_push import new_private_key
from console.settings import Settings
from tests.support.browser import wait_until_true
from tests.support.live_server import serve

ALERT = {
    "title": "Wildfire",
    "body": "PRELIMINAR: Evacue el lado norte.",
    "url": "http://127.0.0.1/incidents/wildfire#update-1",
    "labels": ["PRELIMINARY"],
    "lang": "es",
    "tag": "wildfire-1",
}


def test_the_service_worker_shows_a_delivered_push(settings: Settings, page: Page) -> None:
    push_settings = dataclasses.replace(
        settings, languages=("en", "es"), vapid_private_key=Secret(new_private_key())
    )
    with serve(push_settings) as server:
        page.context.grant_permissions(["notifications"], origin=server.url)
        page.goto(f"{server.url}/subscribe?lang=es")
        expect(page.get_by_role("button", name="Recibir alertas en este navegador")).to_be_visible()

        cdp = page.context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        scope = page.evaluate(
            """async () => {
                window.pushes = [];
                navigator.serviceWorker.addEventListener("message", (e) => window.pushes.push(e.data));
                await navigator.serviceWorker.register("/sw.js");
                return (await navigator.serviceWorker.ready).scope;
            }"""
        )
        assert scope == f"{server.url}/"
        deadline = time.monotonic() + 30
        while not any(r["scopeURL"] == scope and not r["isDeleted"] for r in registrations):
            assert time.monotonic() < deadline, registrations
            page.wait_for_timeout(50)
        registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == scope)

        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.url, "registrationId": registration_id, "data": json.dumps(ALERT)},
        )
        wait_until_true(page, "window.pushes.length > 0")
        (told,) = page.evaluate("window.pushes")
        assert told == {
            "type": "push-alert",
            "title": "Wildfire",
            "body": ALERT["body"],
            "url": ALERT["url"],
            "labels": ["PRELIMINARY"],
        }
        shown = page.evaluate(
            """async () => {
                const registration = await navigator.serviceWorker.ready;
                const notifications = await registration.getNotifications();
                return notifications.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data}));
            }"""
        )
        assert shown == [
            {
                "title": "Wildfire",
                "body": ALERT["body"],
                "tag": "wildfire-1",
                "data": {"url": ALERT["url"], "labels": ["PRELIMINARY"]},
            }
        ]


def test_without_a_key_the_page_offers_no_push_button(settings: Settings, page: Page) -> None:
    with serve(settings) as server:
        page.goto(f"{server.url}/subscribe")
        expect(page.get_by_role("button", name="Get alerts", exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#push-subscribe")).to_be_hidden()
