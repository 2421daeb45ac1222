"""Incident details are versioned (issue 13.5): a change is a new details version with its
author, time and reason, audited and announced on every channel, never an edit in place."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.domain.details_versions import details_hash
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.signing import SigningUnavailable
from console.keyset import KeySet
from console.models import AuditEvent, EventType, IncidentDetailsVersion, OutboxEvent
from console.settings import Settings
from tests.archive.test_signatures import check_signed
from tests.conftest import PIO
from tests.support.factories import bearer, make_token


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def incident(client: TestClient, pio: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/incidents",
        json={"title": "Chemcial spill", "summary": "Tanker overturned", "location": "I-95 exit 12"},
        headers=pio,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def details(client: TestClient, headers: dict[str, str], incident_slug: str, **body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{incident_slug}/details", json=body, headers=headers)


def test_a_new_incident_has_details_version_1(client: TestClient, incident: dict[str, Any]) -> None:
    record = client.get(f"/api/v1/incidents/{incident['slug']}").json()
    [first] = record["details_versions"]
    assert first["version"] == 1
    assert first["fields"] == {
        "title": "Chemcial spill",
        "summary": "Tanker overturned",
        "location": "I-95 exit 12",
        "category": "Other",
        "alert_status": "actual",
    }
    assert (first["reason"], first["author"], first["changed"]) == (None, "Casey Park", [])
    assert first["published_at"]


def test_correcting_details_makes_a_new_version_audited_and_announced(
    client: TestClient, db: Database, pio: dict[str, str], incident: dict[str, Any]
) -> None:
    slug = incident["slug"]
    response = details(
        client,
        pio,
        slug,
        title="Chemical spill",
        category="cbrne",
        reason="Typo in title",
        corrects_version=1,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/incidents/{slug}"
    assert (body["incident"], body["version"], body["reason"], body["author"]) == (
        slug,
        2,
        "Typo in title",
        "Casey Park",
    )
    assert body["changed"] == ["title", "category"]
    assert body["fields"]["title"] == "Chemical spill" and body["fields"]["category"] == "CBRNE"
    assert body["fields"]["summary"] == "Tanker overturned"  # left as it was

    record = client.get(f"/api/v1/incidents/{slug}").json()
    assert record["title"] == "Chemical spill" and record["category"] == "CBRNE"
    assert [v["version"] for v in record["details_versions"]] == [1, 2]
    assert record["details_versions"][0]["fields"]["title"] == "Chemcial spill"  # history kept

    with db.read() as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident.details_changed")
        ).one()
        data = json.loads(audit.data)
        assert (data["version"], data["title"], data["reason"]) == (2, "Chemical spill", "Typo in title")
        event = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == EventType.INCIDENT_DETAILS_CHANGED)
        ).one()
        assert event.id == body["event_id"]
        assert session.scalar(select(func.count()).select_from(IncidentDetailsVersion)) == 2


def test_every_details_version_is_signed_with_the_agencys_key(
    client: TestClient, db: Database, settings: Settings, pio: dict[str, str], incident: dict[str, Any]
) -> None:
    slug = incident["slug"]
    changed = details(client, pio, slug, location="I-95 exit 13", reason="Moved", corrects_version=1)
    assert changed.status_code == 201, changed.text
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    check_signed(jwks, changed.json())  # the answer to the change shows it too
    record = client.get(f"/api/v1/incidents/{slug}").json()
    assert [version["version"] for version in record["details_versions"]] == [1, 2]
    for view in record["details_versions"]:
        check_signed(jwks, view)  # with `cryptography`, from the published keys
    with db.read() as session:
        rows = session.scalars(select(IncidentDetailsVersion).order_by(IncidentDetailsVersion.version)).all()
    # ... over the hash of the row's own content, by the current key
    assert [row.content_hash for row in rows] == [view["content_hash"] for view in record["details_versions"]]
    assert all(row.content_hash == details_hash(slug, row) for row in rows)
    assert {row.signature_kid for row in rows} == {KeySet.load(settings.signing_key_file).current.kid}


def test_details_are_not_written_without_a_signing_key(
    db: Database, settings: Settings, routing: Routing, incident: dict[str, Any]
) -> None:
    unsigned = Database(settings.database_url)  # as a process that loaded no SIGNING_KEY_FILE
    try:
        with pytest.raises(SigningUnavailable), unsigned.write() as session:
            create_incident(session, PIO, IncidentDraft(title="Unsigned"), routing=routing)
        with pytest.raises(SigningUnavailable), unsigned.write() as session:
            change_details(
                session,
                PIO,
                incident["slug"],
                DetailsDraft(title="Unsigned"),
                reason="No key",
                corrects_version=1,
                routing=routing,
            )
    finally:
        unsigned.dispose()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(IncidentDetailsVersion)) == 1


def test_a_stale_version_is_a_conflict_and_writes_nothing(
    client: TestClient, db: Database, pio: dict[str, str], incident: dict[str, Any]
) -> None:
    slug = incident["slug"]
    assert (
        details(client, pio, slug, title="Chemical spill", reason="Typo", corrects_version=1).status_code
        == 201
    )
    stale = details(client, pio, slug, location="I-95 exit 13", reason="Moved", corrects_version=1)
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["current"]["fields"]["title"] == "Chemical spill"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(IncidentDetailsVersion)) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Chemcial spill", "reason": "Same", "corrects_version": 1}, "details"),
        ({"reason": "Nothing", "corrects_version": 1}, "details"),
        ({"title": "Chemical spill", "corrects_version": 1}, "reason"),
        ({"title": "Chemical spill", "reason": "Typo"}, "corrects_version"),
        ({"title": " ", "reason": "Typo", "corrects_version": 1}, "title"),
        ({"category": "Weather", "reason": "Typo", "corrects_version": 1}, "category"),
        ({"alert_status": "drill", "reason": "Typo", "corrects_version": 1}, "alert_status"),
        ({"category": " ", "alert_status": "", "reason": "Blank keeps", "corrects_version": 1}, "details"),
        ({"slug": "other", "reason": "Typo", "corrects_version": 1}, "slug"),
    ],
)
def test_refused_details_changes_are_422_and_write_nothing(
    client: TestClient,
    db: Database,
    pio: dict[str, str],
    incident: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    response = details(client, pio, incident["slug"], **body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(IncidentDetailsVersion)) == 1


def test_only_publishers_change_details(
    client: TestClient, db: Database, pio: dict[str, str], incident: dict[str, Any]
) -> None:
    reviewer = bearer(make_token(db, "reviewer"))
    body = {"title": "Chemical spill", "reason": "Typo", "corrects_version": 1}
    assert details(client, reviewer, incident["slug"], **body).status_code == 403
    assert client.post(f"/api/v1/incidents/{incident['slug']}/details", json=body).status_code == 401
    assert details(client, pio, "no-such", **body).status_code == 404


def test_the_database_refuses_to_edit_or_delete_a_details_version(
    db: Database, incident: dict[str, Any]
) -> None:
    for statement in (
        "UPDATE incident_details_versions SET title = 'Drill'",
        "DELETE FROM incident_details_versions",
    ):
        with pytest.raises(DatabaseError), db.engine.begin() as conn:
            conn.execute(text(statement))


def test_the_migration_gives_existing_incidents_their_version_1(
    client: TestClient, db: Database, incident: dict[str, Any]
) -> None:
    from alembic import command

    from console.domain.details_versions import details_hash
    from console.migrate import alembic_config, upgrade

    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "i16_subscriptions")
    upgrade(db)
    with db.read() as session:
        [row] = session.scalars(select(IncidentDetailsVersion)).all()
        assert (row.version, row.title, row.author_name, row.reason) == (
            1,
            "Chemcial spill",
            "Casey Park",
            None,
        )
        assert row.content_hash == details_hash(incident["slug"], row)


def test_details_written_before_they_were_signed_stay_unsigned_and_immutable(
    db: Database, incident: dict[str, Any]
) -> None:
    """Migration i19_details_signatures adds the columns in place: the rows keep no signature,
    and (no table rebuild on SQLite) their immutability triggers."""
    from alembic import command

    from console.migrate import alembic_config, upgrade

    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "i18_pending_template")
    upgrade(db)
    with db.read() as session:
        [row] = session.scalars(select(IncidentDetailsVersion)).all()
        assert (row.signature_kid, row.signature_value) == (None, None)
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("UPDATE incident_details_versions SET title = 'Drill'"))


def test_the_public_history_shows_each_details_change_with_a_word_diff(
    client: TestClient, pio: dict[str, str], incident: dict[str, Any]
) -> None:
    slug = incident["slug"]
    assert "Changes to the incident" not in client.get(f"/incidents/{slug}/history").text
    response = details(
        client, pio, slug, title="Chemical spill", location="I-95 exit 13", reason="Typo", corrects_version=1
    )
    assert response.status_code == 201
    page = client.get(f"/incidents/{slug}/history")
    assert page.status_code == 200
    assert "<h1>Chemical spill: history</h1>" in page.text  # the current details
    section = page.text.split('id="details"', 1)[1].split("</section>", 1)[0]
    assert "Details version 2" in section and "Reason:</strong> Typo" in section and "Casey Park" in section
    assert (
        "<dt>Title</dt>" in section and "<dt>Location</dt>" in section and "<dt>Summary</dt>" not in section
    )
    assert "<del>Chemcial</del>" in section and "<ins>Chemical</ins>" in section
    assert "<del>12</del>" in section and "<ins>13</ins>" in section
