"""The authorization matrix: every route of the whole app (walked from the router, so a new
route is covered the moment it is added) × anonymous, reviewer, pio, admin signed in to the
console. What each may do follows from the level the route declares:

- PUBLIC: everyone gets an answer (never 401/403, never sent to sign in);
- the JSON API (/api/...): a console session grants nothing there, it takes bearer tokens
  only, so every non-public API route answers 401 whoever is signed in;
- every other route is a console route: anonymous callers are sent to sign in (GET) or get
  401 (POST); signed-in people get 403 below the declared level and an answer above it.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain import sessions
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import Role
from console.web.access import Access
from console.web.staff.auth import permits
from tests.conftest import PIO
from tests.console.conftest import signin_form_token, start_session, use_session
from tests.support.factories import make_token
from tests.support.routes import RouteInfo, walk

WHO = (None, Role.REVIEWER, Role.PIO, Role.ADMIN)


@pytest.fixture
def example_record(db: Database, routing: Routing, people: dict[str, int]) -> None:
    """Something behind every example path: incident `example`, update 1, delivery 1, token 1."""
    make_token(db, "pio", "token-owner@example.org")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Example"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Road closed."), routing=routing)


def expectation(route: RouteInfo, role: Role | None) -> str:
    assert route.access is not None, f"{route.path} declares no access level"
    if route.access is Access.PUBLIC:
        return "answered"
    if route.path.startswith("/api/"):
        return "unauthenticated"
    if role is None:
        return "sign in"
    return "answered" if permits(route.access, role) else "forbidden"


def http_routes(client: TestClient) -> list[tuple[RouteInfo, str]]:
    found = []
    for route in walk(client.app.routes):  # type: ignore[attr-defined]
        if route.websocket:
            # The console has no websocket; a non-public one needs its own rule here.
            assert route.access is Access.PUBLIC, (
                f"websocket {route.path} is not public: add it to the matrix"
            )
            continue
        for method in sorted(route.methods - {"HEAD"}) or ["GET"]:
            found.append((route, method))
    return found


def test_every_route_answers_each_role_as_it_declares(
    client: TestClient, db: Database, people: dict[str, int], example_record: None
) -> None:
    routes = http_routes(client)
    assert len(routes) > 30  # the API, the console, static files
    assert any(route.path == "/console/updates/{update_id:int}/corrections" for route, _ in routes)
    seen: dict[str, set[str]] = {}
    for route, method in routes:
        for role in WHO:
            client.cookies.clear()
            if role is None:
                token = signin_form_token(client)  # the sign-in form's double-submit token
            else:
                session_id = start_session(db, people[role.value])
                use_session(client, session_id)
                token = sessions.csrf_token(session_id)
            response = client.request(
                method,
                route.example_path(),
                data={"csrf_token": token} if method != "GET" else None,
                headers={"X-CSRF-Token": token},
                follow_redirects=False,
            )
            expected = expectation(route, role)
            seen.setdefault(expected, set()).add(route.path)
            where = (method, route.path, role, response.status_code, response.headers.get("location"))
            if expected == "answered":
                assert response.status_code not in (401, 403), where
                assert not response.headers.get("location", "").startswith("/login?next="), where
                if route.path.startswith("/console") and method == "GET":
                    assert response.status_code == 200, where
            elif expected == "unauthenticated":
                assert response.status_code == 401, where
            elif expected == "sign in":
                if method == "GET":
                    assert response.status_code == 303, where
                    assert response.headers["location"].startswith("/login?next=/console"), where
                else:
                    assert response.status_code == 401, where
            else:
                assert response.status_code == 403, where
    # Every kind of outcome happened, so none of the branches above is dead.
    assert set(seen) == {"answered", "unauthenticated", "sign in", "forbidden"}
    assert "/console/admin" in seen["forbidden"] and "/console" in seen["sign in"]


def test_expectations_follow_the_declared_levels() -> None:
    console_route = RouteInfo("/console/example", frozenset({"GET"}), Access.PUBLISHER)
    assert [expectation(console_route, role) for role in WHO] == [
        "sign in",
        "forbidden",
        "answered",
        "answered",
    ]
    admin_route = RouteInfo("/console/example", frozenset({"GET"}), Access.ADMIN)
    assert [expectation(admin_route, role) for role in WHO] == [
        "sign in",
        "forbidden",
        "forbidden",
        "answered",
    ]
    api_route = RouteInfo("/api/v1/example", frozenset({"POST"}), Access.READER)
    assert {expectation(api_route, role) for role in WHO} == {"unauthenticated"}
