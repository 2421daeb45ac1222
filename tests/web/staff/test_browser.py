"""End to end in headless Chromium: the console as a PIO uses it, with JavaScript on and off.

Screenshots of the main screens go to artifacts/screenshots/ (see tests/support/browser.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from console.cli import ensure_first_admin
from console.db import Database
from console.domain import wording
from console.domain.actors import OPERATOR
from console.domain.diff import Change, word_diff
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.templates import TemplateDraft, create_template
from console.domain.updates import Draft, publish_update
from console.languages import Languages
from console.models import AutosavedForm, Incident, UpdateVersion, VersionKind
from console.settings import Settings
from tests.conftest import PIO
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD, make_user
from tests.support.live_server import LiveServer, serve

WAIT = 10_000  # ms: delivery takes a few dispatcher polls; chips poll every 2 s


class Watch:
    """JavaScript errors and Content-Security-Policy violations seen by a page."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )


def sign_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(settings) as live:
        yield live


def test_a_pio_signs_in_publishes_corrects_confirms_and_retracts(
    server: LiveServer, page: Page, db: Database
) -> None:
    watch = Watch(page)
    url = server.url
    one_time = ensure_first_admin(db, server.settings)  # what `console serve` prints
    assert one_time is not None
    page.goto(f"{url}/console")
    expect(page).to_have_url(re.compile(r"/login\?next=/console$"))
    screenshot(page, "console-01-sign-in")
    sign_in(page, url, server.settings.admin_email, one_time)
    expect(page).to_have_url(f"{url}/console/password")
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.fill("#current_password", one_time)
    page.fill("#new_password", "a new and long passphrase")
    page.fill("#new_password_again", "a new and long passphrase")
    page.get_by_role("button", name="Save password").click()
    expect(page).to_have_url(f"{url}/console?notice=password_changed")

    page.fill("#incident-title", "Water main break")
    page.fill("#incident-location", "Elm St between 3rd and 5th")
    page.select_option("#incident-category", "Infra")
    page.get_by_role("button", name="Create incident").click()
    expect(page).to_have_url(f"{url}/console/incidents/water-main-break?notice=incident_created")
    # htmx wires the preview to the form once the page's deferred scripts ran: typing before
    # that (the URL changes first; under load, long before) would send no preview at all.
    page.wait_for_load_state()

    expect(page.locator("#compose-preliminary")).to_be_checked()
    headline = "Elm St closed"
    body = "Elm St is closed between 3rd and 5th. Detours: https://example.org/detours 🚧 水道"
    # The preview htmx posts once typing pauses: its answer is awaited (and must be a 200)
    # before the swapped-in posts are read.
    with page.expect_response(lambda answer: answer.url.endswith("/preview")) as previewed:
        page.fill("#compose-headline", headline)
        page.fill("#compose-body", body)
    assert previewed.value.status == 200, previewed.value.text()
    link = wording.update_url(url, "water-main-break", 1)
    [post] = wording.post_run(VersionKind.ORIGINAL, True, headline, body, None, link)
    expect(page.locator("#preview [data-network=x] .post-text")).to_have_text(post)
    expect(page.locator("#preview [data-network=x] .count")).to_have_text(f"{wording.x_weight(post)} / 280")
    expect(page.locator("#preview .entry-title")).to_have_text(f"PRELIMINARY: {headline}")
    expect(page.locator("#preview article.update--preliminary")).to_contain_text("Detours")
    screenshot(page, "console-02-compose-preview")

    page.get_by_role("button", name="Review and publish…").click()
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
    screenshot(page, "console-03-check-before-publishing")
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"))
    for channel in ("live", "archive"):
        chip = page.locator(f".update-row .chip[data-channel={channel}]")
        expect(chip).to_have_attribute("data-state", "sent", timeout=WAIT)
    screenshot(page, "console-04-incident-delivered")

    page.get_by_role("link", name="Correct, confirm or retract").click()
    expect(page.locator("#correct-body")).to_have_value(body)
    page.fill("#correct-body", body.replace("5th", "6th"))
    page.fill("#correct-reason", "The closure runs to 6th St.")
    expect(page.locator("#correct-preview del")).to_have_text("5th")
    expect(page.locator("#correct-preview ins")).to_have_text("6th")
    page.get_by_role("button", name="Review correction…").click()
    expect(page.get_by_role("heading", name="Check the correction before publishing")).to_be_visible()
    screenshot(page, "console-05-correction-diff")
    page.get_by_role("button", name="Publish correction").click()
    expect(page).to_have_url(re.compile(r"\?notice=corrected$"))
    expect(page.locator("#version-2")).to_contain_text("Reason: The closure runs to 6th St.")

    page.get_by_role("button", name="Confirm…").click()
    expect(page.get_by_text("Confirm update 1?")).to_be_visible()
    page.get_by_role("button", name="Yes, confirm").click()
    expect(page).to_have_url(re.compile(r"\?notice=confirmed$"))
    expect(page.locator(".current .badge--preliminary")).to_have_count(0)

    page.fill("#retract-reason", "Reported in error: the main is intact.")
    page.get_by_role("button", name="Retract…").click()
    expect(page.get_by_text("Retract update 1?")).to_be_visible()
    page.get_by_role("button", name="Yes, retract").click()
    expect(page).to_have_url(re.compile(r"\?notice=retracted$"))
    # The retracted text collapses to one struck-through line; opening it shows the whole text.
    withdrawn = page.locator(".current .update--retracted del.update__withdrawn")
    expect(withdrawn).to_be_hidden()
    page.locator(".current .update--retracted summary").click()
    expect(withdrawn).to_be_visible()
    expect(page.locator(".current .notice--retracted")).to_contain_text("Reported in error")
    for version in (1, 2, 3, 4):
        expect(page.locator(f"#version-{version} .chip[data-channel=live]")).to_have_attribute(
            "data-state", "sent", timeout=WAIT
        )
    screenshot(page, "console-06-update-history")
    page.goto(f"{url}/console")
    screenshot(page, "console-07-dashboard")
    page.goto(f"{url}/console/admin")
    screenshot(page, "console-08-accounts")
    with db.read() as session:
        kinds = list(session.scalars(select(UpdateVersion.kind).order_by(UpdateVersion.version)))
    assert kinds == [
        VersionKind.ORIGINAL,
        VersionKind.CORRECTION,
        VersionKind.CONFIRMATION,
        VersionKind.RETRACTION,
    ]
    assert watch.problems == []


