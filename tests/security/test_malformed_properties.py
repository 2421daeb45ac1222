"""Property (issue 14, point 7): whatever value lands in a route parameter, a query field or a
JSON field, the answer is a 4xx (or an ordinary page), never a 5xx, and nothing is written.

The routes come from the router (`tests/support/routes.py`), the JSON fields and the API's query
fields from the OpenAPI document, so a new route or field is covered without touching this file.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from console.db import Database
from console.domain import sessions
from console.domain.actors import OPERATOR
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.templates import TemplateDraft, create_template
from console.domain.updates import Draft, publish_update
from console.languages import Languages
from console.web.app import routes
from console.web.openapi import build_spec
from tests.conftest import PIO
from tests.support.factories import bearer, make_token
from tests.support.routes import walk
from tests.web.staff.conftest import row_counts, start_session, use_session

# Query fields the pages read (the API's come from its OpenAPI document).
PAGE_QUERY_FIELDS = (
    "q",
    "category",
    "from",
    "to",
    "page",
    "lang",
    "next",
    "notice",
    "verify",
    "status",
    "since",
)
SPEC = build_spec()
ACCOUNTS = itertools.count()  # a fresh token account per example
API = "/api/v1"

# Values that broke the server once, and shapes like them.
hostile_text = st.one_of(
    st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "99999999999999999999",
            "99999999999999999999-1",
            "1-99999999999999999999",
            "-1",
            "²",
            "١٢٣",
            "a\ud800",
            "\udfff",
            "2026-02-30",
            "2026-12-31T25:61:00Z",
            "+999999-01-01",
            "1e309",
            "NaN",
            "",
            " ",
            "\x00",
            "../../etc/passwd",
            "x" * 2000,  # in every field at once: still under the client's 64 KiB URL limit
        ]
    ),
    st.integers(min_value=10**18, max_value=10**30).map(str),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
    st.text(st.characters(codec="utf-8", categories=["Cs", "Cc", "Nd", "Lo", "Mn"]), max_size=12),
)
# JSON values no field accepts: a lone surrogate in a string, a number past any column.
hostile_json = st.one_of(
    st.sampled_from(["a\ud800", "\udc00b", 10**20, -(10**20), 2**63]),
    st.integers(min_value=2**63),
    st.integers(max_value=-(2**63)),
    st.text(min_size=0, max_size=5).map(lambda t: t + "\ud800"),
)


def api_query_fields() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            if method == "get":
                names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
                found[API + path] = names
    return found


def json_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, schema) of every API route that takes a JSON object."""
    bodies = []
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            ref = (
                operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            )
            if ref:
                schema = SPEC["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
                bodies.append((method.upper(), API + path, schema))
    assert len(bodies) >= 8
    return bodies


# A value each required field accepts, so the hostile one is what the server must refuse.
VALID = {
    "title": "Gas leak",
    "name": "Road closed",
    "body": "Road closed at Main St.",
    "reason": "A typo",
    "claim": "The dam broke",
    "verdict": "false",
    "facts": "The dam is intact.",
    "corrects_version": 1,
    "version": 1,
    "decision": "approve",
    "seq": 1,
    "lang": "es",
    "message": "All clear: the road is open.",
    "url": "https://partner.example.org/hook",
}


def fill(path: str, value: str) -> str:
    return re.sub(r"\{\w+(:\w+)?\}", quote(value, safe="", errors="surrogatepass"), path)


@pytest.fixture
def record(db: Database, routing: Routing) -> None:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Example"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Road closed."), routing=routing)
        # template 1, to publish from and to revise
        create_template(
            session,
            OPERATOR,
            TemplateDraft(name="Closure", body="{road} is closed."),
            languages=Languages(("en",)),
        )


def _url(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


@pytest.mark.slow  # walks every route with generated input
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile_text)
@example(value="9999-12-31")
@example(value="99999999999999999999")
@example(value="²")
@example(value="¹²")
@example(value="x" * 2000)  # a feed file name past the filesystem's limit
@example(value="a\ud800")
def test_any_value_in_a_path_or_query_field_is_never_a_server_error(
    client: TestClient, db: Database, people: dict[str, int], record: None, value: str
) -> None:
    use_session(client, start_session(db, people["admin"]))
    admin = bearer(make_token(db, "admin", f"a{next(ACCOUNTS)}@example.org"))
    before = row_counts(db)
    encoded = quote(value, safe="", errors="surrogatepass")
    api_fields = api_query_fields()
    for route in walk(routes()):
        if route.websocket or "GET" not in route.methods or route.path == "/static":
            continue
        # The value as every path parameter, then (with the example path) as each query field.
        response = client.get(fill(route.path, value), headers=admin, follow_redirects=False)
        assert response.status_code < 500, (route.path, value, response.status_code)
        # Every field at once: each handler reads all it knows (and reports every problem).
        fields = api_fields.get(route.path.replace(":int", ""), []) + list(PAGE_QUERY_FIELDS)
        url = _url(route.example_path(), "&".join(f"{name}={encoded}" for name in fields))
        for headers in (admin, {**admin, "HX-Request": "true"}):
            response = client.get(url, headers=headers, follow_redirects=False)
            assert response.status_code < 500, (url, value, response.status_code)
    # The numbered CAP file and a token revocation with a number past any column. (Update 1
    # version 1 is `record`'s: its CAP file exists, so a value naming it is left out.)
    if value.isdigit() and not (value.isascii() and int(value) == 1):
        assert client.get(f"/incidents/example/cap/{value}-1.xml").status_code == 404
        assert client.get(f"/incidents/example/cap/1-{value}.xml").status_code == 404
    assert row_counts(db) == before


@pytest.mark.slow  # walks every route with generated input
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile_json)
@example(value="a\ud800")
@example(value=10**20)
def test_any_unacceptable_json_field_is_a_4xx_and_writes_nothing(
    client: TestClient, db: Database, people: dict[str, int], record: None, value: Any
) -> None:
    admin = bearer(make_token(db, "admin", f"j{next(ACCOUNTS)}@example.org"))
    before = row_counts(db)
    for method, path, schema in json_bodies():
        properties = schema.get("properties", {})
        for name in properties:
            body = {field: VALID[field] for field in schema.get("required", [])}
            body[name] = value
            response = client.request(
                method,
                path.replace("{slug}", "example")
                .replace("{update_id}", "1")
                .replace("{rumor_id}", "1")
                .replace("{pending_id}", "1")
                .replace("{template_id}", "1"),
                content=json.dumps(body).encode("ascii"),
                headers={**admin, "content-type": "application/json"},
            )
            where = (method, path, name, value, response.status_code, response.text[:200])
            assert 400 <= response.status_code < 500, where
            assert row_counts(db) == before, where


def test_a_twenty_digit_id_is_not_found_not_a_server_error(
    client: TestClient, db: Database, people: dict[str, int], record: None
) -> None:
    session_id = start_session(db, people["admin"])
    use_session(client, session_id)
    before = row_counts(db)
    csrf = sessions.csrf_token(session_id)
    huge = "9" * 20
    for path in (
        f"/console/admin/tokens/{huge}/revoke",
        f"/console/admin/users/{huge}/disable",
        f"/console/updates/{huge}/confirmation",
        f"/console/deliveries/{huge}/retry",
    ):
        response = client.post(path, data={"csrf_token": csrf, "confirmed": "yes"}, follow_redirects=False)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    assert client.get(f"/api/v1/updates/{huge}").status_code == 404
    assert client.get(f"/incidents/example/cap/{huge}-1.xml").status_code == 404
    assert row_counts(db) == before
