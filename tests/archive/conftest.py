"""Fixtures for the archive tests: a record published at known times, and tokens by role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, sync_playwright

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident, resolve_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, confirm_update, correct_update, publish_update, retract_update
from tests.conftest import PIO
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.support.factories import bearer, make_token

T0 = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Sample:
    slug: str
    update_ids: list[int]


def publish_history(
    db: Database, routing: Routing, *, title: str = "Gas leak on Elm St", at: datetime = T0
) -> Sample:
    """Update 1: original, correction, confirmation. Update 2: original, retraction.
    Update 3: original only. Each step one minute after the last."""
    tick = iter(at + timedelta(minutes=n) for n in range(100))
    with db.write() as session:
        incident, _ = create_incident(
            session,
            PIO,
            IncidentDraft(title=title, summary="Crews are on scene.", location="Elm St", category="Fire"),
            routing=routing,
            now=next(tick),
        )
        first = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="Evacuation", body="Residents of Oak St are evacuated."),
            routing=routing,
            now=next(tick),
        )
        correct_update(
            session,
            PIO,
            first.update.id,
            Draft(headline="Evacuation", body="Residents of Elm St are evacuated."),
            reason="Wrong street named",
            corrects_version=1,
            routing=routing,
            now=next(tick),
        )
        confirm_update(session, PIO, first.update.id, corrects_version=2, routing=routing, now=next(tick))
        second = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="Shelter in place downtown."),
            routing=routing,
            now=next(tick),
        )
        retract_update(
            session, PIO, second.update.id, reason="Issued in error", routing=routing, now=next(tick)
        )
        third = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="The leak is contained.", preliminary=False),
            routing=routing,
            now=next(tick),
        )
        return Sample(incident.slug, [first.update.id, second.update.id, third.update.id])


def make_incident(
    db: Database,
    routing: Routing,
    title: str,
    *,
    at: datetime,
    body: str = "An update.",
    category: str = "Other",
    resolved_at: datetime | None = None,
) -> str:
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title=title, category=category), routing=routing, now=at
        )
        publish_update(session, PIO, incident.slug, Draft(body=body), routing=routing, now=at)
        if resolved_at is not None:
            resolve_incident(session, PIO, incident.slug, routing=routing, now=resolved_at)
        return incident.slug


@pytest.fixture
def sample(db: Database, routing: Routing) -> Sample:
    return publish_history(db, routing)


@pytest.fixture
def reviewer(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "reviewer", name="Rita Reviewer"))


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "admin", name="Ada Admin"))


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def own_page() -> Iterator[Page]:
    """A page of a browser started for this test alone. The shared session `browser` keeps
    Playwright's event loop running in this thread until the session ends, which makes every
    later `asyncio.run()` of the suite fail; this one is gone when the test is."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium.new_context().new_page()
        finally:
            chromium.close()


@pytest.fixture
def browser_no_js() -> Iterator[Page]:
    """Like `own_page`, with JavaScript turned off."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium.new_context(java_script_enabled=False).new_page()
        finally:
            chromium.close()