@pytest.fixture
def failing_archive(settings: Settings, tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """A server whose archive directory cannot be created (a file is in the way)."""
    blocker = tmp_path / "blocked-archive"
    blocker.write_text("not a directory")
    with serve(replace(settings, archive_dir=blocker, outbox_max_attempts=3)) as live:
        yield live, blocker


def test_delivery_chips_change_by_themselves_and_a_failure_can_be_retried(
    failing_archive: tuple[LiveServer, Path], page: Page, db: Database, routing: Routing
) -> None:
    server, blocker = failing_archive
    watch = Watch(page)
    make_user(db, "pio", "pio@example.org", "Sam Lee")
    with db.write() as session:
        create_incident(session, PIO, IncidentDraft(title="Bridge closure"), routing=routing)
    sign_in(page, server.url, "pio@example.org")
    page.goto(f"{server.url}/console/incidents/bridge-closure")
    page.fill("#compose-body", "The Main St bridge is closed to all traffic.")
    page.get_by_role("button", name="Review and publish…").click()
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"notice=published"))
    page.evaluate("window.notReloaded = true")
    archive = page.locator(".update-row .chip[data-channel=archive]")
    expect(archive).to_have_attribute("data-state", "failed", timeout=WAIT)
    expect(archive.locator(".chip__error")).to_contain_text("could not write the archive file")
    expect(page.locator(".update-row .chip[data-channel=live]")).to_have_attribute("data-state", "sent")
    screenshot(page, "console-09-delivery-failed")

    blocker.unlink()  # the disk problem is fixed
    archive.get_by_role("button", name="Retry").click()
    expect(archive).to_have_attribute("data-state", "sent", timeout=WAIT)
    assert page.evaluate("window.notReloaded") is True  # the chip changed in place
    page.goto(f"{server.url}/console")
    expect(page.locator("tr[data-slug=bridge-closure] .failed-flag")).to_contain_text(
        "1 failed"
    )  # "opened" event
    screenshot(page, "console-10-dashboard-failed-delivery")
    assert watch.problems == []


