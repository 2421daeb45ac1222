"""In headless Chromium: what the console shows when an action's request fails (a 5xx, no
answer), and where keyboard focus goes when a step to check and confirm appears."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import func, select

from console.db import Database
from console.domain.accounts import create_token
from console.domain.actors import OPERATOR
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, correct_update, publish_update
from console.models import ApiToken, Update
from console.settings import Settings
from tests.conftest import PIO
from tests.support.factories import make_user
from tests.support.live_server import LiveServer, serve
from tests.web.staff.test_browser import Watch, sign_in

BODY = "The Main St bridge is closed to all traffic. Use the Oak St bridge."
LOST = "The request did not reach the server, or its answer was lost"


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(settings) as live:
        yield live


@pytest.fixture
def slug(db: Database, routing: Routing) -> str:
    make_user(db, "pio", "pio@example.org", "Sam Lee")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Bridge closure"), routing=routing)
        return incident.slug


def updates_in(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Update)) or 0


def open_compose(page: Page, server: LiveServer, slug: str) -> None:
    sign_in(page, server.url, "pio@example.org")
    page.goto(f"{server.url}/console/incidents/{slug}")
    page.wait_for_load_state()  # htmx wired to the forms (its script is deferred)
    page.fill("#compose-body", BODY)


def answer(status: int, body: str, content_type: str = "text/plain; charset=utf-8"):
    def fulfil(route: Route) -> None:
        route.fulfill(status=status, body=body, content_type=content_type)

    return fulfil


def test_a_5xx_on_publish_is_said_in_flash_and_a_later_publish_clears_it(
    server: LiveServer, slug: str, page: Page, db: Database
) -> None:
    watch = Watch(page)
    open_compose(page, server, slug)
    page.get_by_role("button", name="Review and publish…").click()
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
    flash = page.locator("#flash")
    expect(flash).to_be_empty()

    publishing = f"{server.url}/console/incidents/{slug}/updates"
    page.route(publishing, answer(503, "the database is busy; try again in a few seconds"))
    page.get_by_role("button", name="Publish now").click()
    expect(flash).to_have_text(
        "The server could not do this (503: the database is busy; try again in a few seconds). "
        "Nothing was saved or published."
    )
    expect(flash).to_have_attribute("role", "alert")
    # The review stays as it was, with what the PIO typed.
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
    expect(page.locator('#compose-form input[name="body"]')).to_have_value(BODY)
    assert updates_in(db) == 0

    # A 500 may come after the work was done: the message does not say nothing was published.
    page.unroute(publishing)
    page.route(publishing, answer(500, "<h1>Oops</h1>", "text/html; charset=utf-8"))
    page.get_by_role("button", name="Publish now").click()
    expect(flash).to_contain_text("The server could not do this (500: an unexpected error on the server).")
    expect(flash).to_contain_text("It is not known whether it was done: check the update list")
    expect(flash).not_to_contain_text("Nothing was")
    expect(page.locator('#compose-form input[name="body"]')).to_have_value(BODY)

    page.unroute(publishing)
    page.get_by_role("button", name="Publish now").click()
    expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"))
    expect(flash).to_be_empty()
    assert updates_in(db) == 1
    assert watch.problems == []


def test_a_request_that_gets_no_answer_is_said_in_flash_and_the_next_step_clears_it(
    server: LiveServer, slug: str, page: Page, db: Database
) -> None:
    watch = Watch(page)
    open_compose(page, server, slug)
    flash = page.locator("#flash")

    # A preview that fails while the PIO types is not an action of theirs: nothing is said.
    previewing = f"{server.url}/console/incidents/{slug}/preview"
    page.route(previewing, answer(503, "busy"))
    with page.expect_response(lambda response: response.url == previewing):
        page.fill("#compose-headline", "Bridge closed")
    expect(flash).to_be_empty()
    page.unroute(previewing)

    sending = f"{server.url}/console/incidents/{slug}/updates"
    page.route(sending, lambda route: route.abort("connectionreset"))
    page.get_by_role("button", name="Review and publish…").click()
    expect(flash).to_have_text(
        "The request did not reach the server, or its answer was lost: nothing on this screen "
        "changed. Check the update list before trying again."
    )
    expect(flash).not_to_contain_text("Nothing was")
    expect(page.locator("#compose-body")).to_have_value(BODY)
    expect(page.locator("#compose-headline")).to_have_value("Bridge closed")

    page.unroute(sending)
    page.get_by_role("button", name="Review and publish…").click()
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_visible()
    expect(flash).to_be_empty()
    assert updates_in(db) == 0
    assert watch.problems == []


def test_a_request_that_hangs_is_given_up_and_said_in_flash(
    server: LiveServer, slug: str, page: Page, db: Database
) -> None:
    """A request the network holds with no answer (a half-open connection) ends after the
    console's timeout, which says so, rather than leaving the PIO waiting on a silent button."""
    open_compose(page, server, slug)
    assert page.evaluate("htmx.config.timeout") == 30_000
    assert page.locator("#compose-upload").get_attribute("data-hx-request") == '{"timeout": 600000}'
    page.evaluate("htmx.config.timeout = 500")  # the same path, without waiting 30 s
    held: list[Route] = []
    sending = f"{server.url}/console/incidents/{slug}/updates"
    page.route(sending, lambda route: held.append(route))  # never answered
    page.get_by_role("button", name="Review and publish…").click()
    expect(page.locator("#flash")).to_contain_text(LOST)
    assert len(held) == 1
    expect(page.locator("#compose-body")).to_have_value(BODY)
    assert updates_in(db) == 0


