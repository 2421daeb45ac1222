"""A template's CAP defaults and instruction through the JSON API (issue 18): written and shown
with the template, carried by an update published from it under what the publisher sends, and
refused with a 422 naming the field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.models import PendingVersion, TemplateVersion
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.support.factories import bearer, make_token

CAP = {
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Likely",
    "response_types": ["Evacuate", "Avoid"],
    "event": "Wildfire",
}
TEMPLATE = {
    "name": "Evacuation",
    "body": "Leave {location} now. Shelter: {shelter}.",
    "cap": CAP,
    "instruction": "Go to {shelter} by Oak St.",
    "translations": {"es": {"body": "Salga ahora. Refugio: {shelter}.", "instruction": "Vaya a {shelter}."}},
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=("en", "es"))


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "admin", name="Ada Admin"))


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def template_id(client: TestClient, admin: dict[str, str]) -> int:
    created = client.post("/api/v1/templates", json=TEMPLATE, headers=admin)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture
def slug(client: TestClient, pio: dict[str, str]) -> str:
    created = client.post(
        "/api/v1/incidents", json={"title": "Brush fire", "location": "Ridge Rd"}, headers=pio
    )
    assert created.status_code == 201
    return str(created.json()["slug"])


def publish(client: TestClient, pio: dict[str, str], slug: str, template_id: int, **sent: Any) -> Any:
    body = {"template": template_id, "placeholders": {"shelter": "Lincoln gym"}, **sent}
    return client.post(f"/api/v1/incidents/{slug}/updates", json=body, headers=pio)


def test_the_template_shows_its_defaults_in_every_view(
    client: TestClient, template_id: int, pio: dict[str, str]
) -> None:
    one = client.get(f"/api/v1/templates/{template_id}", headers=pio).json()
    assert (one["cap"], one["instruction"]) == (CAP, "Go to {shelter} by Oak St.")
    assert one["translations"]["es"]["instruction"] == "Vaya a {shelter}."
    assert one["placeholders"] == ["location", "shelter"]
    assert one["versions"][0]["cap"] == CAP
    [listed] = client.get("/api/v1/templates", headers=pio).json()["templates"]
    assert listed["cap"] == CAP


def test_a_template_without_defaults_shows_null(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/api/v1/templates", json={"name": "Plain", "body": "Stay tuned."}, headers=admin)
    assert created.status_code == 201
    assert (created.json()["cap"], created.json()["instruction"]) == (None, None)


def test_the_published_version_carries_the_templates_defaults(
    client: TestClient, template_id: int, slug: str, pio: dict[str, str]
) -> None:
    published = publish(client, pio, slug, template_id)
    assert published.status_code == 201, published.text
    body = published.json()
    assert (body["cap"], body["instruction"]) == (CAP, "Go to Lincoln gym by Oak St.")
    [spanish] = body["translations"]
    assert spanish["instruction"] == "Vaya a Lincoln gym."
    [stored] = client.get(f"/api/v1/updates/{body['id']}").json()["versions"]
    assert stored["cap"] == CAP


def test_a_field_the_publisher_sends_overrides_the_default(
    client: TestClient, template_id: int, slug: str, pio: dict[str, str]
) -> None:
    published = publish(
        client,
        pio,
        slug,
        template_id,
        cap={"severity": "Extreme", "expires": "2026-12-06T18:00:00-05:00"},
        instruction="Shelter in place.",
    )
    assert published.status_code == 201, published.text
    body = published.json()
    assert body["cap"] == {**CAP, "severity": "Extreme", "expires": "2026-12-06T18:00:00-05:00"}
    assert body["instruction"] == "Shelter in place."
    # The template's Spanish instruction translated other words: it is not published.
    assert "instruction" not in body["translations"][0]


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"cap": {"urgency": "Now"}}, "cap.urgency"),
        ({"cap": {"severity": "severe"}}, "cap.severity"),
        ({"cap": {"certainty": "Sure"}}, "cap.certainty"),
        ({"cap": {"response_types": ["Run"]}}, "cap.response_types"),
        ({"cap": {"event": "x" * 101}}, "cap.event"),
        ({"cap": {"expires": "2026-12-05T18:00:00-05:00"}}, "cap.expires"),
        ({"cap": {"colour": "red"}}, "cap.colour"),
        ({"cap": "Severe"}, "cap"),
        ({"instruction": "x" * 2001}, "instruction"),
        ({"instruction": 5}, "instruction"),
        ({"translations": {"es": {"body": "x", "instruction": "x" * 2001}}}, "translations.es.instruction"),
        ({"translations": {"es": {"body": "x", "instruction": 5}}}, "translations.es.instruction"),
    ],
)
def test_bad_defaults_are_a_422_naming_the_field_and_nothing_is_written(
    client: TestClient, db: Database, admin: dict[str, str], sent: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/v1/templates", json={"name": "T", "body": "B", **sent}, headers=admin)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["fields"], answer.json()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TemplateVersion)) == 0


def test_a_revision_refuses_bad_defaults_too(
    client: TestClient, template_id: int, admin: dict[str, str]
) -> None:
    answer = client.post(
        f"/api/v1/templates/{template_id}/versions",
        json={**TEMPLATE, "cap": {"urgency": "Soon"}, "corrects_version": 1},
        headers=admin,
    )
    assert answer.status_code == 422 and "cap.urgency" in answer.json()["error"]["fields"]


def test_defaults_wait_for_approval_with_the_version_and_are_published_when_approved(
    settings: Settings, db: Database, template_id: int, slug: str, pio: dict[str, str]
) -> None:
    approver = bearer(make_token(db, "pio", email="second@example.org", name="Robin Lee"))
    with TestClient(create_app(dataclasses.replace(settings, approval_required=APPROVAL_KINDS))) as waiting:
        pending = publish(waiting, pio, slug, template_id, cap={"severity": "Extreme"})
        assert pending.status_code == 202, pending.text
        assert pending.json()["cap"] == {**CAP, "severity": "Extreme"}  # what is sent wins
        assert pending.json()["instruction"] == "Go to Lincoln gym by Oak St."
        assert pending.json()["translations"][0]["instruction"] == "Vaya a Lincoln gym."
        approved = waiting.post(
            f"/api/v1/updates/{pending.json()['id']}/approval",
            json={"version": 1, "decision": "approve"},
            headers=approver,
        )
        assert approved.status_code == 200, approved.text
        published = approved.json()["published"]
        assert (published["cap"], published["instruction"]) == (
            {**CAP, "severity": "Extreme"},
            "Go to Lincoln gym by Oak St.",
        )
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(PendingVersion)) == 1


def test_a_refused_cap_field_says_what_a_template_may_set(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.post(
        "/api/v1/templates",
        json={"name": "T", "body": "B", "cap": {"colour": "red", "expires": "2026-12-05T18:00:00-05:00"}},
        headers=admin,
    )
    problems = answer.json()["error"]["fields"]
    assert (
        problems["cap.colour"]
        == "is not a known field (known: urgency, severity, certainty, response_types, event)"
    )
    assert problems["cap.expires"] == "is not a template default: send it when publishing"
