"""Every route declares who may reach it, and the API enforces what it declares."""

from __future__ import annotations

from starlette.testclient import TestClient

from console.web.access import Access
from tests.support.routes import walk


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