def active(page: Page) -> dict[str, str | bool | None]:
    return page.evaluate(
        """() => {
          const element = document.activeElement;
          const describedBy = element.getAttribute("aria-describedby");
          return {
            tag: element.localName,
            id: element.id || null,
            text: element.textContent.trim(),
            region: element.closest("[role=region]")?.getAttribute("aria-labelledby") ?? null,
            section: element.closest("section")?.id ?? null,
            description: describedBy ? document.getElementById(describedBy)?.textContent : null,
            stepTitle: element.hasAttribute("data-step-title"),
          };
        }"""
    )


def press(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).focus()
    page.keyboard.press("Enter")


def tab_to(page: Page, name: str, most: int = 12) -> None:
    """Tab forward, a few presses at most, until the button `name` has focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"{most} presses of Tab did not reach {name!r}")


def test_the_review_step_takes_focus_and_enter_publishes(
    server: LiveServer, slug: str, page: Page, db: Database
) -> None:
    watch = Watch(page)
    open_compose(page, server, slug)
    press(page, "Review and publish…")
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_focused()
    assert active(page)["stepTitle"]  # the step's marked title, not a heading of the previews
    page.keyboard.press("Enter")  # a second Enter publishes nothing: it only asked to review
    assert updates_in(db) == 0
    tab_to(page, "Publish now")
    assert active(page)["region"] == "review-heading"  # named "Check before publishing"

    # Back to edit: focus goes to the form's heading, and the next Tab into the form.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Back to edit")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#compose-body")).to_have_value(BODY)
    expect(page.get_by_role("heading", name="New update")).to_be_focused()

    press(page, "Review and publish…")
    expect(page.get_by_role("heading", name="Check before publishing")).to_be_focused()
    tab_to(page, "Publish now")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?notice=published#update-1$"))
    assert updates_in(db) == 1
    assert watch.problems == []


def test_confirm_retract_correct_and_resolve_steps_take_focus(
    server: LiveServer, slug: str, page: Page, db: Database, routing: Routing
) -> None:
    watch = Watch(page)
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body=BODY, preliminary=True), routing=routing
        ).update.id
    sign_in(page, server.url, "pio@example.org")
    page.goto(f"{server.url}/console/updates/{update_id}")
    page.wait_for_load_state()

    press(page, "Confirm…")
    expect(page.get_by_text("Confirm update 1?", exact=True)).to_be_focused()
    assert active(page)["stepTitle"]
    tab_to(page, "Yes, confirm")
    assert active(page)["description"] == "Confirm update 1?"

    page.fill("#retract-reason", "Posted in error.")
    press(page, "Retract…")
    expect(page.get_by_text("Retract update 1?", exact=True)).to_be_focused()
    assert active(page)["stepTitle"]
    tab_to(page, "Yes, retract")
    assert active(page)["description"] == "Retract update 1?"

    page.fill("#correct-body", BODY.replace("Oak", "Elm"))
    page.fill("#correct-reason", "The detour is over the Elm St bridge.")
    press(page, "Review correction…")
    expect(page.locator("#correct-review-heading")).to_be_focused()
    assert active(page)["stepTitle"]
    tab_to(page, "Publish correction")
    assert active(page)["region"] == "correct-review-heading"

    # Resolving asks for the all-clear message ("All clear: " to finish): focus goes there.
    page.goto(f"{server.url}/console/incidents/{slug}")
    page.wait_for_load_state()
    press(page, "Resolve incident…")
    expect(page.locator("#resolve-message")).to_be_focused()
    started = page.locator("#resolve-message").input_value()
    assert page.evaluate("document.activeElement.selectionStart") == len(started)  # goes on typing
    tab_to(page, "Publish the all-clear and resolve")
    assert active(page)["description"] == "Resolve “Bridge closure”?"
    assert watch.problems == []


def test_the_merge_step_opens_at_its_first_choice_then_its_review_at_the_heading(
    server: LiveServer, slug: str, page: Page, db: Database, routing: Routing
) -> None:
    """Issue 13.1's merge: what is left to do there is a choice, so focus goes to it; once
    picked, the review of the correction opens at its heading."""
    watch = Watch(page)
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Shelter at Station 4, 310 Birch St."), routing=routing
        ).update.id
    sign_in(page, server.url, "pio@example.org")
    page.goto(f"{server.url}/console/updates/{update_id}")
    page.wait_for_load_state()
    page.fill("#correct-body", "Shelter at Station 5, 310 Birch St. Open until 6 am.")
    page.fill("#correct-reason", "Added hours")
    with db.write() as session:  # another PIO moves the shelter meanwhile
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Shelter at Fire Station 7, 55 Cedar St."),
            reason="Shelter moved",
            corrects_version=1,
            routing=routing,
        )

    press(page, "Review correction…")
    expect(page.get_by_role("button", name="Apply my changes to the newer version")).to_be_visible()
    press(page, "Apply my changes to the newer version")
    merge = page.locator("[data-testid=merge]")
    expect(merge.get_by_role("radio").first).to_be_focused()  # nothing is picked for the PIO
    expect(merge.locator("[data-step-title]")).to_have_text("Your changes applied to version 2")

    page.keyboard.press("Space")  # picks the first choice (the other PIO's text)
    press(page, "Use these choices and review…")
    expect(page.locator("#correct-review-heading")).to_be_focused()
    assert active(page)["stepTitle"]
    tab_to(page, "Publish correction")
    assert active(page)["region"] == "correct-review-heading"
    assert watch.problems == []


def test_the_revoke_step_takes_focus_at_its_question(server: LiveServer, page: Page, db: Database) -> None:
    """A confirm step whose question stands alone in its form (no paragraph around it)."""
    watch = Watch(page)
    make_user(db, "admin", "admin@example.org", "Ada Admin")
    with db.write() as session:
        create_token(session, OPERATOR, email="admin@example.org", name="CAD integration")
    sign_in(page, server.url, "admin@example.org")
    page.goto(f"{server.url}/console/admin")
    page.wait_for_load_state()

    press(page, "Revoke…")
    question = "Revoke “CAD integration”? Anything using it stops working at once."
    expect(page.get_by_text(question, exact=True)).to_be_focused()
    assert active(page)["stepTitle"]
    page.keyboard.press("Enter")  # a second Enter revokes nothing: it only asked to confirm
    expect(page.get_by_role("button", name="Yes, revoke")).to_be_visible()
    with db.read() as session:
        assert session.scalars(select(ApiToken.revoked_at)).one() is None
    tab_to(page, "Yes, revoke")
    assert active(page)["description"] == question
    assert watch.problems == []


def test_an_autosave_that_fails_says_not_saved_on_its_line(
    server: LiveServer, slug: str, page: Page, db: Database
) -> None:
    """The autosave line said "Saved as you typed, at …" after the saves behind it failed:
    the PIO went on typing, trusting text that was not kept."""
    open_compose(page, server, slug)
    line = page.locator("#compose-autosave")
    expect(line).to_contain_text("Saved as you typed, at")

    saving = f"{server.url}/console/incidents/{slug}/autosave"
    page.route(saving, lambda route: route.abort("connectionreset"))
    page.fill("#compose-body", BODY + " Expect delays.")
    expect(line).to_contain_text("Not saved: the server could not be reached")
    page.unroute(saving)
    page.fill("#compose-body", BODY + " Expect long delays.")
    expect(line).to_contain_text("Saved as you typed, at")
    expect(line).not_to_contain_text("Not saved")

    other_tab = page.context.new_page()
    other_tab.goto(f"{server.url}/console")
    other_tab.get_by_role("button", name="Sign out").click()  # the session ends
    page.fill("#compose-body", BODY + " Expect delays until noon.")
    expect(line).to_contain_text("Not saved: your session has ended")
    expect(page.locator("#compose-body")).to_have_value(BODY + " Expect delays until noon.")
