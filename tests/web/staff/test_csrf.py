"""CSRF: every state-changing console request needs the session's token and a same-site
origin; without them it gets 403 and nothing at all is written. The JSON API ignores
console cookies altogether."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import Delivery, DeliveryState
from console.web.access import Access
from console.web.app import routes
from tests.conftest import PIO
from tests.support.factories import PASSWORD, bearer, make_token
from tests.support.routes import walk
from tests.web.staff.conftest import email_of, row_counts, sign_in

NEW_PASSWORD = "another long passphrase"

# For each route, a form that writes when the token is right, so refusing it means something.
WRITING_FORMS: dict[str, dict[str, str]] = {
    "/logout": {},
    "/console/password": {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    },
    "/console/incidents": {"title": "Chemical spill"},
    "/console/incidents/{slug}/updates": {"body": "Stay indoors.", "step": "publish"},
    "/console/incidents/{slug}/resolve": {"confirmed": "yes", "message": "All clear: Example is over."},
    "/console/incidents/{slug}/details": {
        "title": "Example fixed",
        "reason": "Typo",
        "corrects_version": "1",
    },
    "/console/updates/{update_id:int}/corrections": {
        "body": "Stay indoors, windows closed.",
        "reason": "Added advice",
        "corrects_version": "1",
        "step": "publish",
    },
    "/console/updates/{update_id:int}/confirmation": {"corrects_version": "1", "confirmed": "yes"},
    "/console/updates/{update_id:int}/retraction": {
        "reason": "Wrong incident",
        "corrects_version": "1",
        "confirmed": "yes",
    },
    "/console/deliveries/{delivery_id:int}/retry": {"next": "/console"},
    "/console/admin/users": {"email": "new@example.org", "display_name": "New Person", "role": "pio"},
    "/console/admin/tokens": {"email": "admin@example.org", "name": "CAD"},
    "/console/admin/tokens/{token_id:int}/revoke": {"confirmed": "yes"},
}


def signed_in_posts() -> list[str]:
    """Every state-changing route behind a console session, from the router: a route added
    later is covered here without anyone listing it."""
    return sorted(
        route.path
        for route in walk(routes())
        if "POST" in route.methods
        and not route.path.startswith("/api/")
        and route.access is not Access.PUBLIC
    )


@pytest.fixture
def record(db: Database, routing: Routing, people: dict[str, int]) -> None:
    make_token(db, "pio", "token-owner@example.org")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Example"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Stay indoors."), routing=routing)
        session.execute(update(Delivery).where(Delivery.id == 1).values(state=DeliveryState.FAILED))


def test_the_writing_forms_name_real_routes() -> None:
    assert set(WRITING_FORMS) <= set(signed_in_posts())
    assert len(WRITING_FORMS) >= 12


@pytest.mark.parametrize("path", signed_in_posts())
def test_a_write_without_the_token_is_refused_and_writes_nothing(
    client: TestClient, db: Database, record: None, path: str
) -> None:
    token = sign_in(client, email_of("admin"))
    url = re.sub(r"\{slug\}", "example", path)
    url = re.sub(r"\{\w+:int\}", "1", url)
    form = WRITING_FORMS.get(path, {})
    attempts: list[Callable[[], int]] = [
        lambda: client.post(url, data=form, follow_redirects=False).status_code,
        lambda: client.post(url, data={**form, "csrf_token": "0" * 64}, follow_redirects=False).status_code,
        lambda: (
            client.post(
                url, data=form, headers={"X-CSRF-Token": token[:-1] + "x"}, follow_redirects=False
            ).status_code
        ),
        lambda: (
            client.post(  # the right token, from a page on another site
                url,
                data={**form, "csrf_token": token},
                headers={"Origin": "https://evil.example"},
                follow_redirects=False,
            ).status_code
        ),
        lambda: (
            client.post(
                url,
                data={**form, "csrf_token": token},
                headers={"Sec-Fetch-Site": "cross-site"},
                follow_redirects=False,
            ).status_code
        ),
    ]
    before = row_counts(db)
    for refused in attempts:
        assert refused() == 403
        assert row_counts(db) == before, path
    if path not in WRITING_FORMS:
        return  # a route that only reads (a preview): refused without the token all the same
    # The same form with the token (here in the header htmx sends) does write.
    status = client.post(url, data=form, headers={"X-CSRF-Token": token}, follow_redirects=False).status_code
    assert status in (201, 303), (path, status)
    assert row_counts(db) != before


def test_a_refused_form_says_why_and_htmx_keeps_the_page(client: TestClient, record: None) -> None:
    sign_in(client, email_of("pio"))
    page = client.post("/console/incidents/example/updates", data={"body": "x", "step": "publish"})
    assert page.status_code == 403 and "out of date or did not come from this console" in page.text
    fragment = client.post(
        "/console/incidents/example/updates",
        data={"body": "x", "step": "publish"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 403 and fragment.headers["HX-Retarget"] == "#flash"
    assert "<html" not in fragment.text


def test_the_same_origin_is_accepted(client: TestClient, db: Database, record: None) -> None:
    token = sign_in(client, email_of("pio"))
    before = row_counts(db)
    response = client.post(
        "/console/incidents",
        data={"title": "Flooding", "csrf_token": token},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert row_counts(db)["incidents"] == before["incidents"] + 1


def test_a_console_session_does_not_authorize_the_api(client: TestClient, db: Database, record: None) -> None:
    token = sign_in(client, email_of("admin"))
    response = client.post(
        "/api/v1/incidents",
        json={"title": "Via cookie"},
        headers={"X-CSRF-Token": token, "Origin": "http://testserver"},
    )
    assert response.status_code == 401
    # Reading: the cookie does not unlock what only authenticated readers see.
    record_json = client.get("/api/v1/incidents/example").json()
    assert "deliveries" not in record_json["updates"][0]
    api_token = make_token(db, "reviewer", "api-reviewer@example.org")
    with_token = client.get("/api/v1/incidents/example", headers=bearer(api_token)).json()
    assert "deliveries" in with_token["updates"][0]
