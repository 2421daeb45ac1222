"""An incident's CAP defaults through the JSON API (issue 17): sent when it is created and with
a details change, shown in its record and export, applied to its new updates (from a template
or approved from pending too), and refused with a 422 naming the field (nothing written)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.models import Incident, IncidentDetailsVersion
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.archive.test_openapi import Validator
from tests.support.factories import bearer, make_token

DEFAULTS = {
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Observed",
    "response_types": ["Evacuate", "Avoid"],
    "event": "Gas leak",
}


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/incidents", json={"title": "Gas leak", **body}, headers=headers)


def change(client: TestClient, headers: dict[str, str], slug: str, version: int, **body: Any) -> Any:
    return client.post(
        f"/api/v1/incidents/{slug}/details",
        json={"reason": "Evacuation ordered", "corrects_version": version, **body},
        headers=headers,
    )


def counts(db: Database) -> tuple[int, int]:
    with db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Incident)) or 0,
            session.scalar(select(func.count()).select_from(IncidentDetailsVersion)) or 0,
        )


def test_created_with_defaults_shown_in_the_record_and_export_and_applied_to_a_new_update(
    client: TestClient, pio: dict[str, str]
) -> None:
    created = create(client, pio, cap_defaults=DEFAULTS)
    assert created.status_code == 201, created.text
    assert created.json()["cap_defaults"] == DEFAULTS
    slug = created.json()["slug"]
    record = client.get(f"/api/v1/incidents/{slug}").json()
    assert record["cap_defaults"] == DEFAULTS
    [first] = record["details_versions"]
    assert first["cap_defaults"] == DEFAULTS
    assert client.get(f"/incidents/{slug}.json").json()["cap_defaults"] == DEFAULTS

    published = client.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Leave now.", "cap": {"urgency": "Expected"}, "instruction": "Go north."},
        headers=pio,
    )
    assert published.status_code == 201, published.text
    assert published.json()["cap"] == {**DEFAULTS, "urgency": "Expected"}  # what it sends wins
    assert published.json()["instruction"] == "Go north."


def test_a_details_change_sets_replaces_and_removes_the_defaults(
    client: TestClient, pio: dict[str, str]
) -> None:
    created = create(client, pio)
    slug = created.json()["slug"]
    assert created.json()["cap_defaults"] is None
    assert client.get(f"/api/v1/incidents/{slug}").json()["cap_defaults"] is None

    added = change(client, pio, slug, 1, cap_defaults=DEFAULTS)
    assert added.status_code == 201, added.text
    assert (added.json()["changed"], added.json()["cap_defaults"]) == (["cap_defaults"], DEFAULTS)
    # Absent: as they are.
    retitled = change(client, pio, slug, 2, title="Gas leak downtown")
    assert retitled.status_code == 201 and retitled.json()["changed"] == ["title"]
    assert retitled.json()["cap_defaults"] == DEFAULTS
    # A new set replaces the old one as a whole.
    replaced = change(client, pio, slug, 3, cap_defaults={"severity": "Minor"})
    assert replaced.status_code == 201 and replaced.json()["cap_defaults"] == {"severity": "Minor"}
    removed = change(client, pio, slug, 4, cap_defaults={})
    assert removed.status_code == 201 and removed.json()["changed"] == ["cap_defaults"]
    record = client.get(f"/api/v1/incidents/{slug}").json()
    assert record["cap_defaults"] is None
    assert [v["cap_defaults"] for v in record["details_versions"]] == [
        None,
        DEFAULTS,
        DEFAULTS,
        {"severity": "Minor"},
        None,
    ]
    update = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "All quiet."}, headers=pio)
    assert update.status_code == 201 and "cap" not in update.json()
    # The public history shows each change of them.
    history = client.get(f"/incidents/{slug}/history").text.split('id="details"', 1)[1]
    assert history.count("CAP defaults") == 3 and "severity: Minor" in history


@pytest.mark.parametrize(
    ("defaults", "field"),
    [
        ({"urgency": "Now"}, "cap_defaults.urgency"),
        ({"severity": "severe"}, "cap_defaults.severity"),
        ({"certainty": 3}, "cap_defaults.certainty"),
        ({"response_types": "Evacuate"}, "cap_defaults.response_types"),
        ({"response_types": ["Run"]}, "cap_defaults.response_types"),
        ({"event": "x" * 101}, "cap_defaults.event"),
        ({"expires": "2026-12-05T18:00:00-05:00"}, "cap_defaults.expires"),
        ({"instruction": "Go"}, "cap_defaults.instruction"),
        (["Immediate"], "cap_defaults"),
    ],
)
def test_a_bad_default_is_a_422_naming_it_and_nothing_is_written(
    client: TestClient, db: Database, pio: dict[str, str], defaults: Any, field: str
) -> None:
    slug = create(client, pio).json()["slug"]
    before = counts(db)
    refused = create(client, pio, cap_defaults=defaults)
    assert refused.status_code == 422, refused.text
    assert set(refused.json()["error"]["fields"]) == {field}
    corrected = change(client, pio, slug, 1, title="Gas leak downtown", cap_defaults=defaults)
    assert corrected.status_code == 422, corrected.text
    assert set(corrected.json()["error"]["fields"]) == {field}
    assert counts(db) == before


def test_an_update_from_a_template_gets_the_defaults(
    client: TestClient, db: Database, pio: dict[str, str]
) -> None:
    admin = bearer(make_token(db, "admin", name="Ada Admin"))
    template = client.post(
        "/api/v1/templates",
        json={"name": "Shelter", "category": "fire", "body": "Go to the shelter."},
        headers=admin,
    )
    assert template.status_code == 201, template.text
    slug = create(client, pio, cap_defaults={"urgency": "Immediate", "event": "Gas leak"}).json()["slug"]
    published = client.post(
        f"/api/v1/incidents/{slug}/updates", json={"template": template.json()["id"]}, headers=pio
    )
    assert published.status_code == 201, published.text
    assert published.json()["cap"] == {"urgency": "Immediate", "event": "Gas leak"}


def test_an_update_approved_from_pending_gets_the_defaults_in_force_when_approved(
    settings: Settings, db: Database, pio: dict[str, str]
) -> None:
    approver = bearer(make_token(db, "pio", email="second@example.org", name="Robin Lee"))
    with TestClient(create_app(replace(settings, approval_required=APPROVAL_KINDS))) as web:
        slug = create(web, pio, cap_defaults={"urgency": "Expected"}).json()["slug"]
        waiting = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Leave now."}, headers=pio)
        assert waiting.status_code == 202, waiting.text
        assert change(web, pio, slug, 1, cap_defaults=DEFAULTS).status_code == 201
        approved = web.post(
            f"/api/v1/updates/{waiting.json()['id']}/approval",
            json={"version": 1, "decision": "approve"},
            headers=approver,
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["published"]["cap"] == DEFAULTS


def test_the_answers_with_defaults_validate_against_the_openapi_description(
    client: TestClient, pio: dict[str, str]
) -> None:
    check = Validator(client)
    created = check(
        "POST", "/incidents", 201, json={"title": "Gas leak", "cap_defaults": DEFAULTS}, headers=pio
    )
    slug = created["slug"]
    check(
        "POST", "/incidents", 422, json={"title": "Gas leak", "cap_defaults": {"urgency": "Now"}}, headers=pio
    )
    body = {"cap_defaults": {"severity": "Minor"}, "reason": "Contained", "corrects_version": 1}
    assert check("POST", f"/incidents/{slug}/details", 201, json=body, headers=pio)["changed"] == [
        "cap_defaults"
    ]
    update = check("POST", f"/incidents/{slug}/updates", 201, json={"body": "Stay clear."}, headers=pio)
    assert update["cap"] == {"severity": "Minor"}
    record = check("GET", f"/incidents/{slug}", 200)
    assert record["cap_defaults"] == {"severity": "Minor"}
