"""X: the all-clear and the reopening reason go into the incident's thread (issue 13.4)."""

from __future__ import annotations

from console.db import Database
from console.domain import wording
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.resolution import reopen_incident, resolve_with_all_clear
from console.domain.updates import NO_TRANSLATIONS, Draft, publish_update
from console.models import DeliveryState
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import Lane, x_settings
from tests.social.fake_x import FakeX


def test_the_all_clear_and_the_reopening_are_posted_in_the_incident_thread(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=lane.routing)
        slug = incident.slug
        publish_update(
            session, PIO, slug, Draft(body="Avoid Elm St.", preliminary=False), routing=lane.routing
        )
        resolve_with_all_clear(
            session,
            PIO,
            slug,
            "All clear: Elm St is open.",
            translations=NO_TRANSLATIONS,
            routing=lane.routing,
        )
        reopen_incident(session, PIO, slug, "A second leak on Oak St.", routing=lane.routing)
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 3
    by_id = {t.id: t for t in fake_x_server.live_tweets()}
    first, all_clear, reopened = (by_id[d.external_id or ""] for d in deliveries)
    assert (
        all_clear.text
        == f"RESOLVED: All clear: Elm St is open. {wording.update_url(lane.settings.public_url, slug, 2)}"
    )
    assert all_clear.in_reply_to == first.id
    assert (
        reopened.text
        == f"REOPENED: A second leak on Oak St. {wording.update_url(lane.settings.public_url, slug, 3)}"
    )
    assert reopened.in_reply_to == all_clear.id
