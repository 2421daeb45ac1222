"""The incident's CAP defaults in the console's "Correct details" form (issue 17): chosen with
the same plain-language help as "Alert details", published as a details version, shown again
for the next change, refused with the choice kept."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain.alerting import FORM_HELP
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in
from tests.web.staff.test_incident_details_form import details_rows, form


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas laek", location="Elm St", category="Fire"), routing=routing
        )
        return created.slug


def details_section(page: str) -> str:
    return page.split('id="details"', 1)[1].split("</section>", 1)[0]


def test_defaults_chosen_in_the_form_are_a_new_details_version(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    section = details_section(client.get(f"/console/incidents/{incident}").text)
    assert "CAP defaults for new updates" in section
    assert FORM_HELP["urgency"] in section and FORM_HELP["response_types"] in section
    assert 'id="details-cap_urgency"' in section

    data = {
        **form(token, reason="Evacuation ordered"),
        "cap_urgency": "Immediate",
        "cap_severity": "",
        "cap_certainty": "Observed",
        "cap_event": "Gas leak",
        "cap_response_types": ["Evacuate", "Avoid"],
    }
    done = client.post(f"/console/incidents/{incident}/details", data=data, follow_redirects=False)
    assert done.status_code == 303, done.text
    rows = details_rows(db)
    assert [row.version for row in rows] == [1, 2]
    assert rows[-1].cap_defaults is not None
    assert json.loads(rows[-1].cap_defaults) == {
        "urgency": "Immediate",
        "certainty": "Observed",
        "response_types": ["Evacuate", "Avoid"],
        "event": "Gas leak",
    }
    section = details_section(client.get(f"/console/incidents/{incident}").text)
    assert '<option value="Immediate" selected>' in section  # shown for the next change
    assert 'value="Evacuate" checked' in section and 'value="Shelter" checked' not in section

    # Sent again as shown, with a title change: the defaults are not a change.
    again = client.post(
        f"/console/incidents/{incident}/details",
        data={**data, "title": "Gas leak", "reason": "Typo", "corrects_version": "2"},
        follow_redirects=False,
    )
    assert again.status_code == 303, again.text
    rows = details_rows(db)
    assert rows[-1].version == 3 and rows[-1].cap_defaults == rows[-2].cap_defaults

    # Nothing chosen: removed.
    cleared = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, title="Gas leak", reason="Leak stopped", corrects_version="3"),
        follow_redirects=False,
    )
    assert cleared.status_code == 303, cleared.text
    assert details_rows(db)[-1].cap_defaults is None


def test_a_bad_default_is_refused_with_the_choice_kept(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    refused = client.post(
        f"/console/incidents/{incident}/details",
        data={**form(token, reason="Evacuation ordered"), "cap_urgency": "Now", "cap_event": "Gas leak"},
    )
    assert refused.status_code == 422
    section = details_section(refused.text)
    assert "must be one of: Immediate" in section and 'value="Gas leak"' in section
    assert [row.version for row in details_rows(db)] == [1]


def test_after_a_conflict_the_form_holds_a_colleagues_defaults_unless_changed_here(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    with db.write() as session:  # a colleague sets defaults after this form was opened at version 1
        change_details(
            session,
            PIO,
            incident,
            DetailsDraft(cap_defaults={"urgency": "Immediate", "event": "Gas leak"}),
            reason="Evacuation ordered",
            corrects_version=1,
            routing=routing,
        )
    conflict = client.post(
        f"/console/incidents/{incident}/details",
        data=form(token, title="Gas leak", reason="Typo"),  # no defaults, as version 1 had
    )
    assert conflict.status_code == 409
    section = details_section(conflict.text)
    assert '<option value="Immediate" selected>' in section and 'value="Gas leak"' in section
    # Changed here: kept as typed.
    mine = client.post(
        f"/console/incidents/{incident}/details",
        data={**form(token, title="Gas leak", reason="Typo"), "cap_severity": "Minor"},
    )
    assert mine.status_code == 409
    section = details_section(mine.text)
    assert (
        '<option value="Minor" selected>' in section and '<option value="Immediate" selected>' not in section
    )
    assert [row.version for row in details_rows(db)] == [1, 2]
