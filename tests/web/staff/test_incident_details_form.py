"""The incident screen's "Correct details" form (issue 13.5), as with JavaScript off and
through htmx: a new details version, refusals with the typing kept, a colleague's newer
version never overwritten unseen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.models import IncidentDetailsTranslation, IncidentDetailsVersion
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas laek", location="Elm St", category="Fire"), routing=routing
        )
        return created.slug


def details_rows(db: Database) -> list[IncidentDetailsVersion]:
    with db.read() as session:
        return list(session.scalars(select(IncidentDetailsVersion).order_by(IncidentDetailsVersion.version)))


def form(token: str, **changes: str) -> dict[str, str]:
    fields = {
        "title": "Gas laek",
        "summary": "",
        "location": "Elm St",
        "category": "Fire",
        "alert_status": "actual",
        "reason": "",
        "corrects_version": "1",
    }
    return {**fields, **changes, "csrf_token": token}


def test_the_form_shows_the_current_details_and_publishes_a_new_version(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/incidents/{incident}")
    assert "Correct details" in page.text
    assert 'id="details-title" name="title" type="text" value="Gas laek"' in page.text
    assert 'name="corrects_version" value="1"' in page.text
    done = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, title="Gas leak", reason="Typo in title"),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    after = client.get(done.headers["location"])
    assert "Details corrected" in after.text and "<h1>Gas leak</h1>" in after.text
    assert 'name="corrects_version" value="2"' in after.text
    rows = details_rows(db)
    assert [(r.version, r.title, r.reason, r.author_name) for r in rows] == [
        (1, "Gas laek", None, "Test PIO"),
        (2, "Gas leak", "Typo in title", "Pio Person"),
    ]


def test_refusals_keep_what_was_typed(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("pio"))
    no_reason = client.post(
        f"/console/incidents/{incident}/details", data=form(token, title="Gas leak"), headers=HTMX
    )
    assert no_reason.status_code == 422
    assert 'value="Gas leak"' in no_reason.text and 'aria-invalid="true"' in no_reason.text
    assert "<html" not in no_reason.text  # htmx: the form alone
    unchanged = client.post(f"/console/incidents/{incident}/details", data=form(token, reason="Why"))
    assert unchanged.status_code == 422 and "<html" in unchanged.text
    assert "Nothing changes: every field is as the current version has it." in unchanged.text
    assert unchanged.text.lower().count("nothing changes") == 1
    assert len(details_rows(db)) == 1


def test_a_colleagues_newer_version_is_not_overwritten(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    first = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, title="Gas leak", reason="Typo"),
        follow_redirects=False,
    )
    assert first.status_code == 303
    stale = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, location="Elm St and 3rd Ave", reason="Wider area"),
        headers=HTMX,
    )
    assert stale.status_code == 409
    assert "published details version 2" in stale.text and "Typo" in stale.text
    assert 'value="Elm St and 3rd Ave"' in stale.text  # the typing is kept
    assert 'id="details-title" name="title" type="text" value="Gas leak"' in stale.text  # not reverted
    assert 'name="corrects_version" value="2"' in stale.text  # sending again corrects version 2
    assert len(details_rows(db)) == 2
    again = client.post(
        f"/console/incidents/{incident}/details",
        data=form(
            token, title="Gas leak", location="Elm St and 3rd Ave", reason="Wider area", corrects_version="2"
        ),
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert [(r.title, r.location) for r in details_rows(db)][-1] == ("Gas leak", "Elm St and 3rd Ave")


def test_a_reviewer_sees_no_form_and_may_not_post(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("reviewer"))
    assert "Correct details" not in client.get(f"/console/incidents/{incident}").text
    refused = client.post(
        f"/console/incidents/{incident}/details", data=form(token, title="Drill", reason="x")
    )
    assert refused.status_code == 403
    assert len(details_rows(db)) == 1


@pytest.fixture
def bilingual(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        yield client


def test_a_pio_translates_the_details_from_the_incident_screen(
    bilingual: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(bilingual, email_of("pio"))
    page = bilingual.get(f"/console/incidents/{incident}").text
    assert "Details in Spanish (not translated)" in page
    assert 'id="details-es-title"' in page and 'id="details-es-location"' in page
    assert 'id="details-es-summary"' not in page  # the incident has no summary to translate
    typed = {"lang": "es", "version": "1", "title": "Fuga de gas", "location": "", "csrf_token": token}
    refused = bilingual.post(f"/console/incidents/{incident}/details/translations", data=typed)
    assert refused.status_code == 422
    assert 'value="Fuga de gas"' in refused.text and "is required" in refused.text  # the typing is kept
    done = bilingual.post(
        f"/console/incidents/{incident}/details/translations",
        data={**typed, "location": "Calle Olmo"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?notice=details_translated")
    with db.read() as session:
        [row] = session.scalars(select(IncidentDetailsTranslation)).all()
        assert (row.lang, row.title, row.location, row.author_name) == (
            "es",
            "Fuga de gas",
            "Calle Olmo",
            "Pio Person",
        )
    assert "Details in Spanish</h3>" in bilingual.get(f"/console/incidents/{incident}").text

    stale = bilingual.post(
        f"/console/incidents/{incident}/details/translations",
        data={**typed, "version": "7", "location": "Calle Olmo"},
    )
    assert stale.status_code == 422 and "no details version 7" in stale.text
