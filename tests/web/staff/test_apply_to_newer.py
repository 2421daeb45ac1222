"""Issue 13.1: after a conflict, "Apply my changes to the newer version" merges the PIO's edit
onto the colleague's newer text; overlapping changes are shown for the PIO to pick."""

from __future__ import annotations

import lxml.html
import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from tests.conftest import PIO
from tests.web.staff.conftest import colleague_corrects, email_of, row_counts, sign_in
from tests.web.staff.test_publishing import form_fields, versions

HTMX = {"HX-Request": "true"}
BASE = "Shelter at Station 4, 310 Birch St. Bring medication."


@pytest.fixture
def update_id(db: Database, routing: Routing, people: dict[str, int]) -> int:
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak", category="Fire"), routing=routing
        )
        return publish_update(session, PIO, created.slug, Draft(body=BASE), routing=routing).update.id


def conflict_after_colleague(
    client: TestClient, console_client: TestClient, update_id: int, *, theirs: str, mine: str
) -> str:
    """B (client) opens the form on version 1; A (console_client) publishes version 2; B's
    review is refused with the conflict box. Returns the conflict page."""
    sign_in(client, email_of("pio"))
    sign_in(console_client, email_of("admin"))
    my_form = form_fields(client.get(f"/console/updates/{update_id}").text, "correct-form")
    colleague_corrects(console_client, update_id, body=theirs, reason="Shelter moved")
    conflict = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**my_form, "body": mine, "reason": "Added hours", "step": "review"},
        headers=HTMX,
    )
    assert conflict.status_code == 409
    return conflict.text


def test_the_conflict_shows_three_texts_and_offers_to_apply_my_changes(
    client: TestClient, console_client: TestClient, update_id: int
) -> None:
    page = conflict_after_colleague(
        client,
        console_client,
        update_id,
        theirs="Shelter at Fire Station 7, 55 Cedar St. Bring medication.",
        mine="Shelter at Station 4, 310 Birch St. Open until 6 am. Bring medication.",
    )
    [three] = lxml.html.fromstring(page).xpath("//*[@data-testid='three-texts']")
    columns = [" ".join(column.text_content().split()) for column in three.xpath("./div")]
    assert columns[0].startswith("Newer: version 2 By Admin Person at ")
    assert "Reason: Shelter moved" in columns[0] and "Fire Station 7, 55 Cedar St." in columns[0]
    assert columns[1] == f"You started from version 1 {BASE}"
    assert columns[2] == "Your edit Shelter at Station 4, 310 Birch St. Open until 6 am. Bring medication."
    assert "Apply my changes to the newer version" in page


def test_edits_to_different_sentences_are_merged_and_go_to_review(
    client: TestClient, console_client: TestClient, db: Database, update_id: int
) -> None:
    page = conflict_after_colleague(
        client,
        console_client,
        update_id,
        theirs="Shelter at Fire Station 7, 55 Cedar St. Bring medication.",
        mine="Shelter at Station 4, 310 Birch St. Bring medication and ID.",
    )
    form = form_fields(page, "correct-form")
    merged = client.post(
        f"/console/updates/{update_id}/corrections", data={**form, "step": "merge"}, headers=HTMX
    )
    assert merged.status_code == 200 and "Check the correction before publishing" in merged.text
    reviewed = form_fields(merged.text, "correct-form")
    assert reviewed["body"] == "Shelter at Fire Station 7, 55 Cedar St. Bring medication and ID."
    assert (reviewed["corrects_version"], reviewed["reason"]) == ("2", "Added hours")
    assert 'data-testid="reverts"' not in merged.text, "the merge keeps the colleague's change"
    done = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**reviewed, "step": "publish"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert (
        versions(db, update_id)[-1].body == "Shelter at Fire Station 7, 55 Cedar St. Bring medication and ID."
    )


def test_overlapping_edits_are_shown_as_choices_and_never_picked_for_the_pio(
    client: TestClient, console_client: TestClient, db: Database, update_id: int
) -> None:
    page = conflict_after_colleague(
        client,
        console_client,
        update_id,
        theirs="Shelter at Fire Station 7, 55 Cedar St. Bring medication.",
        mine="Shelter at Station 5, 310 Birch St. Bring medication and water.",
    )
    form = form_fields(page, "correct-form")
    choosing = client.post(
        f"/console/updates/{update_id}/corrections", data={**form, "step": "merge"}, headers=HTMX
    )
    assert choosing.status_code == 200
    tree = lxml.html.fromstring(choosing.text)
    [choice] = tree.xpath("//*[@data-testid='choice']")
    said = " ".join(choice.text_content().split())
    assert "Admin Person's (version 2): “Fire Station 7, 55 Cedar”" in said
    assert "Yours: “Station 5, 310 Birch”" in said
    assert not choice.xpath(".//input[@checked]"), "nothing is picked for the PIO"
    assert "and water." in tree.xpath("//*[@data-testid='merge']")[0].text_content(), "the rest is merged"

    before = row_counts(db)
    # What the browser sends with no radio button chosen (form_fields reads every input).
    unpicked = {
        k: v for k, v in form_fields(choosing.text, "correct-form").items() if not k.startswith("pick_")
    }
    assert unpicked["choosing"] == "yes"
    refused = client.post(
        f"/console/updates/{update_id}/corrections", data={**unpicked, "step": "merge"}, headers=HTMX
    )
    assert refused.status_code == 422 and "nothing is chosen for you" in refused.text
    assert row_counts(db) == before

    picked = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**unpicked, "pick_0": "theirs", "step": "merge"},
        headers=HTMX,
    )
    assert picked.status_code == 200 and "Check the correction before publishing" in picked.text
    assert form_fields(picked.text, "correct-form")["body"] == (
        "Shelter at Fire Station 7, 55 Cedar St. Bring medication and water."
    )

    # Picking one's own side against the colleague's change is named as a revert at review.
    mine = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**unpicked, "pick_0": "mine", "step": "merge"},
        headers=HTMX,
    )
    assert mine.status_code == 200
    assert (
        form_fields(mine.text, "correct-form")["body"]
        == "Shelter at Station 5, 310 Birch St. Bring medication and water."
    )
    assert 'data-testid="reverts"' in mine.text
