"""Rumor control: rumor responses published, corrected, signed, audited and sent through the
outbox like updates; read back over the API; refused when wrong."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.domain.errors import InvalidInput, VersionConflict
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.integrity import verify
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, RumorTranslationDraft, correct_rumor, publish_rumor
from console.keyset import KeySet
from console.languages import Languages
from console.models import AuditEvent, Delivery, OutboxEvent
from console.settings import Settings
from console.verification import rumor_hash, verify_paths
from console.web.app import create_app
from tests.archive.support import deliver_everything
from tests.conftest import PIO
from tests.support.factories import bearer, make_token

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LANGUAGES = Languages(("en", "es"))
SHOOTER = RumorDraft(
    claim="There is a second shooter at the mall",
    verdict="False",
    facts="One suspect was involved and is in custody. There is no second shooter.",
    seen_at="X, widely shared",
)


def test_a_rumor_response_is_signed_audited_and_sent_to_every_channel(
    db: Database, routing: Routing, settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Mall shooting"), routing=routing, now=T0
        )
        published = publish_rumor(
            session,
            PIO,
            SHOOTER,
            incident_slug=incident.slug,
            routing=routing,
            languages=LANGUAGES,
            translations=[
                RumorTranslationDraft("es", "Hay un segundo tirador en el centro comercial", "No lo hay.")
            ],
            now=T0,
        )
        rumor_id, version_id = published.rumor.id, published.version.id
    with db.read() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.rumor_version_id == version_id)).one()
        channels = sorted(session.scalars(select(Delivery.channel).where(Delivery.event_id == event.id)))
        assert channels == sorted(routing.channels_for(event.type))
        assert {"live", "archive", "feeds", "x", "mastodon"} <= set(channels)
        [audited] = session.scalars(select(AuditEvent).where(AuditEvent.action == "rumor.published"))
        assert json.loads(audited.data)["content_hash"] == published.version.content_hash
    deliver_everything(settings, db)
    record = json.loads((settings.archive_dir / "rumors" / f"{rumor_id}.json").read_text())
    version = record["versions"][0]
    assert record["headline"] == "RUMOR CONTROL: FALSE — “There is a second shooter at the mall”"
    assert version["content_hash"] == rumor_hash(rumor_id, incident.slug, version)
    keys = KeySet.load(settings.signing_key_file)
    assert verify_paths([settings.archive_dir / "rumors" / f"{rumor_id}.json"], keys).ok
    with db.read() as session:
        posts = session.scalars(
            select(Delivery.detail).where(
                Delivery.event_id == event.id, Delivery.channel.in_(["x", "mastodon"])
            )
        ).all()
    assert len(posts) == 2
    for post in posts:
        assert post.startswith("RUMOR CONTROL: FALSE — “There is a second shooter at the mall”")
        assert post.endswith(f"{settings.public_url}/rumors#rumor-{rumor_id}")


def test_corrections_are_new_versions_with_a_reason(db: Database, routing: Routing) -> None:
    with db.write() as session:
        first = publish_rumor(session, PIO, SHOOTER, incident_slug=None, routing=routing, languages=LANGUAGES)
    with pytest.raises(InvalidInput) as missing, db.write() as session:
        correct_rumor(
            session,
            PIO,
            first.rumor.id,
            replace(SHOOTER, verdict="unconfirmed"),
            reason=" ",
            corrects_version=1,
            routing=routing,
            languages=LANGUAGES,
        )
    assert "reason" in missing.value.fields
    with db.write() as session:
        second = correct_rumor(
            session,
            PIO,
            first.rumor.id,
            replace(SHOOTER, verdict="unconfirmed"),
            reason="Reports still coming in",
            corrects_version=1,
            routing=routing,
            languages=LANGUAGES,
        )
    assert (second.version.version, second.version.verdict.value) == (2, "unconfirmed")
    with pytest.raises(VersionConflict), db.write() as session:
        correct_rumor(
            session,
            PIO,
            first.rumor.id,
            replace(SHOOTER, verdict="true"),
            reason="Confirmed",
            corrects_version=1,
            routing=routing,
            languages=LANGUAGES,
        )
    with pytest.raises(InvalidInput) as verdict, db.write() as session:
        publish_rumor(
            session,
            PIO,
            replace(SHOOTER, verdict="maybe"),
            incident_slug=None,
            routing=routing,
            languages=LANGUAGES,
        )
    assert verdict.value.fields == {"verdict": "must be one of False, Unconfirmed, True"}


def test_rumor_rows_are_immutable(db: Database, routing: Routing) -> None:
    with db.write() as session:
        publish_rumor(session, PIO, SHOOTER, incident_slug=None, routing=routing, languages=LANGUAGES)
    for statement in ("UPDATE rumor_versions SET facts = 'x'", "DELETE FROM rumor_versions"):
        with pytest.raises(DatabaseError), db.engine.begin() as connection:
            connection.execute(text(statement))


def test_the_api_publishes_corrects_and_reads_rumor_responses(settings: Settings, db: Database) -> None:
    token = make_token(db, "pio")
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        created = client.post(
            "/api/v1/rumors",
            json={
                **SHOOTER.__dict__,
                "translations": [{"lang": "es", "claim": "Hay otro tirador", "facts": "No."}],
            },
            headers={**bearer(token), "Idempotency-Key": "rumor-1"},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert created.headers["location"] == f"/api/v1/rumors/{body['id']}"
        assert (body["verdict"], body["incident"], body["signature"]["alg"]) == ("false", None, "EdDSA")
        again = client.post(
            "/api/v1/rumors",
            json={
                **SHOOTER.__dict__,
                "translations": [{"lang": "es", "claim": "Hay otro tirador", "facts": "No."}],
            },
            headers={**bearer(token), "Idempotency-Key": "rumor-1"},
        )
        assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == body["id"]
        anonymous = client.post("/api/v1/rumors", json=SHOOTER.__dict__)
        assert anonymous.status_code == 401
        corrected = client.post(
            f"/api/v1/rumors/{body['id']}/corrections",
            json={
                **SHOOTER.__dict__,
                "verdict": "True",
                "facts": "A second suspect was arrested.",
                "reason": "New information",
                "corrects_version": 1,
            },
            headers=bearer(token),
        )
        assert corrected.status_code == 201 and corrected.json()["version"] == 2
        stale = client.post(
            f"/api/v1/rumors/{body['id']}/corrections",
            json={**SHOOTER.__dict__, "reason": "x", "corrects_version": 1},
            headers=bearer(token),
        )
        assert stale.status_code == 409 and stale.json()["current_version"] == 2
        record = client.get(f"/api/v1/rumors/{body['id']}").json()
        assert [v["verdict"] for v in record["versions"]] == ["false", "true"]
        assert record["headline"].startswith("RUMOR CONTROL: TRUE — ")
        assert client.get("/api/v1/rumors").json()["rumors"][0]["id"] == body["id"]
        assert client.get("/api/v1/rumors/999").status_code == 404


def test_the_public_page_lists_them_newest_first_in_the_readers_language(
    settings: Settings, db: Database, routing: Routing
) -> None:
    with db.write() as session:
        publish_rumor(
            session,
            PIO,
            SHOOTER,
            incident_slug=None,
            routing=routing,
            languages=LANGUAGES,
            now=T0,
            translations=[RumorTranslationDraft("es", "Hay un segundo tirador", "No hay segundo tirador.")],
        )
        publish_rumor(
            session,
            PIO,
            RumorDraft("The bridge collapsed", "unconfirmed", "Engineers are inspecting it."),
            incident_slug=None,
            routing=routing,
            languages=LANGUAGES,
            now=T0.replace(hour=10),
        )
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        page = client.get("/rumors").text
        assert page.index("The bridge collapsed") < page.index("There is a second shooter")
        assert (
            "RUMOR CONTROL:</span>" in page and '<strong class="rumor__verdict">UNCONFIRMED</strong>' in page
        )
        spanish = client.get("/rumors", headers={"Accept-Language": "es"}).text
        assert "CONTROL DE RUMORES:" in spanish and "FALSO" in spanish and "Hay un segundo tirador" in spanish
        assert (
            '<q class="rumor__claim" dir="auto" lang="en">The bridge collapsed</q>' in spanish
        )  # not translated: marked


def test_audit_verify_checks_rumor_responses_against_their_hash(
    tampered_db: Database, routing: Routing
) -> None:
    with tampered_db.write() as session:
        publish_rumor(session, PIO, SHOOTER, incident_slug=None, routing=routing, languages=LANGUAGES)
    with tampered_db.read() as session:
        assert verify(session).ok
    with tampered_db.engine.begin() as connection:  # an attacker with database access (no triggers)
        connection.execute(text("UPDATE rumor_versions SET verdict = 'true'"))
    with tampered_db.read() as session:
        report = verify(session)
    assert not report.ok
    assert "rumor response 1 version 1: its content does not match its hash" in report.describe()
