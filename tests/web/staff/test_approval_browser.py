"""Two-person approval end to end in headless Chromium (issue 18): an author sends an update for
approval, it appears on the approver's dashboard by itself (the list is polled), the approver
approves it and it is on the public page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.models import UpdateVersion
from console.settings import APPROVAL_KINDS, Settings
from tests.conftest import PIO
from tests.support.factories import make_user
from tests.support.live_server import LiveServer, serve
from tests.web.staff.test_browser import Watch, sign_in

WAIT = 15_000  # ms: the dashboard's list polls every 10 s


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    approving = replace(settings, approval_required=APPROVAL_KINDS, live_poll_seconds=0.2)
    with serve(approving) as live:
        yield live


@dataclass(frozen=True)
class Desks:
    """Two PIOs in browsers of their own: Ana writes, Ben approves; `slug` is their incident."""

    slug: str
    ana: Page
    ben: Page
    ana_context: BrowserContext
    ben_context: BrowserContext


@pytest.fixture
def desks(browser: Browser, db: Database, routing: Routing) -> Iterator[Desks]:
    make_user(db, "pio", "ana@example.org", "Ana Diaz")
    make_user(db, "pio", "ben@example.org", "Ben Okafor")
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)[0].slug
    ana_context, ben_context = browser.new_context(), browser.new_context()
    try:
        yield Desks(slug, ana_context.new_page(), ben_context.new_page(), ana_context, ben_context)
    finally:
        ana_context.close()
        ben_context.close()


def test_an_update_waits_on_the_approvers_dashboard_until_approved(
    server: LiveServer, desks: Desks, db: Database
) -> None:
    ana, ben, slug = desks.ana, desks.ben, desks.slug
    watch = Watch(ben)
    _open_dashboard(ben, server.url, "ben@example.org")
    sign_in(ana, server.url, "ana@example.org")
    _send_for_approval(ana, server.url, slug, "Leave Elm St now.")
    ana.get_by_role("button", name="Send for approval").click()
    expect(ana).to_have_url(re.compile(r"notice=pending_approval"))
    with db.read() as session:
        assert session.scalars(select(UpdateVersion)).all() == []

    pending = ben.locator("#approvals .pending")  # arrives by the list's own poll
    expect(pending).to_contain_text("Leave Elm St now.", timeout=WAIT)
    expect(pending).to_contain_text("by Ana Diaz")
    pending.get_by_role("button", name="Approve and publish").click()
    expect(ben).to_have_url(re.compile(r"notice=approved"))

    public = desks.ben_context.new_page()
    public.goto(f"{server.url}/incidents/{slug}")
    expect(public.locator("body")).to_contain_text("Leave Elm St now.", timeout=WAIT)
    with db.read() as session:
        version = session.scalars(select(UpdateVersion)).one()
        assert version.author_name == "Ana Diaz"
    assert watch.problems == []


def _open_dashboard(page: Page, url: str, email: str) -> None:
    """Sign in and keep the dashboard open: what arrives there arrives by its own poll."""
    sign_in(page, url, email)
    page.goto(f"{url}/console")
    expect(page.locator("#incident-list")).to_be_visible()


def _send_for_approval(page: Page, url: str, slug: str, body: str) -> None:
    page.goto(f"{url}/console/incidents/{slug}")
    page.fill("#compose-body", body)
    page.get_by_role("button", name="Review and publish…").click()


def test_a_returned_update_goes_back_to_its_author_with_the_comment(
    server: LiveServer, desks: Desks, db: Database
) -> None:
    ana, ben, slug = desks.ana, desks.ben, desks.slug
    watch = Watch(ana)
    sign_in(ana, server.url, "ana@example.org")
    sign_in(ben, server.url, "ben@example.org")
    _send_for_approval(ana, server.url, slug, "Shelter at Lincoln High.")
    ana.get_by_role("button", name="Send for approval").click()
    expect(ana).to_have_url(re.compile(r"notice=pending_approval"))

    ben.goto(f"{server.url}/console")
    pending = ben.locator("#approvals .pending")
    expect(pending).to_contain_text("Shelter at Lincoln High.", timeout=WAIT)
    pending.get_by_label("Comment (shown to the author)").fill("Name the entrance: the gym doors.")
    pending.get_by_role("button", name="Return to author").click()

    ana.goto(f"{server.url}/console")
    returned = ana.locator("#approvals .returned")
    expect(returned).to_contain_text("returned by Ben Okafor", timeout=WAIT)
    expect(returned.locator(".returned__comment")).to_have_text("Name the entrance: the gym doors.")
    expect(ana.locator("#approvals .pending")).to_have_count(0)
    with db.read() as session:
        assert session.scalars(select(UpdateVersion)).all() == []  # nothing went out
    assert watch.problems == []


def test_an_emergency_bypass_publishes_at_once_and_every_approver_sees_why(
    server: LiveServer, desks: Desks, db: Database
) -> None:
    ana, ben, slug = desks.ana, desks.ben, desks.slug
    watch = Watch(ben)
    _open_dashboard(ben, server.url, "ben@example.org")
    sign_in(ana, server.url, "ana@example.org")
    _send_for_approval(ana, server.url, slug, "Evacuate Elm St now.")
    ana.get_by_label("Publish now, without approval").check()
    reason = "Reason (recorded in the audit trail, shown to every PIO and emailed to the approvers)"
    ana.get_by_label(reason).fill("Gas spreading, chief unreachable")
    ana.get_by_role("button", name="Send for approval").click()

    public = desks.ana_context.new_page()
    public.goto(f"{server.url}/incidents/{slug}")
    expect(public.locator("body")).to_contain_text("Evacuate Elm St now.", timeout=WAIT)
    bypassed = ben.locator("#approvals .bypassed")  # on the approver's dashboard by its own poll
    expect(bypassed).to_contain_text("by Ana Diaz", timeout=WAIT)
    expect(bypassed).to_contain_text("published without approval: Gas spreading, chief unreachable")
    with db.read() as session:
        assert session.scalars(select(UpdateVersion.body)).all() == ["Evacuate Elm St now."]
    assert watch.problems == []