def test_two_pios_correcting_at_once_see_the_conflict(
    server: LiveServer, browser: Browser, db: Database, routing: Routing
) -> None:
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    make_user(db, "pio", "ben@example.org", "Ben Okafor")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        update_id = publish_update(
            session, PIO, incident.slug, Draft(body="Evacuate Elm St."), routing=routing
        ).update.id
    ana_context, ben_context = browser.new_context(), browser.new_context()
    try:
        ana, ben = ana_context.new_page(), ben_context.new_page()
        watch = Watch(ana)
        for page, email in ((ana, "ana@example.org"), (ben, "ben@example.org")):
            sign_in(page, server.url, email)
            page.goto(f"{server.url}/console/updates/{update_id}")
        ana.fill("#correct-body", "Evacuate Oak St.")
        ana.fill("#correct-reason", "Wrong street")

        ben.fill("#correct-body", "Evacuate Elm St and Pine St.")
        ben.fill("#correct-reason", "Pine St too")
        ben.get_by_role("button", name="Review correction…").click()
        ben.get_by_role("button", name="Publish correction").click()
        expect(ben).to_have_url(re.compile(r"notice=corrected"))

        # Ana's page notices by itself, and keeps her text.
        expect(ana.locator("#stale-notice")).to_contain_text(
            "Version 2 was published by Ben Okafor", timeout=WAIT
        )
        expect(ana.locator("#correct-body")).to_have_value("Evacuate Oak St.")
        ana.get_by_role("button", name="Review correction…").click()
        conflict = ana.locator("#correct .conflict")
        expect(conflict).to_contain_text("Version 2 (correction) was published by Ben Okafor")
        expect(conflict.locator("ins")).to_have_text("and Pine St ")
        expect(ana.locator("#correct-body")).to_have_value("Evacuate Oak St.")
        expect(ana.locator("#correct-reason")).to_have_value("Wrong street")
        screenshot(ana, "console-11-conflict")
        with db.read() as session:
            assert [v.body for v in session.scalars(select(UpdateVersion).order_by(UpdateVersion.id))] == [
                "Evacuate Elm St.",
                "Evacuate Elm St and Pine St.",
            ]
        # Having seen Ben's version, Ana publishes hers on top of it, deliberately.
        ben_text, ana_text = "Evacuate Elm St and Pine St.", "Evacuate Elm St, Pine St and Oak St."
        ana.fill("#correct-body", ana_text)
        ana.get_by_role("button", name="Review correction…").click()
        added = [s.text for s in word_diff(ben_text, ana_text) if s.change is Change.ADDED]
        expect(ana.locator("#correct-preview ins")).to_have_text(added)  # against Ben's version
        ana.get_by_role("button", name="Publish correction").click()
        expect(ana).to_have_url(re.compile(r"notice=corrected"))
        expect(ana.locator("#version-3")).to_contain_text("By Ana Diaz")
        assert watch.problems == []
    finally:
        ana_context.close()
        ben_context.close()


