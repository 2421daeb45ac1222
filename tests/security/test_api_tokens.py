"""A stolen API token (a CAD integration's, say): what it can and cannot do, and how an
admin stops it. Its role bounds it (tests/security/test_authorization_matrix.py); here: it is
stored only as a hash, revoking it stops it at once on every route, it never opens the
console, and everything done with it is in the audit trail under its account, via the API."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import accounts
from console.domain.actors import OPERATOR
from console.models import ApiToken, AuditEvent
from tests.support.factories import bearer, make_user
from tests.support.routes import walk


def test_a_stolen_token_is_bounded_audited_and_stopped_at_once(client: TestClient, db: Database) -> None:
    make_user(db, "pio", "cad@example.org", "CAD integration")
    with db.write() as session:
        issued = accounts.create_token(session, OPERATOR, email="cad@example.org", name="CAD")
        secret, token_id = issued.secret, issued.token.id
    with db.read() as session:  # only its hash is kept: a copy of the database yields no token
        stored = session.get_one(ApiToken, token_id)
        assert secret not in (stored.token_hash, stored.prefix) and len(stored.prefix) < 12
        assert stored.token_hash == accounts.token_digest(secret)
    thief = bearer(secret)

    made = client.post("/api/v1/incidents", json={"title": "Fake evacuation order"}, headers=thief)
    assert made.status_code == 201
    with db.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.created")).one()
        assert (event.actor, event.actor_user_id) == (
            f"CAD integration (user {stored.user_id}) via api",
            stored.user_id,
        )
    assert client.get("/api/v1/audit", headers=thief).status_code == 403  # a pio token cannot read the log
    assert client.get("/console", headers=thief, follow_redirects=False).status_code == 303  # sign in

    with db.write() as session:
        accounts.revoke_token(session, OPERATOR, token_id)
    for route in walk(client.app.routes):  # type: ignore[attr-defined]
        if not route.path.startswith("/api/") or route.path == "/api/v1/openapi.json":
            continue
        for method in route.methods - {"HEAD"}:
            response = client.request(method, route.example_path(), json={}, headers=thief)
            assert response.status_code == 401, (method, route.path, response.status_code)
