"""Templates, holding statements prepared before a crisis (issue 18): admins write and revise
them as versions, delete them keeping their history; a PIO publishes from one by filling its
placeholders, and the version published records the template version it came from."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.models import AuditEvent, TemplateVersion, UpdateVersion
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.support.factories import bearer, make_token

SHELTER = {
    "name": "Evacuation: shelter open",
    "category": "fire",
    "headline": "Evacuate near {location}",
    "body": "Residents near {location} must leave now. A shelter is open at {shelter}. Updated {time}.",
    "translations": {
        "es": {"headline": "Evacúe cerca de {location}", "body": "Salga ahora. Refugio en {shelter}."}
    },
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"), timezone="America/New_York")


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "admin", name="Ada Admin"))


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def template(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    created = client.post("/api/v1/templates", json=SHELTER, headers=admin)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.fixture
def slug(client: TestClient, pio: dict[str, str]) -> str:
    created = client.post(
        "/api/v1/incidents", json={"title": "Brush fire", "location": "Ridge Rd"}, headers=pio
    )
    assert created.status_code == 201
    return str(created.json()["slug"])


def publish(client: TestClient, headers: dict[str, str], slug: str, **body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{slug}/updates", json=body, headers=headers)


def test_an_admin_writes_a_template_and_every_account_reads_it(
    client: TestClient, db: Database, template: dict[str, Any], pio: dict[str, str]
) -> None:
    assert (template["version"], template["name"], template["category"]) == (1, SHELTER["name"], "Fire")
    assert template["placeholders"] == ["location", "shelter", "time"]
    assert template["translations"]["es"]["body"] == "Salga ahora. Refugio en {shelter}."
    assert template["author"] == "Ada Admin" and template["deleted_at"] is None
    listed = client.get("/api/v1/templates", headers=pio)
    assert listed.status_code == 200 and [t["id"] for t in listed.json()["templates"]] == [template["id"]]
    with db.read() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "template.created")).all()
        assert json.loads(event.data)["body"] == SHELTER["body"]


def test_a_pio_cannot_write_templates_and_bad_ones_are_refused(
    client: TestClient, admin: dict[str, str], pio: dict[str, str]
) -> None:
    assert client.post("/api/v1/templates", json=SHELTER, headers=pio).status_code == 403
    assert client.get("/api/v1/templates").status_code == 401
    for body, field in [
        ({**SHELTER, "name": " "}, "name"),
        ({**SHELTER, "body": ""}, "body"),
        ({**SHELTER, "category": "weather"}, "category"),
        ({**SHELTER, "translations": {"fr": {"body": "x"}}}, "translations.fr"),
        ({**SHELTER, "translations": {"es": {"headline": "x"}}}, "translations.es.body"),
        ({**SHELTER, "translations": ["es"]}, "translations"),
        ({**SHELTER, "translations": False}, "translations"),
        ({**SHELTER, "extra": 1}, "extra"),
        # Braces around what cannot be a placeholder's name would be published as typed.
        ({**SHELTER, "body": "A shelter is open at {Shelter}."}, "body"),
        ({**SHELTER, "headline": "Evacuate {road-name}"}, "headline"),
        ({**SHELTER, "instruction": "Go to {the_shelter }now {X}"}, "instruction"),
        ({**SHELTER, "translations": {"es": {"body": "Refugio en {Refugio}."}}}, "translations.es.body"),
    ]:
        refused = client.post("/api/v1/templates", json=body, headers=admin)
        assert refused.status_code == 422, (field, refused.text)
        assert field in refused.json()["error"]["fields"], field
    refused = client.post("/api/v1/templates", json={**SHELTER, "body": "At {Shelter}."}, headers=admin)
    assert refused.json()["error"]["fields"]["body"].startswith("{Shelter} is not a placeholder")


def test_a_revision_is_a_new_version_a_stale_one_is_refused_and_deleting_keeps_the_history(
    client: TestClient, db: Database, admin: dict[str, str], pio: dict[str, str], template: dict[str, Any]
) -> None:
    url = f"/api/v1/templates/{template['id']}"
    revised = client.post(
        f"{url}/versions",
        json={**SHELTER, "body": "Leave now. Shelter: {shelter}.", "corrects_version": 1},
        headers=admin,
    )
    assert revised.status_code == 201, revised.text
    assert (revised.json()["version"], revised.json()["placeholders"]) == (2, ["location", "shelter"])
    stale = client.post(f"{url}/versions", json={**SHELTER, "corrects_version": 1}, headers=admin)
    assert stale.status_code == 409
    same = client.post(
        f"{url}/versions",
        json={**SHELTER, "body": "Leave now. Shelter: {shelter}.", "corrects_version": 2},
        headers=admin,
    )
    assert same.status_code == 422 and "nothing changes" in same.text
    record = client.get(url, headers=pio).json()
    assert [v["version"] for v in record["versions"]] == [1, 2] and record["deleted_at"] is None
    assert client.delete(url, headers=pio).status_code == 403
    deleted = client.delete(url, headers=admin)
    assert deleted.status_code == 200 and deleted.json()["deleted_at"] is not None
    assert client.delete(url, headers=admin).status_code == 409
    assert client.get("/api/v1/templates", headers=pio).json()["templates"] == []
    gone = client.get(url, headers=pio)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "gone"
    assert client.get("/api/v1/templates/999999", headers=pio).status_code == 404
    with db.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("template.%")).order_by(AuditEvent.seq)
        ).all()
        assert actions == ["template.created", "template.revised", "template.deleted"]
        # Deleting keeps the history: both versions are still there.
        versions = session.scalars(select(TemplateVersion.version).order_by(TemplateVersion.version)).all()
        assert versions == [1, 2]


def assert_records_template_version(db: Database, template_id: int, number: int) -> None:
    """The one version published names template `template_id`'s version `number`, in its row and
    in its `version.published` audit event."""
    with db.read() as session:
        version = session.scalars(select(UpdateVersion)).one()
        template_version = session.get_one(TemplateVersion, version.template_version_id)
        assert (template_version.template_id, template_version.version) == (template_id, number)
        published_event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "version.published")
        ).one()
        assert json.loads(published_event.data)["template_version_id"] == template_version.id


def test_publishing_from_a_template_fills_its_placeholders_and_records_its_version(
    client: TestClient, db: Database, pio: dict[str, str], template: dict[str, Any], slug: str
) -> None:
    published = publish(
        client, pio, slug, template=template["id"], placeholders={"shelter": "Lincoln High gym"}
    )
    assert published.status_code == 201, published.text
    body = published.json()
    assert body["template"] == {"id": template["id"], "version": 1}
    assert body["headline"] == "Evacuate near Ridge Rd"
    assert body["body"].startswith(
        "Residents near Ridge Rd must leave now. A shelter is open at Lincoln High gym."
    )
    assert "{" not in body["body"] and "Updated " in body["body"]  # {time}: the agency's clock
    assert body["preliminary"] is True
    [spanish] = body["translations"]
    assert (spanish["lang"], spanish["body"]) == ("es", "Salga ahora. Refugio en Lincoln High gym.")
    assert_records_template_version(db, template["id"], 1)
    typed = publish(client, pio, slug, body="Typed by hand.")
    assert typed.status_code == 201 and typed.json()["template"] is None


def test_a_version_from_a_template_that_waits_for_approval_records_its_template_when_approved(
    settings: Settings, db: Database, pio: dict[str, str], template: dict[str, Any], slug: str
) -> None:
    approver = bearer(make_token(db, "pio", email="second@example.org", name="Robin Lee"))
    with TestClient(create_app(replace(settings, approval_required=APPROVAL_KINDS))) as web:
        waiting = publish(
            web, pio, slug, template=template["id"], placeholders={"shelter": "Lincoln High gym"}
        )
        assert waiting.status_code == 202, waiting.text
        decided = web.post(
            f"/api/v1/updates/{waiting.json()['id']}/approval",
            json={"version": 1, "decision": "approve"},
            headers=approver,
        )
    assert decided.status_code == 200, decided.text
    assert decided.json()["published"]["template"] == {"id": template["id"], "version": 1}
    assert_records_template_version(db, template["id"], 1)


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ({}, "placeholders.shelter", "fill in {shelter}"),
        ({"placeholders": {"shelter": " "}}, "placeholders.shelter", "fill in {shelter}"),
        ({"placeholders": {"shelter": "x", "road": "y"}}, "placeholders.road", "has no placeholder {road}"),
        ({"placeholders": {"shelter": "x" * 501}}, "placeholders.shelter", "500"),
        ({"placeholders": {"shelter": 3}}, "placeholders", "must be an object"),
        ({"placeholders": False}, "placeholders", "must be an object"),
        ({"placeholders": {"shelter": "x"}, "body": "typed"}, "body", "written by the template"),
    ],
)
def test_an_unfilled_placeholder_blocks_publishing_and_says_which(
    client: TestClient,
    db: Database,
    pio: dict[str, str],
    template: dict[str, Any],
    slug: str,
    extra: dict[str, Any],
    field: str,
    problem: str,
) -> None:
    refused = publish(client, pio, slug, template=template["id"], **extra)
    assert refused.status_code == 422, refused.text
    assert problem in refused.json()["error"]["fields"][field]
    with db.read() as session:
        assert session.scalars(select(UpdateVersion)).all() == []


def test_a_deleted_or_unknown_template_cannot_be_published_from(
    client: TestClient, admin: dict[str, str], pio: dict[str, str], template: dict[str, Any], slug: str
) -> None:
    assert client.delete(f"/api/v1/templates/{template['id']}", headers=admin).status_code == 200
    deleted = publish(client, pio, slug, template=template["id"], placeholders={"shelter": "x"})
    assert deleted.status_code == 422 and "deleted" in deleted.json()["error"]["fields"]["template"]
    assert publish(client, pio, slug, template=999999).status_code == 404
    assert publish(client, pio, slug, body="x", placeholders={"a": "b"}).status_code == 422


@pytest.mark.parametrize(
    "statement", ["UPDATE template_versions SET body = 'x'", "DELETE FROM template_versions"]
)
def test_the_database_refuses_to_change_a_template_version(
    db: Database, template: dict[str, Any], statement: str
) -> None:
    with pytest.raises(DatabaseError, match="immutable"), db.engine.begin() as conn:
        conn.execute(text(statement))
