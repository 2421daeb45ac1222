"""Every route declares who may reach it, and the same declaration enforces it: for the JSON
API (bearer tokens) and the console (sessions) alike, every caller below the declared level is
refused, whatever the route."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain import sessions
from console.models import Role
from console.web.access import Access, access, gate_of, permits
from tests.support.factories import bearer, make_token, make_user
from tests.support.routes import RouteInfo, walk
from tests.web.staff.conftest import signin_form_token, start_session, use_session


def test_every_route_declares_its_access(client: TestClient) -> None:
    routes = list(walk(client.app.routes))  # type: ignore[attr-defined]
    assert len(routes) > 10
    assert [r.path for r in routes if r.access is None] == []


def test_the_api_enforces_its_declared_levels_for_anonymous_callers(client: TestClient) -> None:
    for route in walk(client.app.routes):  # type: ignore[attr-defined]
        if not route.path.startswith("/api/"):
            continue
        for method in route.methods - {"HEAD"}:
            response = client.request(method, route.example_path(), json={})
            if route.access is Access.PUBLIC:
                assert response.status_code not in (401, 403), (method, route.path)
            else:
                assert response.status_code == 401, (method, route.path, response.status_code)


def test_every_route_above_public_is_enforced_by_its_declaration(client: TestClient) -> None:
    guarded = [r for r in walk(client.app.routes) if r.access not in (None, Access.PUBLIC)]  # type: ignore[attr-defined]
    assert len(guarded) > 30
    assert [r.path for r in guarded if gate_of(r.endpoint) is None] == []
    api = [r for r in guarded if r.path.startswith("/api/")]
    console = [r for r in guarded if not r.path.startswith("/api/")]
    assert len({type(gate_of(r.endpoint)) for r in api}) == 1, "one gate for the whole API"
    assert len({type(gate_of(r.endpoint)) for r in console}) == 1, "one gate for the whole console"


def test_a_level_above_public_cannot_be_declared_without_enforcing_it() -> None:
    with pytest.raises(TypeError, match="needs a gate"):
        access(Access.PUBLISHER)


def test_one_rule_says_which_role_reaches_which_level() -> None:
    reached = {role: {level for level in Access if permits(role, level)} for role in (None, *Role)}
    assert reached == {
        None: {Access.PUBLIC},
        Role.REVIEWER: {Access.PUBLIC, Access.READER, Access.AUDITOR},
        Role.PIO: {Access.PUBLIC, Access.READER, Access.PUBLISHER},
        Role.ADMIN: set(Access),
    }


def refused(route: RouteInfo, method: str, status: int, location: str | None) -> bool:
    if status in (401, 403):
        return True
    # A console page asked for without a session sends the browser to sign in.
    return method == "GET" and status == 303 and (location or "").startswith("/login?next=")


def test_every_caller_below_a_routes_declared_level_is_refused(client: TestClient, db: Database) -> None:
    """Walks the router (no table to keep in step): anonymous callers, and each role whose
    `permits(role, level)` is false, with a token for API routes and a session for console
    routes, get 401/403 (or, for a console page, are sent to sign in) from every route."""
    tokens = {role: make_token(db, role.value, f"token-{role.value}@example.org") for role in Role}
    people = {role: make_user(db, role.value, f"{role.value}@example.org") for role in Role}
    checked = 0
    for route in walk(client.app.routes):  # type: ignore[attr-defined]
        if route.access in (None, Access.PUBLIC) or route.websocket:
            continue
        api = route.path.startswith("/api/")
        for method in sorted(route.methods - {"HEAD"}):
            for role in (None, *Role):
                if permits(role, route.access):
                    continue
                client.cookies.clear()
                headers: dict[str, str] = {}
                if role is None:
                    csrf = signin_form_token(client)
                elif api:
                    headers.update(bearer(tokens[role]))
                    csrf = ""
                else:
                    session_id = start_session(db, people[role])
                    use_session(client, session_id)
                    csrf = sessions.csrf_token(session_id)
                response = client.request(
                    method,
                    route.example_path(),
                    data={"csrf_token": csrf} if method != "GET" else None,
                    headers={"X-CSRF-Token": csrf, **headers},
                    follow_redirects=False,
                )
                where = (method, route.path, role, response.status_code)
                assert refused(route, method, response.status_code, response.headers.get("location")), where
                checked += 1
    assert checked > 50
