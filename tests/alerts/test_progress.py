"""The PIO sees, per version and alert channel, how far the fan-out has got."""

from __future__ import annotations

import dataclasses
import re

from starlette.testclient import TestClient

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from console.web.app import create_app
from tests.alerts.support import seed_email_subscribers
from tests.alerts.test_email import drain
from tests.conftest import PIO
from tests.support.factories import make_user
from tests.web.staff.conftest import start_session, use_session


def test_update_page_shows_fanout_progress(settings: Settings, db: Database, tmp_path: object) -> None:
    preview = dataclasses.replace(
        settings, channels=("subscribers",), mail_preview_dir=settings.archive_dir / "mail"
    )
    seed_email_subscribers(db, 7)
    routing = routing_for(preview)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Fire"), routing=routing)
        update_id = publish_update(
            session, PIO, incident.slug, Draft(body="Evacuate."), routing=routing
        ).update.id
    pio = make_user(db, "pio", "pio@example.org", "Pat")
    with TestClient(create_app(preview), base_url="http://testserver.local") as client:
        use_session(client, start_session(db, pio))
        before = client.get(f"/console/updates/{update_id}").text
        assert "fanout-progress__line" not in before  # no job yet: the outbox has not run
        drain(preview, db)
        page = client.get(f"/console/updates/{update_id}").text
        lines = re.findall(r'data-channel="(\w+)">([^<]+)</li>', page)
        assert ("email", "Email 7 of 7 sent, 0 failed (done)") in lines
        assert ("webhook", "Webhooks 0 of 0 sent, 0 failed (done)") in lines
        polled = client.get(
            f"/console/updates/{update_id}/deliveries?since=999999", headers={"HX-Request": "true"}
        ).text
        assert 'data-hx-swap-oob="true"' in polled and "Email 7 of 7 sent, 0 failed (done)" in polled
    # Preview mode: recorded as .eml files, never sent.
    assert len(list((settings.archive_dir / "mail").glob("*.eml"))) == 7


def test_dashboard_counts_subscribers_per_channel_and_language(settings: Settings, db: Database) -> None:
    seed_email_subscribers(db, 3)
    pio = make_user(db, "pio", "pio@example.org", "Pat")
    with TestClient(create_app(settings), base_url="http://testserver.local") as client:
        use_session(client, start_session(db, pio))
        page = client.get("/console").text
    assert "<td>email</td><td>en</td><td>3</td>" in page
    assert "r0@example.org" not in page  # counts only, never addresses
