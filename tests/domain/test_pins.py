""" "What to do now" (issue 13.6): a PIO pins one update; it is shown first, recorded, audited,
verified, and never shown once retracted or after the incident is resolved."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.domain import public
from console.domain.integrity import verify
from console.models import AuditEvent, Delivery, EventType, OutboxEvent, Pin
from tests.support.factories import bearer, make_token


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def slug(client: TestClient, pio: dict[str, str]) -> str:
    created = client.post("/api/v1/incidents", json={"title": "Chemical fire"}, headers=pio)
    assert created.status_code == 201
    slug = str(created.json()["slug"])
    for body in ("Stay indoors and close your windows.", "Crews are on scene."):
        published = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": body}, headers=pio)
        assert published.status_code == 201
    return slug


def pin(client: TestClient, headers: dict[str, str], slug: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/incidents/{slug}/pin", json=body, headers=headers)


def shown_first(db: Database, slug: str) -> str | None:
    with db.read() as session:
        card = public.incident_header(session, slug).what_to_do_now
        return card.body if card is not None else None


def test_a_pin_is_shown_first_announced_and_audited_and_an_unpin_too(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    assert shown_first(db, slug) is None
    response = pin(client, pio, slug, {"seq": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["incident"], body["seq"], body["pinned_by"]) == (slug, 1, "Casey Park")
    assert shown_first(db, slug) == "Stay indoors and close your windows."
    with db.read() as session:
        event = session.get(OutboxEvent, body["event_id"])
        assert event is not None and event.type is EventType.INCIDENT_PINNED
        channels = set(session.scalars(select(Delivery.channel).where(Delivery.event_id == event.id)))
        assert {"live", "feeds", "archive"} <= channels and not {"x", "mastodon"} & channels
        [audited] = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.pinned")).all()
        assert json.loads(audited.data)["seq"] == 1 and audited.actor.startswith("Casey Park (user ")

    assert pin(client, pio, slug, {"seq": 2}).json()["seq"] == 2
    assert shown_first(db, slug) == "Crews are on scene."
    unpinned = pin(client, pio, slug, {"seq": None})
    assert unpinned.status_code == 200 and unpinned.json()["seq"] is None
    assert shown_first(db, slug) is None
    with db.read() as session:
        # Every change is a row of its own: who pinned what, and when, stays on record.
        assert [row.update_id is not None for row in session.scalars(select(Pin).order_by(Pin.id))] == [
            True,
            True,
            False,
        ]
        assert verify(session).ok


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "is required"),
        ({"seq": "1"}, "must be an integer"),
        ({"seq": 9}, "this incident has no update 9"),
        ({"seq": 0}, "this incident has no update 0"),
        ({"seq": 10**20}, "this incident has no update 1000"),
        ({"seq": None}, "nothing is pinned"),
    ],
)
def test_a_refused_pin_says_why_and_writes_nothing(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, body: dict[str, Any], problem: str
) -> None:
    response = pin(client, pio, slug, body)
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["fields"]["seq"]
    with db.read() as session:
        assert session.scalars(select(Pin)).all() == []


def test_the_same_pin_twice_is_refused(client: TestClient, pio: dict[str, str], slug: str) -> None:
    assert pin(client, pio, slug, {"seq": 1}).status_code == 200
    again = pin(client, pio, slug, {"seq": 1})
    assert again.status_code == 422 and "already pinned" in again.json()["error"]["fields"]["seq"]


def test_a_reviewer_cannot_pin_and_an_unknown_incident_is_404(
    client: TestClient, db: Database, slug: str, pio: dict[str, str]
) -> None:
    reviewer = bearer(make_token(db, "reviewer"))
    assert pin(client, reviewer, slug, {"seq": 1}).status_code == 403
    assert pin(client, pio, "no-such-incident", {"seq": 1}).status_code == 404


def test_a_retracted_update_is_never_what_to_do_now(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    assert pin(client, pio, slug, {"seq": 1}).status_code == 200
    update_id = client.get(f"/api/v1/incidents/{slug}").json()["updates"][-1]["id"]
    retracted = client.post(
        f"/api/v1/updates/{update_id}/retraction",
        json={"reason": "Wrong", "corrects_version": 1},
        headers=pio,
    )
    assert retracted.status_code == 201, retracted.text
    assert shown_first(db, slug) is None
    assert pin(client, pio, slug, {"seq": 2}).status_code == 200  # another update instead
    again = pin(client, pio, slug, {"seq": 1})
    assert again.status_code == 422 and "retracted" in again.json()["error"]["fields"]["seq"]


def test_resolving_puts_the_all_clear_first_and_a_resolved_incident_takes_no_pin(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    assert pin(client, pio, slug, {"seq": 1}).status_code == 200
    resolved = client.post(f"/api/v1/incidents/{slug}/resolve", json={"message": "All clear."}, headers=pio)
    assert resolved.status_code == 200
    assert shown_first(db, slug) is None
    assert pin(client, pio, slug, {"seq": 2}).status_code == 409
    assert pin(client, pio, slug, {"seq": None}).status_code == 200  # unpinning stays possible


def test_pins_are_immutable_and_verify_names_a_deleted_or_edited_one(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, tampered_db: Database
) -> None:
    assert pin(client, pio, slug, {"seq": 1}).status_code == 200
    with db.read() as session:
        assert verify(session).ok
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE pins SET update_id = (SELECT MAX(id) FROM updates)"))
    with db.read() as session:
        report = verify(session)
    assert (
        not report.ok
        and "pin" in report.describe()
        and "no longer pins what it recorded" in report.describe()
    )
    with tampered_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM pins"))
    with db.read() as session:
        report = verify(session)
    assert not report.ok and "is missing (it was deleted)" in report.describe()


@pytest.mark.parametrize("statement", ["UPDATE pins SET update_id = NULL", "DELETE FROM pins"])
def test_the_database_refuses_to_change_a_pin(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, statement: str
) -> None:
    assert pin(client, pio, slug, {"seq": 1}).status_code == 200
    with pytest.raises(DatabaseError, match="immutable"), db.engine.begin() as conn:
        conn.execute(text(statement))
