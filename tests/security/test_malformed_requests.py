"""Garbage sent to every route of the app (walked from the router): oversized, malformed,
mislabelled, not UTF-8, deeply nested. Each gets a clear 4xx error, the server never fails
(no 5xx), and nothing at all is written (every table's row count is unchanged)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain import sessions
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.web.app import routes
from tests.conftest import PIO
from tests.support.factories import bearer, make_token
from tests.support.routes import RouteInfo, walk
from tests.web.staff.conftest import row_counts, start_session, use_session

MEGABYTE = 1024 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def megabyte_chunks() -> Iterator[bytes]:
    """A body with no Content-Length (chunked): the limit must count what actually arrives."""
    yield b'{"body": "'
    for _ in range(16):
        yield b"x" * (MEGABYTE // 16)
    yield b'"}'


# (name, content type, body): each is wrong in its own way.
GARBAGE: list[tuple[str, str, bytes | None]] = [
    ("1 MB JSON body", JSON, b'{"body": "' + b"x" * MEGABYTE + b'"}'),
    ("1 MB form body", FORM, b"body=" + b"x" * MEGABYTE),
    ("1 MB streamed without a length", JSON, None),
    ("truncated JSON", JSON, b'{"title": "Gas leak", "body": "unterm'),
    ("not an object", JSON, b'["title", "body"]'),
    ("NaN", JSON, b'{"body": NaN, "title": Infinity}'),
    ("deeply nested JSON", JSON, b"[" * 100_000 + b"]" * 100_000),
    ("deeply nested object", JSON, b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("a 5,000-digit number", JSON, b'{"corrects_version": ' + b"9" * 5000 + b"}"),
    ("invalid UTF-8 in JSON", JSON, b'{"title": "\xff\xfe\xc3\x28", "body": "\xed\xa0\x80"}'),
    ("JSON labelled as text", "text/plain", b'{"title": "Gas leak", "body": "x"}'),
    ("JSON in another charset", "application/json; charset=utf-16", b'{"title": "x"}'),
    ("invalid UTF-8 in a form", FORM, b"title=%ff%fe&body=\xff\xfe&reason=%c3%28&csrf_token=%ff"),
    ("a form of nothing but separators", FORM, b"&&&===;;;%%%"),
    ("multipart without a boundary", "multipart/form-data", b"--x\r\n\r\n"),
    (
        "truncated multipart",
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nGas le',
    ),
    (
        "multipart with a binary file",
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="body"; filename="x.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\xff\r\n--xyz--\r\n",
    ),
    ("binary bytes", "application/octet-stream", bytes(range(256)) * 8),
]


@pytest.fixture
def record(db: Database, routing: Routing, people: dict[str, int]) -> None:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Example"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Road closed."), routing=routing)


def writing_routes() -> list[tuple[RouteInfo, str]]:
    """Every state-changing route but /logout, which signs out whatever its body says (and
    would end the session the others are sent with)."""
    found = [
        (route, method)
        for route in walk(routes())
        for method in sorted(route.methods - {"GET", "HEAD"})
        if route.path != "/logout"
    ]
    assert len(found) >= 20
    return found


def send(
    client: TestClient, method: str, path: str, content_type: str, body: bytes | None, headers: dict[str, str]
):  # type: ignore[no-untyped-def]
    content = megabyte_chunks() if body is None else body
    return client.request(
        method,
        path,
        content=content,
        headers={"content-type": content_type, **headers},
        follow_redirects=False,
    )


# Routes that take JSON and answer JSON errors: the API, and the browser's push subscription.
JSON_ROUTES = ("/api/", "/push/")


@pytest.mark.parametrize(("name", "content_type", "body"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_to_every_write_route_gets_a_clear_error_and_writes_nothing(
    client: TestClient,
    db: Database,
    people: dict[str, int],
    record: None,
    name: str,
    content_type: str,
    body: bytes | None,
) -> None:
    # The most powerful caller, so nothing is refused merely for lack of rights: an admin
    # signed in to the console (with the CSRF header) who also holds an admin API token.
    session_id = start_session(db, people["admin"])
    use_session(client, session_id)
    headers = {
        "X-CSRF-Token": sessions.csrf_token(session_id),
        **bearer(make_token(db, "admin", "a2@example.org")),
    }
    before = row_counts(db)
    for route, method in writing_routes():
        response = send(client, method, route.example_path(), content_type, body, headers)
        where = (name, method, route.path, response.status_code, response.text[:300])
        assert response.text.strip(), where  # a message, not an empty answer
        if route.path.startswith(JSON_ROUTES):
            assert 400 <= response.status_code < 500, where
            assert response.json()["error"]["message"], where
        else:
            # Never a redirect (the answer to a done action) and never a failure: an error, or
            # (200) the form again: a preview, or a two-step form missing its `step=publish`
            # or `confirmed=yes`, as the console answers any incomplete form.
            assert response.status_code in (200, 400, 403, 404, 409, 413, 422), where
        # A declared length over the limit is refused unread; a streamed one when it is read
        # (a console form ignores a body that is not a form, and refuses for what is missing).
        if (body is not None and len(body) > MEGABYTE) or (body is None and route.path.startswith("/api/")):
            assert response.status_code == 413, where
        assert row_counts(db) == before, where


@pytest.mark.slow  # walks every route with garbage in each field
def test_invalid_utf8_and_garbage_in_paths_and_queries_never_fail_the_server(
    client: TestClient, db: Database, people: dict[str, int], record: None
) -> None:
    use_session(client, start_session(db, people["admin"]))
    reader = bearer(make_token(db, "reviewer", "r2@example.org"))
    before = row_counts(db)
    hostile_values = [
        "%ff%fe",
        "%c3%28",
        "%00",
        "..%2f..%2fetc%2fpasswd",
        "%27%3B%20DROP%20TABLE%20incidents%3B--",
    ]
    for route in walk(routes()):
        if route.websocket or "GET" not in route.methods:
            continue
        for value in hostile_values:
            path = re.sub(r"\{\w+:int\}", "1", route.path)
            path = re.sub(r"\{\w+(:\w+)?\}", value, path)
            for name in (
                "q",
                "page",
                "before",
                "since",
                "until",
                "status",
                "next",
                "actor",
                "incident",
                "verify",
            ):
                response = client.get(f"{path}?{name}={value}", headers=reader)
                assert response.status_code < 500, (route.path, name, value, response.status_code)
    assert row_counts(db) == before


def test_a_form_that_is_not_utf8_is_refused_not_mangled(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    session_id = start_session(db, people["pio"])
    use_session(client, session_id)
    before = row_counts(db)
    response = client.post(
        "/console/incidents",
        content=b"title=Gas%20leak%20%ff&csrf_token=" + sessions.csrf_token(session_id).encode(),
        headers={"content-type": FORM},
        follow_redirects=False,
    )
    assert response.status_code == 400 and "not sent as UTF-8" in response.text
    assert row_counts(db) == before


def test_an_action_without_a_body_takes_nothing_or_an_empty_object(
    client: TestClient, db: Database, record: None
) -> None:
    admin = bearer(make_token(db, "admin", "a3@example.org"))
    refused = client.post("/api/v1/deliveries/999999/retry", json={"state": "pending"}, headers=admin)
    assert refused.status_code == 422 and "state" in refused.json()["error"]["fields"]
    assert client.post("/api/v1/deliveries/999999/retry", json={}, headers=admin).status_code == 404


def test_resolving_takes_only_a_message_and_its_translations(
    client: TestClient, db: Database, record: None
) -> None:
    admin = bearer(make_token(db, "admin", "a3@example.org"))
    refused = client.post("/api/v1/incidents/example/resolve", json={"status": "resolved"}, headers=admin)
    assert refused.status_code == 422
    assert {"status", "message"} <= set(refused.json()["error"]["fields"])
    assert client.post("/api/v1/incidents/example/resolve", json={}, headers=admin).status_code == 422
    assert client.get("/api/v1/incidents/example").json()["status"] == "active"
    done = client.post("/api/v1/incidents/example/resolve", json={"message": "All clear."}, headers=admin)
    assert done.status_code == 200


SEARCH_GARBAGE = [
    '"unbalanced',
    "NEAR(a b)",
    "title:x",
    "a AND OR",
    "*",
    "^x",
    "(",
    "-",
    '""',
    "OR",
    "x*",
    "{a b}:c",
    "a'b",
    "\\",
    '"a" "',
    "a:b:c",
    "'",
    '-"',
    "or or or",
    "!!&&||",
    "\u202e",
    "x" * 5000,
    " ".join(["w"] * 500),
]


def test_search_syntax_of_either_database_is_just_text(client: TestClient, record: None) -> None:
    """FTS5 and tsquery operators typed into the archive search: a result or a clear 400,
    never a database error."""
    for query in SEARCH_GARBAGE:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get("/archive", params={"q": query}, headers=headers)
            assert response.status_code in (200, 400), (query[:40], response.status_code)
    for path in (
        "/archive?from=2026-13-45",
        "/archive?from=99999-01-01",
        "/archive?page=-1",
        "/archive?page=999999999999999999999",
        "/archive?from=2026-01-01&to=2025-01-01",
        "/corrections?page=1e9",
    ):
        assert client.get(path).status_code in (200, 400, 404), path  # 404: no such page
