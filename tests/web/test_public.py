"""An alert's link to one update (`/incidents/{slug}/updates/{seq}`): it leads to the update on
the incident's page while the page lists it, else to it in the history, without JavaScript."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from console.db import Database
from console.domain import wording
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def incident_with_updates(db: Database, routing: Routing, count: int) -> str:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        for number in range(1, count + 1):
            publish_update(
                session, PIO, incident.slug, Draft(body=f"Update number {number}."), routing=routing
            )
        return incident.slug


def test_an_update_link_leads_to_the_page_or_to_the_history(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = incident_with_updates(db, routing, 3)
    settings = dataclasses.replace(settings, languages=("en", "es"), public_timeline_limit=2)
    with TestClient(create_app(settings)) as client:
        newest = client.get(f"/incidents/{slug}/updates/3", follow_redirects=False)
        shown = client.get(f"/incidents/{slug}/updates/2", follow_redirects=False)
        older = client.get(f"/incidents/{slug}/updates/1", follow_redirects=False)
        spanish = client.get(f"/incidents/{slug}/updates/1?lang=es", follow_redirects=False)
        spanish_newest = client.get(f"/incidents/{slug}/updates/3?lang=es", follow_redirects=False)
        page = client.get(f"/incidents/{slug}/updates/3").text
        history = client.get(f"/incidents/{slug}/updates/1").text
    assert (newest.status_code, newest.headers["location"]) == (303, f"/incidents/{slug}#update-3")
    assert shown.headers["location"] == f"/incidents/{slug}#update-2"
    assert (older.status_code, older.headers["location"]) == (303, f"/incidents/{slug}/history#update-1")
    assert spanish.headers["location"] == f"/incidents/{slug}/history?lang=es#update-1"
    assert spanish_newest.headers["location"] == f"/incidents/{slug}?lang=es#update-3"
    assert newest.headers["cache-control"].startswith("public, max-age=")
    assert "set-cookie" not in newest.headers
    # Each lands where the update is.
    assert 'id="update-3"' in page and 'id="update-1"' not in page
    assert 'id="update-1"' in history


def test_an_update_newer_than_the_page_in_memory_leads_to_the_page(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """The alert goes out the moment an update is published: its link may be opened before
    the page in memory has it."""
    slug = incident_with_updates(db, routing, 1)
    settings = dataclasses.replace(settings, live_poll_seconds=60)
    with TestClient(create_app(settings)) as client:
        assert 'id="update-1"' in client.get(f"/incidents/{slug}").text  # now in memory
        with db.write() as session:
            publish_update(session, PIO, slug, Draft(body="Update number 2."), routing=routing)
        answer = client.get(f"/incidents/{slug}/updates/2", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/incidents/{slug}#update-2")


def test_an_unknown_incident_or_update_is_the_not_found_page(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = incident_with_updates(db, routing, 2)
    settings = dataclasses.replace(settings, languages=("en", "es"))
    with TestClient(create_app(settings)) as client:
        no_incident = client.get("/incidents/no-such-incident/updates/1", headers=BROWSER)
        not_a_slug = client.get("/incidents/NOT%20A%20SLUG/updates/1", headers=BROWSER)
        no_update = client.get(f"/incidents/{slug}/updates/3?lang=es", headers=BROWSER)
        zero = client.get(f"/incidents/{slug}/updates/0", headers=BROWSER)
        not_a_number = client.get(f"/incidents/{slug}/updates/first", headers=BROWSER)
        past_any_number = client.get(f"/incidents/{slug}/updates/{10**20}", headers=BROWSER)
    assert no_incident.status_code == 404 and "There is no incident at this address" in no_incident.text
    assert not_a_slug.status_code == 404
    assert no_update.status_code == 404 and no_update.headers["content-language"] == "es"
    assert "No hay ninguna página en esta dirección" in no_update.text
    assert zero.status_code == 404 and not_a_number.status_code == 404
    assert past_any_number.status_code == 404


def test_the_link_an_alert_gives_is_this_route(settings: Settings) -> None:
    assert wording.stable_update_url(settings.public_url, "gas-leak", 4, "es") == (
        f"{settings.public_url}/incidents/gas-leak/updates/4?lang=es"
    )
