"""The incident screen's "What to do now" buttons (issue 13.6), as with JavaScript off: pin an
update, see it marked, unpin; a reviewer sees no button and cannot post one."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import Pin
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(session, PIO, IncidentDraft(title="Chemical fire"), routing=routing)
        for body in ("Stay indoors.", "Crews are on scene."):
            publish_update(session, PIO, created.slug, Draft(body=body), routing=routing)
        return created.slug


def pinned(db: Database) -> list[int | None]:
    with db.read() as session:
        return [pin.update_id for pin in session.scalars(select(Pin).order_by(Pin.id))]


def test_a_pio_pins_an_update_sees_it_marked_and_unpins_it(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    screen = client.get(f"/console/incidents/{incident}").text
    assert screen.count("Pin as “What to do now”") == 2 and "WHAT TO DO NOW" not in screen
    done = client.post(
        f"/console/incidents/{incident}/pin", data={"seq": "1", "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?notice=pinned")
    screen = client.get(done.headers["location"]).text
    assert "Pinned: it is shown first as “What to do now”" in screen
    assert "WHAT TO DO NOW" in screen and "Unpin “What to do now”" in screen
    assert screen.count("Pin as “What to do now”") == 1
    assert "What to do now" in client.get(f"/incidents/{incident}").text
    undone = client.post(
        f"/console/incidents/{incident}/pin", data={"seq": "", "csrf_token": token}, follow_redirects=False
    )
    assert undone.status_code == 303 and undone.headers["location"].endswith("?notice=unpinned")
    assert len(pinned(db)) == 2 and pinned(db)[1] is None


@pytest.mark.parametrize(("seq", "status"), [("x", 422), ("7", 422)])
def test_a_refused_pin_is_an_error_page_and_writes_nothing(
    client: TestClient, db: Database, incident: str, seq: str, status: int
) -> None:
    token = sign_in(client, email_of("pio"))
    refused = client.post(f"/console/incidents/{incident}/pin", data={"seq": seq, "csrf_token": token})
    assert refused.status_code == status
    assert pinned(db) == []


def test_a_reviewer_sees_no_pin_button_and_cannot_pin(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("reviewer"))
    assert "Pin as" not in client.get(f"/console/incidents/{incident}").text
    refused = client.post(f"/console/incidents/{incident}/pin", data={"seq": "1", "csrf_token": token})
    assert refused.status_code == 403
    assert pinned(db) == []
