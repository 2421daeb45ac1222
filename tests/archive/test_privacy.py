"""No public page or export shows an account's email, a token, or a delivery's raw error text.

One record holds all three, then every public GET route of the app (walked from the router,
so a route added later is checked too), the snapshot and the archive channel's files are read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.domain import outbox
from console.domain.incidents import get_incident
from console.models import Delivery, DeliveryState, EventType, UpdateVersion, utcnow
from console.settings import Settings
from console.web.access import Access
from tests.archive.support import deliver_everything
from tests.support.factories import bearer, make_token
from tests.support.routes import walk

EMAIL = "dana.ortiz.private@example.org"
ERROR = "HTTP 401 from api.example.net: token ick_channel_secret rejected"


def test_no_public_surface_shows_an_email_a_token_or_an_error(
    settings: Settings, db: Database, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = make_token(db, "pio", email=EMAIL, name="Sgt. Dana Ortiz")
    pio = bearer(token)
    slug = client.post("/api/v1/incidents", json={"title": "Bridge closed"}, headers=pio).json()["slug"]
    published = client.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "The bridge is closed."}, headers=pio
    )
    update_id = published.json()["id"]
    client.post(
        f"/api/v1/updates/{update_id}/corrections",
        json={"body": "The north bridge is closed.", "reason": "Which bridge", "corrects_version": 1},
        headers=pio,
    )
    deliver_everything(settings, db)
    with db.write() as session:  # a delivery failed with an error that names a secret
        event = outbox.emit(
            session,
            outbox.Routing({"social": frozenset({EventType.VERSION_PUBLISHED})}),
            EventType.VERSION_PUBLISHED,
            get_incident(session, slug),
            version=session.scalars(select(UpdateVersion).where(UpdateVersion.version == 2)).one(),
            now=utcnow(),
        )
        claim = outbox.claim_next(session, "social", ordered=False, lease_seconds=30)
        assert claim is not None and claim.event.event_id == event.event_id
        outbox.fail(session, claim, ERROR, retry_at=None)
    with db.read() as session:
        assert session.get_one(Delivery, claim.delivery_id).state is DeliveryState.FAILED

    secrets = {"email": EMAIL, "token": token, "token prefix": token[:10], "error": "ick_channel_secret"}
    checked: dict[str, str] = {}
    values = {"slug": slug, "update_id": str(update_id), "delivery_id": str(claim.delivery_id)}
    for route in walk(client.app.routes):  # type: ignore[attr-defined]
        if route.access is not Access.PUBLIC or "GET" not in route.methods:
            continue
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "example"), route.path)
        for query in ("", "?q=bridge"):
            response = client.get(path + query)
            checked[path + query] = response.text
    assert {
        "/archive",
        "/archive.jsonl",
        f"/incidents/{slug}.json",
        f"/incidents/{slug}/history",
        f"/incidents/{slug}/history.csv",
        "/corrections",
        f"/api/v1/incidents/{slug}",
    } <= set(checked)
    assert "Sgt. Dana Ortiz" in checked[f"/incidents/{slug}/history"], "the author's display name is public"
    assert "not delivered" in checked[f"/incidents/{slug}/history"]

    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    assert main(["archive", "export", str(tmp_path / "snapshot")]) == 0
    files = [*(tmp_path / "snapshot").rglob("*"), *settings.archive_dir.rglob("*")]
    checked.update({str(f): f.read_text() for f in files if f.is_file()})
    assert any(name.endswith("history.html") for name in checked)

    leaks = [
        (name, what) for name, body in checked.items() for what, secret in secrets.items() if secret in body
    ]
    assert leaks == []
