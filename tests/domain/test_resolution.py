"""Resolving is an all-clear every channel carries; reopening says why (issue 13.4)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain import integrity
from console.models import AuditEvent, Delivery, EventType, OutboxEvent, UpdateVersion, VersionKind
from console.settings import Settings
from tests.support.factories import bearer, make_token


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def slug(client: TestClient, pio: dict[str, str]) -> str:
    created = client.post(
        "/api/v1/incidents",
        json={"title": "Gas leak", "summary": "Crews are responding. Avoid the area."},
        headers=pio,
    )
    assert created.status_code == 201
    published = client.post(
        f"/api/v1/incidents/{created.json()['slug']}/updates", json={"body": "Avoid Elm St."}, headers=pio
    )
    assert published.status_code == 201
    return str(created.json()["slug"])


def resolve(client: TestClient, headers: dict[str, str], slug: str, **body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{slug}/resolve", json=body, headers=headers)


def test_the_all_clear_is_the_final_update_and_goes_to_every_channel(
    client: TestClient, db: Database, settings: Settings, pio: dict[str, str], slug: str
) -> None:
    response = resolve(
        client,
        pio,
        slug,
        message="All clear: the leak is fixed.",
        translations={"es": "Todo despejado: fuga reparada."},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "resolved"
    all_clear = body["all_clear"]
    assert (all_clear["seq"], all_clear["kind"], all_clear["body"], all_clear["preliminary"]) == (
        2,
        "resolution",
        "All clear: the leak is fixed.",
        False,
    )
    assert [t["lang"] for t in all_clear["translations"]] == ["es"]
    record = client.get(f"/api/v1/incidents/{slug}").json()
    assert record["updates"][0]["versions"][0]["kind"] == "resolution"  # newest first: the final update
    with db.read() as session:
        event = session.get(OutboxEvent, all_clear["event_id"])
        assert event is not None and event.type is EventType.VERSION_PUBLISHED
        channels = set(session.scalars(select(Delivery.channel).where(Delivery.event_id == event.id)))
        assert channels == set(routing_for(settings).channels_for(EventType.VERSION_PUBLISHED))
        assert {"x", "mastodon", "feeds", "live", "archive"} <= channels
        resolved = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.resolved")).one()
        assert json.loads(resolved.data)["all_clear_update_id"] == all_clear["id"]


def test_the_all_clear_is_labelled_resolved_in_feeds_and_social_posts(
    client: TestClient, pio: dict[str, str], slug: str
) -> None:
    from console.domain import wording

    assert wording.prefix(VersionKind.RESOLUTION, False) == "RESOLVED: "
    assert wording.prefix(VersionKind.REOPENING, False) == "REOPENED: "
    posts = wording.post_run(VersionKind.RESOLUTION, False, None, "All clear.", None, "https://x.example/i")
    assert posts == ["RESOLVED: All clear. https://x.example/i"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": "  "}, "message"),
        ({"message": "All clear", "translations": ["es"]}, "translations"),
        ({"message": "All clear", "translations": {"es": 3}}, "translations"),
        ({"message": "All clear", "extra": 1}, "extra"),
    ],
)
def test_a_refused_resolution_writes_nothing(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, body: dict[str, Any], field: str
) -> None:
    response = resolve(client, pio, slug, **body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]
    assert client.get(f"/api/v1/incidents/{slug}").json()["status"] == "active"
    with db.read() as session:
        assert (
            session.scalars(select(UpdateVersion).where(UpdateVersion.kind == VersionKind.RESOLUTION)).all()
            == []
        )


def test_an_unknown_translation_language_is_refused(
    client: TestClient, pio: dict[str, str], slug: str
) -> None:
    response = resolve(client, pio, slug, message="All clear", translations={"xx": "?"})
    assert response.status_code == 422


def test_reopening_publishes_the_reason_and_is_audited(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    not_yet = client.post(f"/api/v1/incidents/{slug}/reopen", json={"reason": "Why"}, headers=pio)
    assert not_yet.status_code == 409
    assert resolve(client, pio, slug, message="All clear.").status_code == 200
    assert client.post(f"/api/v1/incidents/{slug}/reopen", json={}, headers=pio).status_code == 422
    response = client.post(
        f"/api/v1/incidents/{slug}/reopen", json={"reason": "A second leak was found on Oak St."}, headers=pio
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert (body["reopened"]["seq"], body["reopened"]["kind"]) == (3, "reopening")
    assert body["reopened"]["body"] == "A second leak was found on Oak St."
    published = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Avoid Oak St."}, headers=pio)
    assert published.status_code == 201  # active again: takes updates
    with db.read() as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.reopened")).one()
        assert json.loads(audit.data)["reason"] == "A second leak was found on Oak St."
    reviewer = bearer(make_token(db, "reviewer"))
    assert resolve(client, reviewer, slug, message="All clear.").status_code == 403
    assert (
        client.post(f"/api/v1/incidents/{slug}/reopen", json={"reason": "x"}, headers=reviewer).status_code
        == 403
    )


def test_resolve_and_reopen_answer_the_last_update_time_as_get_does(
    client: TestClient, pio: dict[str, str], slug: str
) -> None:
    """Both publish an update, so the incident they answer has a last update: the one just published."""
    resolved = resolve(client, pio, slug, message="All clear: the leak is fixed.")
    assert resolved.status_code == 200, resolved.text
    after_resolve = client.get(f"/api/v1/incidents/{slug}").json()["last_update_at"]
    assert after_resolve is not None and after_resolve == resolved.json()["all_clear"]["published_at"]
    assert resolved.json()["last_update_at"] == after_resolve

    reopened = client.post(
        f"/api/v1/incidents/{slug}/reopen", json={"reason": "A second leak was found on Oak St."}, headers=pio
    )
    assert reopened.status_code == 200, reopened.text
    after_reopen = client.get(f"/api/v1/incidents/{slug}").json()["last_update_at"]
    assert after_reopen is not None and after_reopen == reopened.json()["reopened"]["published_at"]
    assert reopened.json()["last_update_at"] == after_reopen


def test_retracting_the_all_clear_makes_the_incident_active_again(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    """The all-clear withdrawn, nothing may still say the incident is over: CAP cancels the
    AllClear, so the record, `/`, the incident page and the audit trail say it is active."""
    first = resolve(client, pio, slug, message="All clear: the leak is fixed.").json()["all_clear"]
    assert (
        client.post(f"/api/v1/incidents/{slug}/reopen", json={"reason": "Oak St"}, headers=pio).status_code
        == 200
    )
    second = resolve(client, pio, slug, message="All clear: both leaks are fixed.").json()["all_clear"]
    # An earlier cycle's all-clear, retracted, leaves the standing resolution alone.
    old = client.post(
        f"/api/v1/updates/{first['id']}/retraction",
        json={"reason": "Superseded", "corrects_version": 1},
        headers=pio,
    )
    assert old.status_code == 201, old.text
    assert client.get(f"/api/v1/incidents/{slug}").json()["status"] == "resolved"

    retracted = client.post(
        f"/api/v1/updates/{second['id']}/retraction",
        json={"reason": "Not over yet: gas is still detected", "corrects_version": 1},
        headers=pio,
    )
    assert retracted.status_code == 201, retracted.text
    record = client.get(f"/api/v1/incidents/{slug}").json()
    assert (record["status"], record["resolved_at"]) == ("active", None)
    page = client.get(f"/incidents/{slug}").text
    assert "This incident is over" not in page and "ACTIVE" in page
    assert slug in client.get("/").text  # among the active incidents again
    with db.read() as session:
        reopened = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident.reopened").order_by(AuditEvent.id)
        ).all()[-1]
        assert json.loads(reopened.data) == {
            "slug": slug,
            "reason": "Not over yet: gas is still detected",
            "retracted_update_id": second["id"],
        }
    # Active again: it takes updates, and `console audit verify` replays the states it went through.
    published = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Stay away."}, headers=pio)
    assert published.status_code == 201
    with db.read() as session:
        report = integrity.verify(session)
        assert report.ok, report.describe()