def test_going_on_after_a_conflict_shows_the_revert_in_words_and_needs_a_tick(
    server: LiveServer, browser: Browser, db: Database, routing: Routing
) -> None:
    """Issue 13.1, as seen: Ben started on version 1, Dana moved the shelter in version 2; Ben
    goes on after the conflict with his text, which would put the old shelter back."""
    make_user(db, "pio", "dana@example.org", "Dana Ortiz")
    make_user(db, "pio", "ben@example.org", "Ben Okafor")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Flooding"), routing=routing)
        update_id = publish_update(
            session, PIO, incident.slug, Draft(body="Shelter at Station 4, 310 Birch St."), routing=routing
        ).update.id
    dana_context, ben_context = browser.new_context(), browser.new_context()
    try:
        dana, ben = dana_context.new_page(), ben_context.new_page()
        watch = Watch(ben)
        for page, email in ((dana, "dana@example.org"), (ben, "ben@example.org")):
            sign_in(page, server.url, email)
            page.goto(f"{server.url}/console/updates/{update_id}")
        ben.fill("#correct-body", "Shelter at Station 4, 310 Birch St. Open until 6 am.")
        ben.fill("#correct-reason", "Added hours")

        dana.fill("#correct-body", "Shelter at Fire Station 7, 55 Cedar St.")
        dana.fill("#correct-reason", "Shelter moved")
        dana.get_by_role("button", name="Review correction…").click()
        dana.get_by_role("button", name="Publish correction").click()
        expect(dana).to_have_url(re.compile(r"notice=corrected"))

        ben.get_by_role("button", name="Review correction…").click()
        expect(ben.locator("#correct .conflict")).to_contain_text("was published by Dana Ortiz")
        ben.get_by_role("button", name="Review correction…").click()
        reverts = ben.locator("[data-testid=reverts]")
        expect(reverts).to_contain_text(
            re.compile(r"reverts Dana Ortiz's correction of \d\d:\d\d: 'Fire Station 7, 55 Cedar'")
        )
        screenshot(ben, "console-12-revert-named")
        ben.get_by_role("button", name="Publish correction").click()
        expect(ben.locator("#correct-reverts-error")).to_contain_text("Tick the box to publish the revert")
        with db.read() as session:
            assert len(list(session.scalars(select(UpdateVersion)))) == 2, "nothing published unticked"
        ben.get_by_label(re.compile("I mean to undo this change")).check()
        ben.get_by_role("button", name="Publish correction").click()
        expect(ben).to_have_url(re.compile(r"notice=corrected"))
        expect(ben.locator("#version-3")).to_contain_text("By Ben Okafor")
        assert watch.problems == []
    finally:
        dana_context.close()
        ben_context.close()


def test_after_a_conflict_my_changes_are_applied_to_the_newer_version_with_overlaps_to_pick(
    server: LiveServer, browser: Browser, db: Database, routing: Routing
) -> None:
    """Issue 13.1: Ben started on version 1 and Dana moved the shelter in version 2. Ben's added
    sentence merges onto Dana's text; his change to the same words is his to pick."""
    make_user(db, "pio", "dana@example.org", "Dana Ortiz")
    make_user(db, "pio", "ben@example.org", "Ben Okafor")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Flooding"), routing=routing)
        update_id = publish_update(
            session, PIO, incident.slug, Draft(body="Shelter at Station 4, 310 Birch St."), routing=routing
        ).update.id
    dana_context, ben_context = browser.new_context(), browser.new_context()
    try:
        dana, ben = dana_context.new_page(), ben_context.new_page()
        watch = Watch(ben)
        for page, email in ((dana, "dana@example.org"), (ben, "ben@example.org")):
            sign_in(page, server.url, email)
            page.goto(f"{server.url}/console/updates/{update_id}")
        ben.fill("#correct-body", "Shelter at Station 5, 310 Birch St. Open until 6 am.")
        ben.fill("#correct-reason", "Added hours")

        dana.fill("#correct-body", "Shelter at Fire Station 7, 55 Cedar St.")
        dana.fill("#correct-reason", "Shelter moved")
        dana.get_by_role("button", name="Review correction…").click()
        dana.get_by_role("button", name="Publish correction").click()
        expect(dana).to_have_url(re.compile(r"notice=corrected"))

        ben.get_by_role("button", name="Review correction…").click()
        three = ben.locator("[data-testid=three-texts] > div")
        expect(three).to_have_count(3)
        expect(three.nth(0)).to_contain_text("By Dana Ortiz")
        expect(three.nth(0)).to_contain_text("Reason: Shelter moved")
        expect(three.nth(1)).to_contain_text("Shelter at Station 4, 310 Birch St.")
        expect(three.nth(2)).to_contain_text("Open until 6 am.")
        ben.get_by_role("button", name="Apply my changes to the newer version").click()

        choice = ben.locator("[data-testid=choice]")
        expect(choice).to_have_count(1)
        expect(choice).to_contain_text("Dana Ortiz's (version 2): “Fire Station 7, 55 Cedar”")
        expect(choice).to_contain_text("Yours: “Station 5, 310 Birch”")
        expect(ben.locator("[data-testid=merge]")).to_contain_text("Open until 6 am.")
        screenshot(ben, "console-13-merge-choices")
        ben.get_by_role("button", name="Use these choices and review…").click()  # nothing picked
        expect(choice).to_be_visible()  # the browser asks for a pick; nothing moves on
        choice.get_by_label(re.compile("Dana Ortiz's")).check()
        ben.get_by_role("button", name="Use these choices and review…").click()
        expect(ben.get_by_text("Check the correction before publishing")).to_be_visible()
        expect(ben.locator("[data-testid=reverts]")).to_have_count(0)
        ben.get_by_role("button", name="Publish correction").click()
        expect(ben).to_have_url(re.compile(r"notice=corrected"))
        with db.read() as session:
            newest = session.scalars(select(UpdateVersion).order_by(UpdateVersion.id.desc())).first()
            assert newest is not None
            assert newest.body == "Shelter at Fire Station 7, 55 Cedar St. Open until 6 am."
        assert watch.problems == []
    finally:
        dana_context.close()
        ben_context.close()


