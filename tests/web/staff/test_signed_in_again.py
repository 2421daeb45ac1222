"""Issue 13.7: no typed work is lost when the session ends. A form opened before the PIO
signed in again carries the old session's token; sent from this site, it comes back at its
review step (403: nothing was done) with the new session's token, and publishing from there
works. From another site it is refused as before."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import UpdateVersion
from console.web.staff.auth import RESENT_FORM, STALE_FORM
from tests.conftest import PIO
from tests.web.staff.conftest import TOKEN_FIELD, email_of, row_counts, sign_in

SAME_SITE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
TYPED = {
    "headline": "Shelter open",
    "body": "The shelter at Lincoln High School is open.",
    "preliminary": "on",
}


@pytest.fixture
def slug(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        return create_incident(session, PIO, IncidentDraft(title="River flood"), routing=routing)[0].slug


def signed_in_twice(client: TestClient) -> tuple[str, str]:
    """The token of a page opened in the first session, and the token of the second."""
    old = sign_in(client, email_of("pio"))
    client.post("/logout", data={"csrf_token": old}, headers=SAME_SITE, follow_redirects=False)
    return old, sign_in(client, email_of("pio"))


def html_of(response_text: str) -> str:
    return response_text.replace("&#34;", '"').replace("&#39;", "'")


def test_a_form_from_before_signing_in_again_comes_back_at_review(
    client: TestClient, db: Database, slug: str
) -> None:
    old, new = signed_in_twice(client)
    assert old != new
    before = row_counts(db)
    answer = client.post(
        f"/console/incidents/{slug}/updates",
        data={**TYPED, "step": "publish", "csrf_token": old},
        headers={**SAME_SITE, "HX-Request": "true", "X-CSRF-Token": old},
    )
    assert answer.status_code == 403
    assert row_counts(db) == before, "nothing is published, saved or audited"
    assert "Check before publishing" in answer.text and RESENT_FORM in html_of(answer.text)
    assert TYPED["body"] in answer.text and 'name="preliminary" value="on"' in answer.text
    assert TOKEN_FIELD.findall(answer.text) == [new], "the form is given the new session's token"
    assert json.loads(answer.headers["HX-Trigger"]) == {"console-session-changed": {"csrf": new}}
    assert "<html" not in answer.text and "HX-Retarget" not in answer.headers  # swapped in place

    submission = answer.text.split('name="submission" value="', 1)[1].split('"', 1)[0]
    published = client.post(  # "Publish now": htmx's header is still the old token, the form's is new
        f"/console/incidents/{slug}/updates",
        data={**TYPED, "step": "publish", "submission": submission, "csrf_token": new},
        headers={**SAME_SITE, "X-CSRF-Token": old},
        follow_redirects=False,
    )
    assert published.status_code == 303
    with db.read() as session:
        assert [v.body for v in session.scalars(select(UpdateVersion))] == [TYPED["body"]]


def test_a_resent_form_with_errors_comes_back_with_them(client: TestClient, db: Database, slug: str) -> None:
    old, _ = signed_in_twice(client)
    before = row_counts(db)
    answer = client.post(
        f"/console/incidents/{slug}/updates",
        data={"headline": "H" * 201, "body": "", "step": "publish", "csrf_token": old},
        headers=SAME_SITE,
    )
    assert answer.status_code == 422
    assert row_counts(db) == before
    assert RESENT_FORM in html_of(answer.text) and 'id="compose-body-error"' in answer.text


@pytest.mark.parametrize(
    ("path", "form", "review"),
    [
        (
            "corrections",
            {"body": "The shelter is at Fire Station 7.", "reason": "Moved", "step": "publish"},
            "Check the correction before publishing",
        ),
        ("confirmation", {"confirmed": "yes"}, "Confirm update 1?"),
        ("retraction", {"reason": "Wrong incident", "confirmed": "yes"}, "Retract update 1?"),
    ],
)
def test_a_resent_correction_confirmation_or_retraction_is_shown_not_done(
    client: TestClient,
    db: Database,
    routing: Routing,
    slug: str,
    path: str,
    form: dict[str, str],
    review: str,
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Shelter at Station 4.", preliminary=True), routing=routing
        ).update.id
    old, new = signed_in_twice(client)
    before = row_counts(db)
    answer = client.post(
        f"/console/updates/{update_id}/{path}",
        data={**form, "corrects_version": "1", "csrf_token": old},
        headers=SAME_SITE,
    )
    assert answer.status_code == 403
    assert row_counts(db) == before
    assert review in html_of(answer.text) and RESENT_FORM in html_of(answer.text)
    assert new in TOKEN_FIELD.findall(answer.text) and old not in answer.text


def test_a_stale_form_from_another_site_is_refused_as_before(
    client: TestClient, db: Database, slug: str
) -> None:
    old, _ = signed_in_twice(client)
    before = row_counts(db)
    answer = client.post(
        f"/console/incidents/{slug}/updates",
        data={**TYPED, "step": "publish", "csrf_token": old},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403 and STALE_FORM in html_of(answer.text)
    assert "Check before publishing" not in answer.text and "HX-Trigger" not in answer.headers
    assert row_counts(db) == before


def test_other_forms_are_still_refused_with_an_old_token(client: TestClient, db: Database, slug: str) -> None:
    old, _ = signed_in_twice(client)
    before = row_counts(db)
    answer = client.post(
        "/console/incidents", data={"title": "Chemical spill", "csrf_token": old}, headers=SAME_SITE
    )
    assert answer.status_code == 403 and STALE_FORM in html_of(answer.text)
    assert row_counts(db) == before


def test_a_form_without_any_token_is_refused_as_before(client: TestClient, db: Database, slug: str) -> None:
    signed_in_twice(client)
    before = row_counts(db)
    answer = client.post(
        f"/console/incidents/{slug}/updates", data={**TYPED, "step": "publish"}, headers=SAME_SITE
    )
    assert answer.status_code == 403 and STALE_FORM in html_of(answer.text)
    assert row_counts(db) == before
