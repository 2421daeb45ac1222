"""Channel health over the API: everyone signed in sees a paused channel and why; a PIO or
admin resumes it; the audit trail records both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain import channel_health
from console.settings import Settings
from console.web.app import create_app
from tests.social.conftest import audit_actions
from tests.support.factories import bearer, make_token


@pytest.fixture
def social_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, channels=("live", "x", "mastodon")))) as client:
        yield client


def test_readers_see_channel_state_and_a_pio_resumes_a_paused_channel(
    social_client: TestClient, db: Database
) -> None:
    reviewer, pio = bearer(make_token(db, "reviewer")), bearer(make_token(db, "pio"))
    with db.write() as session:
        channel_health.mark_failing(session, "x", "X rejected the credentials: 401 Unauthorized")

    assert social_client.get("/api/v1/channels").status_code == 401
    listed = social_client.get("/api/v1/channels", headers=reviewer)
    assert listed.status_code == 200
    channels = {c["name"]: c for c in listed.json()["channels"]}
    assert list(channels) == ["live", "x", "mastodon"]
    assert channels["x"]["state"] == "failing" and channels["x"]["error"].endswith("401 Unauthorized")
    assert channels["x"]["failing_since"] is not None and channels["x"]["preview"] is True
    assert channels["live"] == {
        "name": "live",
        "state": "ok",
        "preview": False,
        "error": None,
        "failing_since": None,
        "resumed_at": None,
        "resumed_by": None,
        "pending": 0,
        "failed": 0,
    }

    assert social_client.post("/api/v1/channels/x/resume", headers=reviewer).status_code == 403
    resumed = social_client.post("/api/v1/channels/x/resume", headers=pio)
    assert resumed.status_code == 200
    assert resumed.json()["state"] == "ok" and resumed.json()["error"] is None
    assert resumed.json()["resumed_by"].startswith("Pio Person (user ")

    again = social_client.post("/api/v1/channels/x/resume", headers=pio)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_allowed"
    unknown = social_client.post("/api/v1/channels/archive/resume", headers=pio)
    assert unknown.status_code == 404
    assert audit_actions(db, "channel.") == ["channel.failing", "channel.resumed"]


def test_the_channel_list_counts_waiting_and_failed_deliveries(
    social_client: TestClient, db: Database
) -> None:
    pio = bearer(make_token(db, "pio"))
    slug = social_client.post("/api/v1/incidents", json={"title": "Flood"}, headers=pio).json()["slug"]
    social_client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Rising."}, headers=pio)
    channels = {c["name"]: c for c in social_client.get("/api/v1/channels", headers=pio).json()["channels"]}
    # nothing runs the outbox here (OUTBOX_IN_PROCESS is off in tests): all still waiting
    assert (
        channels["live"]["pending"] == 2
        and channels["x"]["pending"] == 1
        and channels["mastodon"]["pending"] == 1
    )