def test_sign_in_publish_correct_and_retract_work_without_javascript(
    server: LiveServer, browser: Browser, db: Database
) -> None:
    make_user(db, "pio", "pio@example.org", "Sam Lee")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server.url, "pio@example.org")
        expect(page).to_have_url(f"{server.url}/console")
        page.fill("#incident-title", "Road closure")
        page.get_by_role("button", name="Create incident").click()
        expect(page).to_have_url(re.compile(r"/console/incidents/road-closure"))

        page.fill("#compose-body", "Route 9 is closed.")
        page.get_by_role("button", name="Review and publish…").click()
        expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
        x_post = page.locator(".review [data-network=x] .post-text")
        expect(x_post).to_contain_text("PRELIMINARY: Route 9 is closed.")
        page.get_by_role("button", name="Publish now").click()
        expect(page).to_have_url(re.compile(r"notice=published"))

        page.get_by_role("link", name="Correct, confirm or retract").click()
        page.fill("#correct-body", "Route 9 is closed northbound.")
        page.get_by_role("button", name="Review correction…").click()  # no reason yet
        expect(page.locator("#correct-reason-error")).to_contain_text("is required")
        expect(page.locator("#correct-body")).to_have_value("Route 9 is closed northbound.")
        page.fill("#correct-reason", "Only northbound is closed.")
        page.get_by_role("button", name="Review correction…").click()
        expect(page.locator("#correct-preview ins")).to_have_text("northbound")
        page.get_by_role("button", name="Publish correction").click()
        expect(page).to_have_url(re.compile(r"notice=corrected"))

        page.fill("#retract-reason", "Wrong route.")
        page.get_by_role("button", name="Retract…").click()
        page.get_by_role("button", name="Yes, retract").click()
        expect(page).to_have_url(re.compile(r"notice=retracted"))
        screenshot(page, "console-12-no-javascript-retracted")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{server.url}/login?signed_out=1")
    finally:
        context.close()
    with db.read() as session:
        assert session.scalars(select(Incident.slug)).all() == ["road-closure"]
        bodies = [(v.kind, v.body) for v in session.scalars(select(UpdateVersion).order_by(UpdateVersion.id))]
    assert bodies == [
        (VersionKind.ORIGINAL, "Route 9 is closed."),
        (VersionKind.CORRECTION, "Route 9 is closed northbound."),
        (VersionKind.RETRACTION, "Route 9 is closed northbound."),
    ]


EVACUATION = (
    "All residents between Oak St and Pine St must leave now by Route 9 northbound; Route 12 "
    "is closed. Shelter is open at Lincoln High School, 310 Birch St, with water, food and space "
    "for pets. Do not use the Main St bridge: it is closed for inspection. If you need transport "
    "call 311. Check on neighbours who may need help, and take medicines, documents and phone "
    "chargers with you. Crews will go door to door from 22:00 to make sure everyone is out. "
    "Do not return until the order is lifted on this page. Pets must be on a leash or in a "
    "carrier at the shelter; bring their food if you can."
)


