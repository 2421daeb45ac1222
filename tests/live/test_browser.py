"""Chromium end to end: an open page stays true without a reload; without JavaScript it is
still complete and readable; at 320 px nothing runs off the screen."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, WebSocketRoute, expect

from console.db import Database
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from tests.conftest import PIO
from tests.live.support import api, correct, new_incident, publish, retract
from tests.support.browser import screenshot
from tests.support.live_server import LiveServer, serve
from tests.support.server import ServerProcess

TIMEOUT = 10_000  # ms


def watch_console(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: _record(problems, message))
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _record(problems: list[str], message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        problems.append(message.text)


def test_an_open_page_shows_new_corrected_retracted_and_resolved_without_reloading(
    live: LiveServer, page: Page, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Police activity near Riverside Park")
    first = publish(
        live.url, pio_token, slug, "Officers are responding near 5th Ave.", headline="Avoid the area"
    )
    problems = watch_console(page)
    page.goto(f"{live.url}/incidents/{slug}")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
    page.evaluate("window.loadedOnce = true")

    second = publish(
        live.url, pio_token, slug, "5th Ave is closed between Elm St and Oak St.", headline="5th Ave closed"
    )
    newest = page.locator("#timeline > li").first
    expect(newest).to_contain_text("5th Ave closed", timeout=TIMEOUT)
    expect(newest).to_contain_text("PRELIMINARY")
    expect(page.locator("#live-announcer")).to_contain_text("New update")
    expect(page.locator("#timeline > li")).to_have_count(2)

    correct(
        live.url,
        pio_token,
        second["id"],
        "5th Ave is closed between Elm St and Pine St.",
        "Pine St, not Oak St",
        1,
    )
    card = page.locator("#update-2")
    expect(card.locator(".notice--corrected")).to_contain_text("Pine St, not Oak St", timeout=TIMEOUT)
    expect(card).to_contain_text("between Elm St and Pine St.")
    expect(card.locator(".notice--corrected a")).to_have_attribute(
        "href", f"/incidents/{slug}/history#update-2-v2"
    )
    expect(page.locator("#timeline > li")).to_have_count(2)  # replaced in place, not added

    retract(live.url, pio_token, first["id"], "Issued in error", 1)
    withdrawn = page.locator("#update-1")
    expect(withdrawn).to_have_class("update update--retracted", timeout=TIMEOUT)
    # Collapsed to one struck-through line, which expands to the whole withdrawn text.
    summary = withdrawn.locator("summary s")
    expect(summary).to_have_text("Avoid the area")  # its headline
    assert summary.evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    expect(withdrawn.locator("del")).to_be_hidden()
    withdrawn.locator("summary").click()
    expect(withdrawn.locator("del")).to_contain_text("Officers are responding near 5th Ave.")
    assert withdrawn.locator("del").evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    expect(withdrawn.locator(".notice--retracted")).to_contain_text("Retracted")
    expect(page.locator("#live-announcer")).to_contain_text("Update 1 retracted")

    api(live.url, pio_token, f"/incidents/{slug}/resolve", {"message": "All clear."})
    expect(page.locator("#incident-status")).to_contain_text("RESOLVED", timeout=TIMEOUT)
    # issue 13.4: the all-clear shows first, in place of the summary, without a reload
    expect(page.locator("#incident-summary .incident__all-clear")).to_contain_text(
        "All clear.", timeout=TIMEOUT
    )

    assert page.evaluate("window.loadedOnce") is True, "the page was never reloaded"
    assert problems == []
    screenshot(page, "live-incident")


def test_the_index_shows_a_new_incident_without_reloading(
    live: LiveServer, page: Page, pio_token: str
) -> None:
    problems = watch_console(page)
    page.goto(live.url + "/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
    expect(page.locator("#incidents-empty")).to_be_visible()
    slug = new_incident(live.url, pio_token, "Water main break")
    publish(live.url, pio_token, slug, "Elm St closed between 3rd and 5th.")
    entry = page.locator(f"#incident-{slug}")
    expect(entry).to_contain_text("Elm St closed between 3rd and 5th.", timeout=TIMEOUT)
    expect(page.locator("#incidents-empty")).to_be_hidden()
    assert problems == []
    screenshot(page, "live-index")


def test_what_to_do_now_appears_first_on_open_pages_without_reloading(
    live: LiveServer, browser: Browser, pio_token: str
) -> None:
    """Issue 13.6: a resident on a phone has the incident page open, another `/`; the PIO pins
    an update, and both show it first; retracting it takes it away."""
    slug = new_incident(live.url, pio_token, "Chemical fire at the rail yard")
    order = publish(
        live.url, pio_token, slug, "Stay indoors and close windows and doors.", headline="Shelter in place"
    )
    publish(live.url, pio_token, slug, "Crews are on scene.")
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        incident_page, index_page = context.new_page(), context.new_page()
        problems = [watch_console(incident_page), watch_console(index_page)]
        for page, path in ((incident_page, f"/incidents/{slug}"), (index_page, "/")):
            page.goto(live.url + path)
            expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
        box = incident_page.locator("#what-to-do-now")
        expect(box).to_be_hidden()
        api(live.url, pio_token, f"/incidents/{slug}/pin", {"seq": 1})
        expect(box).to_be_visible(timeout=TIMEOUT)
        expect(box).to_contain_text("What to do now")
        expect(box).to_contain_text("Stay indoors and close windows and doors.")
        # First on the screen: above the status line and every update.
        assert box.bounding_box()["y"] < incident_page.locator("#incident-status").bounding_box()["y"]  # type: ignore[index]
        expect(index_page.locator(f"#{slug}-what-to-do-now")).to_contain_text(
            "Shelter in place", timeout=TIMEOUT
        )
        screenshot(incident_page, "live-what-to-do-now")
        retract(live.url, pio_token, order["id"], "Order lifted", 1)
        expect(box).to_be_hidden(timeout=TIMEOUT)
        expect(index_page.locator(f"#{slug}-what-to-do-now")).to_be_hidden(timeout=TIMEOUT)
        incident_page.reload()
        expect(incident_page.locator("#what-to-do-now")).to_be_hidden()
        assert problems == [[], []]
    finally:
        context.close()


def test_an_open_page_keeps_the_newest_updates_a_fresh_load_shows_and_says_so(
    live_settings: Settings, page: Page, pio_token: str
) -> None:
    """With PUBLIC_TIMELINE_LIMIT 3, an open page that receives updates 4 and 5 ends as a fresh
    load shows it: updates 5, 4 and 3, and "the newest 3 of 5", not 5 cards under "3 of 3"."""
    with serve(replace(live_settings, public_timeline_limit=3)) as server:
        slug = new_incident(server.url, pio_token, "Storm damage")
        for n in (1, 2, 3):
            publish(server.url, pio_token, slug, f"Update number {n}")
        problems = watch_console(page)
        page.goto(f"{server.url}/incidents/{slug}")
        expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
        expect(page.locator("#timeline-more")).to_be_hidden()
        for n in (4, 5):
            publish(server.url, pio_token, slug, f"Update number {n}")
        newest_three = [re.compile(f"Update number {n}") for n in (5, 4, 3)]
        items, note = page.locator("#timeline > li"), page.locator("#timeline-more")
        expect(items.first).to_contain_text("Update number 5", timeout=TIMEOUT)
        expect(items).to_have_text(newest_three)
        expect(note).to_be_visible()
        expect(note).to_contain_text("This page shows the newest 3 of 5 updates.")
        page.reload()
        expect(items).to_have_text(newest_three)
        expect(note).to_contain_text("This page shows the newest 3 of 5 updates.")
        assert problems == []


def test_without_javascript_the_page_is_complete(live: LiveServer, browser: Browser, pio_token: str) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak on Elm St")
    first = publish(live.url, pio_token, slug, "Residents of Elm St should leave now.", headline="Evacuate")
    correct(
        live.url, pio_token, first["id"], "Residents of Elm and Oak St should leave now.", "Oak St too", 1
    )
    publish(live.url, pio_token, slug, "Shelter open at Lincoln High School.")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/incidents/{slug}")
        expect(page.locator("h1")).to_have_text("Gas leak on Elm St")
        expect(page.locator("#update-2")).to_contain_text("Shelter open at Lincoln High School.")
        expect(page.locator("#update-1")).to_contain_text("Residents of Elm and Oak St should leave now.")
        expect(page.locator("#update-1 .notice--corrected")).to_contain_text("Corrected")
        expect(page.locator("#update-1 .badge--preliminary")).to_have_text("PRELIMINARY")
        # no promise of live updates: it says the page stays as it is
        expect(page.locator("#live-state")).to_have_text(
            "This page does not update by itself: reload it to see newer updates."
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        screenshot(page, "incident-no-javascript-320px")
    finally:
        context.close()


def test_nothing_runs_off_a_320px_screen(live: LiveServer, browser: Browser, pio_token: str) -> None:
    slug = new_incident(
        live.url, pio_token, "Evacuation of the Riverside-Northgate-Lincoln-Heights neighbourhood"
    )
    publish(
        live.url,
        pio_token,
        slug,
        "See https://example.org/a-very-long-address-that-does-not-break-anywhere-at-all-for-residents " * 2,
        headline="Supercalifragilisticexpialidociousroadclosureannouncement",
    )
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        for path in ("/", f"/incidents/{slug}"):
            page.goto(live.url + path)
            expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
            assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
        screenshot(page, "incident-320px")
    finally:
        context.close()


def test_the_page_catches_up_after_its_server_restarts(
    database_url: str,
    db: Database,
    routing: Routing,
    tmp_path: Path,
    page: Page,
    pio_token: str,
    channel: str,
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "BROADCAST_TOPIC": channel,
    }
    server = ServerProcess(env).start()
    try:
        slug = new_incident(server.url, pio_token, "Bridge closed")
        publish(server.url, pio_token, slug, "The bridge is closed.")
        page.goto(f"{server.url}/incidents/{slug}")
        expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
        server.kill()
        expect(page.locator("#live-state")).to_have_attribute("data-state", "reconnecting", timeout=TIMEOUT)
        with db.write() as session:  # published elsewhere while this server is down
            publish_update(session, PIO, slug, Draft(body="Detour via Main St."), routing=routing)
            publish_update(session, PIO, slug, Draft(body="Expect delays until 6 pm."), routing=routing)
        server = ServerProcess(env, port=server.port).start()
        expect(page.locator("#timeline > li").first).to_contain_text(
            "Expect delays until 6 pm.", timeout=30_000
        )
        expect(page.locator("#timeline > li")).to_have_count(3)
        expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    finally:
        server.stop()


# Records every state #live-state shows from now on, however briefly.
SEEN_STATES = """
window.seenStates = [];
new MutationObserver(() => window.seenStates.push(document.getElementById("live-state").dataset.state))
  .observe(document.getElementById("live-state"), {attributes: true, attributeFilter: ["data-state"]});
