"""Partners' webhooks in the JSON API, as an admin's script reads them: the delivery log of an
endpoint is complete, a page at a time, newest first."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from console.alert_models import AlertChannel, AlertDelivery, AlertState, FanoutJob, FanoutState
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from console.web.app import create_app
from console.web.webhooks_api import LOG_PAGE_DEFAULT
from tests.conftest import PIO
from tests.support.factories import bearer, make_token

PUBLISHED = LOG_PAGE_DEFAULT + 7  # more versions than one page of the log holds


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, channels=("subscribers",), webhook_allow_private=True)


def delivered(db: Database, settings: Settings, webhook_id: int, count: int) -> list[int]:
    """`count` published versions, each delivered to the endpoint (as the fan-out records them);
    their event ids, oldest first."""
    routing = routing_for(settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        slug = incident.slug
    events = []
    for number in range(count):
        with db.write() as session:
            published = publish_update(session, PIO, slug, Draft(body=f"Update {number}."), routing=routing)
            event_id = published.event.event_id
            job = FanoutJob(event_id=event_id, channel=AlertChannel.WEBHOOK, state=FanoutState.DONE)
            session.add(job)
            session.flush()
            session.add(
                AlertDelivery(
                    event_id=event_id,
                    subscriber_id=webhook_id,
                    job_id=job.id,
                    state=AlertState.SENT,
                    attempts=1,
                )
            )
        events.append(event_id)
    return events


def test_the_delivery_log_pages_through_every_delivery_newest_first(
    hook_settings: Settings, db: Database
) -> None:
    admin = bearer(make_token(db, "admin"))
    with TestClient(create_app(hook_settings)) as client:
        registered = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=admin)
        assert registered.status_code == 201, registered.text
        hook = registered.json()["id"]
        events = delivered(db, hook_settings, hook, PUBLISHED)
        log = f"/api/v1/webhooks/{hook}/deliveries"

        first = client.get(log, headers=admin).json()
        assert len(first["deliveries"]) == LOG_PAGE_DEFAULT
        seen, before = [d["event_id"] for d in first["deliveries"]], first["next_before"]
        while before is not None:
            page = client.get(log, params={"before": before, "limit": 5}, headers=admin).json()
            assert len(page["deliveries"]) <= 5
            seen += [d["event_id"] for d in page["deliveries"]]
            before = page["next_before"]
        assert seen == events[::-1], "every delivery, newest first, none twice"

        everything = client.get(log, params={"limit": PUBLISHED}, headers=admin).json()
        assert [d["event_id"] for d in everything["deliveries"]] == events[::-1]
        assert everything["next_before"] is None, "the last page says so"

        for bad in ({"limit": "0"}, {"limit": "501"}, {"before": "x"}, {"before": ""}):
            refused = client.get(log, params=bad, headers=admin)
            assert refused.status_code == 422, bad
            assert list(refused.json()["error"]["fields"]) == list(bad)