def test_the_compose_and_correct_previews_show_every_post_of_a_run_with_its_own_count(
    server: LiveServer, page: Page, db: Database, routing: Routing
) -> None:
    watch = Watch(page)
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="River flood"), routing=routing)
        slug = incident.slug
    sign_in(page, server.url, "ana@example.org")
    page.goto(f"{server.url}/console/incidents/{slug}")
    page.fill("#compose-headline", "Evacuation order")
    page.fill("#compose-body", EVACUATION)
    link = wording.update_url(server.url, slug, 1)
    networks = (("x", wording.X_RULES), ("mastodon", wording.MASTODON_DEFAULT_RULES))
    for network, rules in networks:
        posts = wording.post_run(
            VersionKind.ORIGINAL, True, "Evacuation order", EVACUATION, None, link, rules=rules
        )
        assert len(posts) > 1, network
        run = page.locator(f"#preview [data-network={network}]")
        expect(run.locator(".post-text")).to_have_text(posts)
        expect(run.locator(".count")).to_have_text([f"{rules.measure(p)} / {rules.limit}" for p in posts])
        expect(run.locator("h4")).to_have_text(f"{run_name(network)} thread of {len(posts)} posts")
    expect(page.locator("#preview .count--over")).to_have_count(0)
    screenshot(page, "console-13-preview-run-of-posts")

    page.get_by_role("button", name="Review and publish…").click()
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"))
    with db.read() as session:
        [version] = session.scalars(select(UpdateVersion))
        update_id = version.update_id

    page.goto(f"{server.url}/console/updates/{update_id}")
    corrected = EVACUATION.replace("310 Birch St", "55 Cedar St") + " " + "Water is safe to drink. " * 12
    page.fill("#correct-body", corrected)
    reason = "Shelter moved; water advice"
    page.fill("#correct-reason", reason)
    for network, rules in networks:
        posts = wording.post_run(
            VersionKind.CORRECTION, True, "Evacuation order", corrected, reason, link, rules=rules
        )
        run = page.locator(f"#correct-preview [data-network={network}]")
        expect(run.locator(".post-text")).to_have_text(posts)
        expect(run.locator(".count")).to_have_text([f"{rules.measure(p)} / {rules.limit}" for p in posts])
        assert posts[0].startswith("CORRECTION: PRELIMINARY: Evacuation order")
    screenshot(page, "console-14-correct-preview-run-of-posts")
    assert watch.problems == []


def run_name(network: str) -> str:
    return {"x": "X", "mastodon": "Mastodon"}[network]


def test_compose_errors_take_the_focus_and_clear_as_each_field_is_fixed(
    server: LiveServer, page: Page, db: Database, routing: Routing
) -> None:
    """Issue 13.8: the first refused field gets the focus; each message goes once its field
    passes (changed, not blank when required, within the limit), not merely when typed in."""
    watch = Watch(page)
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="Water main break"), routing=routing)[0].slug
    sign_in(page, server.url, "ana@example.org")
    page.goto(f"{server.url}/console/incidents/{slug}")
    page.fill("#compose-headline", "H" * 201)
    page.get_by_role("button", name="Review and publish…").click()

    headline, body = page.locator("#compose-headline"), page.locator("#compose-body")
    expect(page.locator("#compose-headline-error")).to_contain_text("the limit is 200")
    expect(page.locator("#compose-body-error")).to_contain_text("is required")
    expect(headline).to_be_focused()
    expect(headline).to_have_attribute("aria-invalid", "true")
    screenshot(page, "console-14-compose-errors")

    headline.fill("H" * 202)  # changed, still over: the message stays
    expect(page.locator("#compose-headline-error")).to_be_visible()
    headline.fill("Boil water notice")
    expect(page.locator("#compose-headline-error")).to_have_count(0)
    expect(headline).not_to_have_attribute("aria-invalid", "true")
    expect(headline).to_have_attribute("aria-describedby", "compose-headline-hint")
    assert "field--invalid" not in (headline.locator("xpath=..").get_attribute("class") or "")

    body.fill("   ")  # still blank: the body's message stays
    expect(page.locator("#compose-body-error")).to_be_visible()
    expect(body).to_have_attribute("aria-invalid", "true")
    body.fill("Boil tap water for one minute before drinking.")
    expect(page.locator("#compose-body-error")).to_have_count(0)
    expect(body).not_to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="Review and publish…").click()
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"))
    assert watch.problems == []


