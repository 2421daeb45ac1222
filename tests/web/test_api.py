"""The JSON API end to end through the ASGI app: the flow, roles, and every bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.models import AuditEvent, Delivery, Incident, Update, UpdateVersion
from console.settings import Settings
from tests.support.factories import bearer, make_token


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def reviewer(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "reviewer"))


def row_counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Incident, Update, UpdateVersion, Delivery, AuditEvent)
        }


def create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/incidents", json={"title": "Chemical spill", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_publish_correct_confirm_retract_through_the_api(client: TestClient, pio: dict[str, str]) -> None:
    incident = create(client, pio, summary="Tanker overturned", location="I-95 exit 12", category="cbrne")
    assert (incident["slug"], incident["category"], incident["status"]) == (
        "chemical-spill",
        "CBRNE",
        "active",
    )

    published = client.post(
        f"/api/v1/incidents/{incident['slug']}/updates",
        json={"headline": "Avoid I-95", "body": "I-95 closed at exit 12."},
        headers=pio,
    )
    assert published.status_code == 201, published.text
    update = published.json()
    assert (update["seq"], update["version"], update["preliminary"], update["author"]) == (
        1,
        1,
        True,
        "Casey Park",
    )
    assert published.headers["location"] == f"/api/v1/updates/{update['id']}"

    base = f"/api/v1/updates/{update['id']}"
    corrected = client.post(
        f"{base}/corrections",
        headers=pio,
        json={"body": "I-95 closed at exits 12 and 13.", "reason": "Closure extended", "corrects_version": 1},
    )
    assert corrected.status_code == 201 and corrected.json()["version"] == 2
    stale = client.post(
        f"{base}/corrections",
        headers=pio,
        json={"body": "I-95 closed.", "reason": "x", "corrects_version": 1},
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["current"]["body"] == "I-95 closed at exits 12 and 13."
    confirmed = client.post(f"{base}/confirmation", json={"corrects_version": 2}, headers=pio)
    assert confirmed.status_code == 201 and confirmed.json()["preliminary"] is False
    retracted = client.post(
        f"{base}/retraction", json={"reason": "Wrong highway", "corrects_version": 3}, headers=pio
    )
    assert retracted.status_code == 201

    record = client.get(f"/api/v1/incidents/{incident['slug']}").json()
    [entry] = record["updates"]
    assert [(v["version"], v["kind"], v["reason"]) for v in entry["versions"]] == [
        (1, "original", None),
        (2, "correction", "Closure extended"),
        (3, "confirmation", "Information confirmed"),
        (4, "retraction", "Wrong highway"),
    ]
    assert all(len(v["content_hash"]) == 64 for v in entry["versions"])
    assert "deliveries" not in entry, "anonymous readers see no delivery records"
    assert client.get(base).json()["versions"] == entry["versions"]


def test_a_retraction_names_the_version_it_withdraws_and_never_retracts_a_newer_one_unseen(
    client: TestClient, db: Database, pio: dict[str, str]
) -> None:
    slug = create(client, pio)["slug"]
    update_id = client.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter at Station 4."}, headers=pio
    ).json()["id"]
    base = f"/api/v1/updates/{update_id}"
    newer = {"body": "Shelter at Fire Station 7.", "reason": "Shelter moved", "corrects_version": 1}
    assert client.post(f"{base}/corrections", json=newer, headers=pio).status_code == 201
    before = row_counts(db)

    unnamed = client.post(f"{base}/retraction", json={"reason": "Sent in error"}, headers=pio)
    assert unnamed.status_code == 422
    assert "corrects_version" in unnamed.json()["error"]["fields"]
    stale = client.post(
        f"{base}/retraction", json={"reason": "Sent in error", "corrects_version": 1}, headers=pio
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["current"]["body"] == "Shelter at Fire Station 7."
    assert row_counts(db) == before, "a refused retraction writes nothing"

    current = client.post(
        f"{base}/retraction", json={"reason": "Sent in error", "corrects_version": 2}, headers=pio
    )
    assert current.status_code == 201 and current.json()["version"] == 3


def test_authenticated_readers_see_deliveries_and_anonymous_see_no_emails(
    client: TestClient, pio: dict[str, str], reviewer: dict[str, str], settings: Settings
) -> None:
    slug = create(client, pio)["slug"]
    client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Spill contained."}, headers=pio)
    as_reviewer = client.get(f"/api/v1/incidents/{slug}", headers=reviewer).json()
    channels = {d["channel"] for d in as_reviewer["updates"][0]["deliveries"]}
    assert channels == set(settings.channels) and {"live", "archive"} <= channels
    anonymous = client.get(f"/api/v1/incidents/{slug}").text
    assert "@example.org" not in anonymous and "@example.org" not in as_reviewer.__repr__()


def test_listing_puts_active_incidents_first(client: TestClient, pio: dict[str, str]) -> None:
    first = create(client, pio, title="Old fire")["slug"]
    create(client, pio, title="New flood")
    assert (
        client.post(
            f"/api/v1/incidents/{first}/resolve", json={"message": "All clear: fire out."}, headers=pio
        ).json()["status"]
        == "resolved"
    )
    listed = client.get("/api/v1/incidents").json()["incidents"]
    assert [(i["slug"], i["status"]) for i in listed] == [("new-flood", "active"), ("old-fire", "resolved")]
    assert [i["slug"] for i in client.get("/api/v1/incidents?status=resolved").json()["incidents"]] == [
        "old-fire"
    ]
    assert client.get("/api/v1/incidents?status=bogus").status_code == 422


def test_exercise_incidents_say_so(client: TestClient, pio: dict[str, str]) -> None:
    assert create(client, pio, title="Drill", alert_status="Exercise")["alert_status"] == "exercise"
    assert create(client, pio, title="Real")["alert_status"] == "actual"
    bad = client.post("/api/v1/incidents", json={"title": "x", "alert_status": "draft"}, headers=pio)
    assert bad.status_code == 422 and "alert_status" in bad.json()["error"]["fields"]


BAD_REQUESTS = [
    # (path, body or raw bytes, headers, status, code, field)
    ("updates", {"body": "   "}, {}, 422, "invalid_input", "body"),
    ("updates", {"body": "x" * 5001}, {}, 422, "invalid_input", "body"),
    ("updates", {"body": "ok", "headline": "h" * 201}, {}, 422, "invalid_input", "headline"),
    ("updates", {"headline": "no body"}, {}, 422, "invalid_input", "body"),
    ("updates", {"body": 5}, {}, 422, "invalid_input", "body"),
    ("updates", {"body": "ok", "preliminary": "yes"}, {}, 422, "invalid_input", "preliminary"),
    ("updates", {"body": "ok", "prelimnary": False}, {}, 422, "invalid_input", "prelimnary"),
    ("updates", b'{"body": "unterminated', {}, 400, "malformed_json", None),
    ("updates", b'["a list"]', {}, 400, "malformed_json", None),
    ("updates", b'{"body": NaN}', {}, 400, "malformed_json", None),
    ("updates", b'{"body": "\xff\xfe"}', {}, 400, "invalid_utf8", None),
    (
        "updates",
        b"body=form",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "updates",
        b'{"body": "x"}',
        {"content-type": "application/json; charset=latin-1"},
        415,
        "unsupported_media_type",
        None,
    ),
    ("corrections", {"body": "new", "corrects_version": 1}, {}, 422, "invalid_input", "reason"),
    ("corrections", {"body": "new", "reason": "r"}, {}, 422, "invalid_input", "corrects_version"),
    (
        "corrections",
        {"body": "new", "reason": "r", "corrects_version": "1"},
        {},
        422,
        "invalid_input",
        "corrects_version",
    ),
    (
        "corrections",
        {"body": "new", "reason": "r", "corrects_version": 7},
        {},
        422,
        "invalid_input",
        "corrects_version",
    ),
    ("retraction", {"corrects_version": 1}, {}, 422, "invalid_input", "reason"),
    ("retraction", {"reason": "Sent in error"}, {}, 422, "invalid_input", "corrects_version"),
    ("confirmation", {}, {}, 422, "invalid_input", "corrects_version"),
]


@pytest.mark.parametrize(("kind", "payload", "headers", "status", "code", "field"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_error_and_writes_nothing(
    client: TestClient,
    db: Database,
    pio: dict[str, str],
    kind: str,
    payload: Any,
    headers: dict[str, str],
    status: int,
    code: str,
    field: str | None,
) -> None:
    slug = create(client, pio)["slug"]
    update_id = client.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "Original"}, headers=pio
    ).json()["id"]
    path = f"/api/v1/incidents/{slug}/updates" if kind == "updates" else f"/api/v1/updates/{update_id}/{kind}"
    before = row_counts(db)
    if isinstance(payload, bytes):
        response = client.post(
            path, content=payload, headers={"content-type": "application/json", **pio, **headers}
        )
    else:
        response = client.post(path, json=payload, headers=pio)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field:
        assert field in error["fields"], error
    assert row_counts(db) == before


def test_unknown_things_are_404_in_json(client: TestClient, pio: dict[str, str]) -> None:
    for method, path, body in [
        ("GET", "/api/v1/incidents/nope", None),
        ("POST", "/api/v1/incidents/nope/updates", {"body": "x"}),
        ("POST", "/api/v1/updates/999999/retraction", {"reason": "x", "corrects_version": 1}),
        ("GET", "/api/v1/updates/abc", None),
        ("GET", "/api/v1/nothing-here", None),
    ]:
        response = client.request(method, path, json=body, headers=pio)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert client.delete("/api/v1/incidents", headers=pio).status_code == 405


def test_roles_decide_who_may_write(
    client: TestClient, db: Database, pio: dict[str, str], reviewer: dict[str, str]
) -> None:
    slug = create(client, pio)["slug"]
    before = row_counts(db)
    anonymous = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "x"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    forbidden = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "x"}, headers=reviewer)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    bad_token = client.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "x"}, headers=bearer("ick_forged")
    )
    assert bad_token.status_code == 401
    wrong_scheme = client.get("/api/v1/incidents", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert wrong_scheme.status_code == 401
    assert row_counts(db) == before
    assert client.get(f"/api/v1/incidents/{slug}", headers=reviewer).status_code == 200


def test_oversized_bodies_are_refused_before_parsing(client: TestClient, pio: dict[str, str]) -> None:
    slug = create(client, pio)["slug"]
    response = client.post(
        f"/api/v1/incidents/{slug}/updates",
        content=b'{"body": "' + b"x" * 1_000_000 + b'"}',
        headers={"content-type": "application/json", **pio},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_healthz_and_security_headers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_failed_delivery_can_be_retried_through_the_api(
    client: TestClient, db: Database, pio: dict[str, str], reviewer: dict[str, str]
) -> None:
    slug = create(client, pio)["slug"]
    client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "x"}, headers=pio)
    with db.write() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.channel == "live")).first()
        assert delivery is not None
        delivery.state = delivery.state.FAILED
        delivery_id = delivery.id
    assert client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=reviewer).status_code == 403
    retried = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=pio)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    # Sent again by the same account (its answer lost): the request stands, nothing more written.
    again = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=pio)
    assert again.status_code == 200 and again.json() == retried.json()
    with db.read() as session:
        asked = select(func.count()).where(AuditEvent.action == "delivery.retry_requested")
        assert session.scalar(asked) == 1
    # Another account asking to retry what is no longer failed is told why.
    colleague = bearer(make_token(db, "pio", "colleague@example.org"))
    refused = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=colleague)
    assert refused.status_code == 409 and "only a failed one is retried" in refused.text


def test_a_direction_override_left_open_is_refused_and_a_closed_one_kept(
    client: TestClient, pio: dict[str, str], db: Database
) -> None:
    """An unclosed right-to-left override in a title would turn around what follows it where
    channels join texts (the update after it in a post, the link in an SMS)."""
    before = row_counts(db)
    refused = client.post("/api/v1/incidents", json={"title": "Gas leak \u202eat Elm St"}, headers=pio)
    assert refused.status_code == 422, refused.text
    assert set(refused.json()["error"]["fields"]) == {"title"}
    assert "U+202E" in refused.json()["error"]["fields"]["title"]
    assert row_counts(db) == before
    kept = client.post("/api/v1/incidents", json={"title": "Gas leak \u202eat Elm St\u202c"}, headers=pio)
    assert kept.status_code == 201 and kept.json()["title"] == "Gas leak \u202eat Elm St\u202c"


def test_line_breaks_arrive_as_newlines_and_invisible_text_is_blank(
    client: TestClient, pio: dict[str, str], db: Database
) -> None:
    before = row_counts(db)
    for title in ("\u200b\u200b", "\ufeff \u2060"):
        refused = client.post("/api/v1/incidents", json={"title": title}, headers=pio)
        assert refused.status_code == 422 and refused.json()["error"]["fields"] == {
            "title": "is required and must not be blank"
        }
    refused = client.post("/api/v1/incidents", json={"title": "Next\u0085line"}, headers=pio)
    assert refused.status_code == 422 and refused.json()["error"]["fields"] == {
        "title": "contains control characters"
    }
    assert row_counts(db) == before
    incident = create(client, pio)
    published = client.post(
        f"/api/v1/incidents/{incident['slug']}/updates",
        json={"body": "Avoid Main St.\r\nUse Oak Ave.\rMore soon."},
        headers=pio,
    )
    assert published.status_code == 201, published.text
    assert published.json()["body"] == "Avoid Main St.\nUse Oak Ave.\nMore soon."
    with db.read() as session:
        assert session.scalar(select(UpdateVersion.body)) == "Avoid Main St.\nUse Oak Ave.\nMore soon."


def test_the_incident_list_pages_with_a_cursor_and_misses_none(
    client: TestClient, pio: dict[str, str]
) -> None:
    slugs = [create(client, pio, title=f"Incident {n}")["slug"] for n in range(7)]
    for slug in slugs[1:6:2]:  # three resolved, among the active ones
        resolved = client.post(
            f"/api/v1/incidents/{slug}/resolve", json={"message": "All clear."}, headers=pio
        )
        assert resolved.status_code == 200, resolved.text
    whole = client.get("/api/v1/incidents").json()
    assert whole["next_cursor"] is None and len(whole["incidents"]) == 7
    walked, cursor, pages = [], None, 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/incidents{query}").json()
        walked += [incident["slug"] for incident in page["incidents"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and walked == [incident["slug"] for incident in whole["incidents"]]
    resolved_only = client.get("/api/v1/incidents?status=resolved&limit=2").json()
    rest = client.get(f"/api/v1/incidents?status=resolved&cursor={resolved_only['next_cursor']}").json()
    assert [i["status"] for i in resolved_only["incidents"] + rest["incidents"]] == ["resolved"] * 3
    for bad in (
        "limit=0",
        "limit=501",
        "limit=",
        "cursor=nonsense",
        "cursor=2.1.1",
        "cursor=0.1",
        "cursor=" + "x" * 300,
    ):
        answer = client.get(f"/api/v1/incidents?{bad}")
        assert answer.status_code == 422, (bad, answer.text)
        assert set(answer.json()["error"]["fields"]) <= {"limit", "cursor"}