"""


def test_a_connection_that_dies_unnoticed_is_replaced_and_every_missed_update_is_announced(
    live_settings: Settings, page: Page, pio_token: str
) -> None:
    """A phone's carrier forgets the connection: the browser's socket stays open and hears
    nothing. The page notices the silence, says so, connects again and catches up, and its
    live region gets a sentence for each update it missed."""
    links: list[dict[str, bool]] = []

    def relay(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        link = {"dead": False}
        links.append(link)
        server.on_message(lambda message: None if link["dead"] else ws.send(message))

    with serve(replace(live_settings, live_ping_seconds=1.0)) as live:
        slug = new_incident(live.url, pio_token, "Gas leak on Elm St")
        page.route_web_socket(re.compile(r".*/live\b.*"), relay)
        page.goto(f"{live.url}/incidents/{slug}")
        state = page.locator("#live-state")
        expect(state).to_have_attribute("data-state", "open", timeout=TIMEOUT)
        page.evaluate(SEEN_STATES)
        links[0]["dead"] = True
        publish(live.url, pio_token, slug, "Leave Elm St now.", headline="Evacuate")
        publish(live.url, pio_token, slug, "Go to Station 4.", headline="Shelter open")
        expect(page.locator("#timeline > li")).to_have_count(2, timeout=TIMEOUT)
        expect(state).to_have_attribute("data-state", "open")
        assert len(links) == 2
        # said while it connected again (briefly: the new connection opens at once)
        assert page.evaluate("window.seenStates") == ["reconnecting", "open"]
        # said to screen readers: the page stopped being live, is live again, and each update missed
        sentences = page.locator("#live-announcer > p")
        expect(sentences).to_have_count(4)
        assert sentences.all_inner_texts()[:2] == [
            "Reconnecting… updates will catch up by themselves.",
            "Live: new updates appear here as they are published.",
        ]
        expect(sentences.nth(2)).to_contain_text("Evacuate")
        expect(sentences.nth(3)).to_contain_text("Shelter open")


def test_a_reader_on_an_update_that_is_corrected_keeps_their_place(
    live: LiveServer, page: Page, pio_token: str
) -> None:
    """The correction replaces the whole update: keyboard focus stays on its link, not lost to
    the top of the page."""
    slug = new_incident(live.url, pio_token, "Gas leak on Elm St")
    first = publish(live.url, pio_token, slug, "Residents of Elm St should leave now.")
    page.goto(f"{live.url}/incidents/{slug}")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=TIMEOUT)
    page.locator("#update-1 a.update__time").focus()
    correct(
        live.url, pio_token, first["id"], "Residents of Elm and Oak St should leave now.", "Oak St too", 1
    )
    expect(page.locator("#update-1 .notice--corrected")).to_be_visible(timeout=TIMEOUT)
    focused = "[document.activeElement.closest('article')?.id, document.activeElement.getAttribute('href')]"
    assert page.evaluate(focused) == ["update-1", "#update-1"]


def test_a_link_to_an_update_the_page_no_longer_lists_opens_it_in_the_history(
    live_settings: Settings, page: Page, pio_token: str
) -> None:
    """An alert's or a post's link (`/incidents/{slug}#update-1`) opened once newer updates
    have pushed update 1 off the page leads to it in the history, not to the top of the page."""
    with serve(replace(live_settings, public_timeline_limit=2)) as server:
        slug = new_incident(server.url, pio_token, "Storm damage")
        for n in (1, 2, 3):
            publish(server.url, pio_token, slug, f"Update number {n}")
        problems = watch_console(page)
        page.goto(f"{server.url}/incidents/{slug}?lang=en#update-1")
        expect(page).to_have_url(f"{server.url}/incidents/{slug}/history?lang=en#update-1", timeout=TIMEOUT)
        expect(page.locator("#update-1")).to_contain_text("Update number 1")
        page.goto(f"{server.url}/incidents/{slug}#update-3")  # on the page: it stays there
        expect(page.locator("#update-3")).to_contain_text("Update number 3")
        assert page.url == f"{server.url}/incidents/{slug}#update-3"
        assert problems == []