def test_after_signing_in_again_the_typed_update_goes_to_review_not_lost(
    server: LiveServer, browser: Browser, db: Database, routing: Routing
) -> None:
    """Issue 13.7: the session ends while an update is typed; the PIO signs in again in
    another tab, sends the form again and gets its review step, then publishes it."""
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="River flood"), routing=routing)[0].slug
    context = browser.new_context()
    try:
        page, other_tab = context.new_page(), context.new_page()
        watch = Watch(page)
        sign_in(page, server.url, "ana@example.org")
        page.goto(f"{server.url}/console/incidents/{slug}")
        page.fill("#compose-headline", "Shelter open")
        page.fill("#compose-body", "The shelter at Lincoln High School is open all night.")
        # The page's own requests (preview, autosave) are answered before the session ends, so
        # none of them meets the new session and hands the page its token before the PIO resends.
        expect(page.locator("#preview")).to_contain_text("open all night", timeout=WAIT)
        expect(page.locator("#compose-autosave")).to_contain_text("Saved as you typed, at", timeout=WAIT)
        first_token = page.evaluate("document.body.getAttribute('data-hx-headers')")

        other_tab.goto(f"{server.url}/console")
        other_tab.get_by_role("button", name="Sign out").click()  # the session ends
        page.get_by_role("button", name="Review and publish…").click()
        expect(page.locator("#flash")).to_contain_text("what you typed stays on it")
        expect(page.locator("#compose-body")).to_have_value(
            "The shelter at Lincoln High School is open all night."
        )

        sign_in(other_tab, server.url, "ana@example.org")
        expect(other_tab).to_have_url(f"{server.url}/console")
        page.get_by_role("button", name="Review and publish…").click()
        expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
        expect(page.locator("#compose .form-error")).to_contain_text("You signed in again")
        assert page.evaluate("document.body.getAttribute('data-hx-headers')") != first_token
        expect(page.locator("#flash")).to_be_empty()  # "signed out" no longer holds
        screenshot(page, "console-15-review-after-signing-in-again")
        with db.read() as session:
            assert session.scalars(select(UpdateVersion)).first() is None, "nothing published yet"

        page.get_by_role("button", name="Publish now").click()
        expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"))
        with db.read() as session:
            assert [v.headline for v in session.scalars(select(UpdateVersion))] == ["Shelter open"]
        assert watch.problems == []
    finally:
        context.close()


def test_what_is_typed_is_saved_and_comes_back_in_a_new_tab(
    server: LiveServer, browser: Browser, db: Database, routing: Routing
) -> None:
    """Issue 13.7: the compose form saves itself as the PIO types; a closed tab loses nothing,
    the dashboard lists the draft, and it can be discarded."""
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="River flood"), routing=routing)[0].slug
    context = browser.new_context()
    try:
        page = context.new_page()
        watch = Watch(page)
        sign_in(page, server.url, "ana@example.org")
        page.goto(f"{server.url}/console/incidents/{slug}")
        page.fill("#compose-headline", "Shelter open")
        with page.expect_response(
            lambda r: r.url.endswith("/autosave") and "High%20is%20open." in (r.request.post_data or ""),
            timeout=WAIT,
        ) as saved:
            page.locator("#compose-body").press_sequentially("Lincoln High is open.")
        assert saved.value.status == 200
        expect(page.locator("#compose-autosave")).to_contain_text("Saved as you typed, at")
        # "Alert details" too (issue 17): what people should do, and how urgent it is
        page.select_option("#compose-cap_urgency", "Immediate")
        with page.expect_response(
            lambda r: r.url.endswith("/autosave") and "Oak%20St." in (r.request.post_data or ""),
            timeout=WAIT,
        ) as saved:
            page.locator("#compose-instruction").press_sequentially("Go by Oak St.")
        assert saved.value.status == 200 and "cap_urgency=Immediate" in (saved.value.request.post_data or "")
        page.reload()
        expect(page.locator("#compose-instruction")).to_have_value("Go by Oak St.")
        expect(page.locator("#compose-cap_urgency")).to_have_value("Immediate")
        page.close()  # the tab is closed (or the laptop crashes)

        page = context.new_page()
        watch = Watch(page)
        page.goto(f"{server.url}/console")
        drafts = page.locator("#autosaved li")
        expect(drafts).to_have_count(1)
        expect(drafts).to_contain_text("New update on “River flood”: “Shelter open”")
        drafts.get_by_role("link", name="New update").click()
        expect(page.locator("#compose-headline")).to_have_value("Shelter open")
        expect(page.locator("#compose-body")).to_have_value("Lincoln High is open.")
        expect(page.locator("#compose-instruction")).to_have_value("Go by Oak St.")
        expect(page.locator("#compose .restored")).to_contain_text("This form holds what you typed earlier")
        screenshot(page, "console-16-restored-draft")

        page.get_by_role("button", name="Discard it and start again").click()
        expect(page.locator("#compose-body")).to_have_value("")
        expect(page.locator("#compose-instruction")).to_have_value("")
        expect(page.locator("#compose .restored")).to_have_count(0)
        with db.read() as session:
            assert session.scalars(select(AutosavedForm)).first() is None
        assert watch.problems == []
    finally:
        context.close()


