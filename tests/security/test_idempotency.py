"""Idempotency-Key on the publishing API: what lets a client whose answer was lost (a server
killed mid-request, a dropped connection) send the request again without publishing twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import idempotency
from console.models import (
    AuditEvent,
    Delivery,
    IdempotencyKey,
    Incident,
    Translation,
    UpdateVersion,
    utcnow,
)
from console.settings import Settings
from tests.support.factories import bearer, make_token


def counts(db: Database) -> tuple[int, ...]:
    with db.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Incident, UpdateVersion, Translation, Delivery, AuditEvent)
        )


def send(client: TestClient, token: str, path: str, body: dict[str, Any], key: str | None) -> Any:
    headers = bearer(token) | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(f"/api/v1{path}", json=body, headers=headers)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


@pytest.fixture
def pio(db: Database) -> str:
    return make_token(db, "pio")


def test_every_publishing_request_sent_again_with_its_key_answers_the_same_and_publishes_once(
    client: TestClient, db: Database, pio: str
) -> None:
    created = send(client, pio, "/incidents", {"title": "Bridge closed"}, "k-incident")
    again = send(client, pio, "/incidents", {"title": "Bridge closed"}, "k-incident")
    assert created.status_code == again.status_code == 201
    assert again.json() == created.json() and again.headers["location"] == created.headers["location"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in created.headers
    slug = created.json()["slug"]

    update = send(client, pio, f"/incidents/{slug}/updates", {"body": "Use 5th St."}, "k-update").json()
    uid = update["id"]
    for path, body in (
        (f"/incidents/{slug}/updates", {"body": "Use 5th St."}),
        (
            f"/updates/{uid}/corrections",
            {"body": "Use 6th St.", "reason": "Wrong street", "corrects_version": 1},
        ),
        (f"/updates/{uid}/confirmation", {"corrects_version": 2}),
        (f"/updates/{uid}/retraction", {"reason": "Bridge reopened", "corrects_version": 3}),
        (f"/updates/{uid}/translations", {"lang": "es", "body": "Puente reabierto.", "version": 4}),
    ):
        key = f"k-{path}"
        first = send(client, pio, path, body, key)
        assert first.status_code == 201, first.text
        before = counts(db)
        for _ in range(2):
            replay = send(client, pio, path, body, key)
            assert (replay.status_code, replay.json()) == (201, first.json()), path
            assert replay.headers["idempotent-replayed"] == "true"
        assert counts(db) == before, f"{path}: sent again, nothing more was published or audited"
    with db.read() as session:
        versions = list(session.scalars(select(UpdateVersion.kind).order_by(UpdateVersion.id)))
    # Without a key, the same body publishes again: a new update is a deliberate act.
    assert [v.value for v in versions] == ["original", "original", "correction", "confirmation", "retraction"]


def test_a_key_is_refused_for_another_request_and_must_be_well_formed(
    client: TestClient, db: Database, pio: str
) -> None:
    slug = send(client, pio, "/incidents", {"title": "Gas leak"}, None).json()["slug"]
    assert send(client, pio, f"/incidents/{slug}/updates", {"body": "Avoid Oak St."}, "k1").status_code == 201
    before = counts(db)
    reused = send(client, pio, f"/incidents/{slug}/updates", {"body": "Avoid Elm St."}, "k1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = send(client, pio, "/incidents", {"title": "Avoid Oak St."}, "k1")
    assert elsewhere.status_code == 422, "the same key on another endpoint is another request"
    for bad in ("", "x" * 256, "two words", "é"):
        response = client.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"body": "Avoid Pine St."},
            headers={**bearer(pio), "Idempotency-Key": bad.encode()},  # type: ignore[dict-item]
        )
        assert response.status_code == 422, bad
        assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert counts(db) == before, "nothing was written"


def test_keys_belong_to_one_account_and_expire_after_a_day(
    client: TestClient, db: Database, pio: str
) -> None:
    other = make_token(db, "admin")
    slug = send(client, pio, "/incidents", {"title": "Power cut"}, None).json()["slug"]
    mine = send(client, pio, f"/incidents/{slug}/updates", {"body": "Crews on site."}, "shared")
    theirs = send(client, other, f"/incidents/{slug}/updates", {"body": "Crews on site."}, "shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.json()["seq"] == mine.json()["seq"] + 1, "another account's key is its own"
    assert "idempotent-replayed" not in theirs.headers

    with db.write() as session:
        idempotency.remember(
            session,
            1,
            "late",
            "0" * 64,
            idempotency.Answer(201, {}, None),
            now=utcnow() + idempotency.KEEP_FOR + timedelta(seconds=1),
        )
    with db.read() as session:
        keys = list(session.scalars(select(IdempotencyKey.key)))
    assert keys == ["late"], "keys older than a day are deleted as new ones are stored"