def test_a_template_under_pressure_takes_at_most_eight_clicks_to_every_channel(
    server: LiveServer, page: Page, db: Database, routing: Routing
) -> None:
    """Issue 18: sign-in to the first update on every channel, started from a holding statement."""
    make_user(db, "pio", "pio@example.org", "Sam Lee")
    with db.write() as session:
        create_template(
            session,
            OPERATOR,
            TemplateDraft(
                name="Evacuation: shelter open",
                headline="Evacuate near {location}",
                body="Residents near {location} must leave now. A shelter is open at {shelter}.",
            ),
            languages=Languages(server.settings.languages),
        )
        create_incident(session, PIO, IncidentDraft(title="Brush fire", location="Ridge Rd"), routing=routing)
    clicks = 0

    def click(name: str, role: str = "button") -> None:
        nonlocal clicks
        clicks += 1
        page.get_by_role(role, name=name).click()  # type: ignore[arg-type]

    watch = Watch(page)
    started = time.perf_counter()
    page.goto(f"{server.url}/login")
    page.fill("#email", "pio@example.org")
    page.fill("#password", PASSWORD)
    click("Sign in")
    click("Brush fire", role="link")
    clicks += 1
    page.select_option("#compose-template", label="Evacuation: shelter open")
    click("Use template")
    expect(page.locator("#compose-headline")).to_have_value("Evacuate near Ridge Rd")
    page.fill("#compose-ph-shelter", "Lincoln High gym")
    screenshot(page, "console-13-from-template")
    click("Review and publish…")
    review = page.locator(".review")
    expect(review).to_contain_text("From the template “Evacuation: shelter open”, version 1.")
    expect(review.locator("[data-network=x] .post-text")).to_contain_text(
        "A shelter is open at Lincoln High gym."
    )
    click("Publish now")
    expect(page).to_have_url(re.compile(r"notice=published#update-1$"))
    chips = page.locator(".update-row .chip")
    assert chips.count() >= 4  # every enabled channel: live, feeds, archive, social previews
    # Done on every channel: sent, or for X and Mastodon without credentials, its preview.
    for index in range(chips.count()):
        chip = chips.nth(index)
        expect(chip).to_have_attribute("data-state", re.compile("^(sent|skipped)$"), timeout=WAIT)
        if chip.get_attribute("data-state") == "skipped":
            expect(chip).to_contain_text("preview")
    elapsed = time.perf_counter() - started
    print(f"sign-in to every channel from a template: {clicks} clicks, {elapsed:.1f} s")
    assert clicks <= 8
    assert watch.problems == []
    with db.read() as session:
        [version] = session.scalars(select(UpdateVersion)).all()
        assert (
            version.body == "Residents near Ridge Rd must leave now. A shelter is open at Lincoln High gym."
        )
        assert version.template_version_id is not None
