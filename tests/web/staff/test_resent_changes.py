"""A correction, confirmation or retraction sent again after it published (its answer lost on
a flaky network, a double click, a browser resending the form) answers with what it
published, never with a conflict against its own version; a colleague's newer version
still gets the conflict box. The reviewed form carries a one-time `submission` token, as the
compose form does."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import PendingVersion, UpdateVersion, VersionKind
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.web.staff.conftest import colleague_corrects, email_of, row_counts, sent_fields, sign_in

HTMX = {"HX-Request": "true"}
# What each action's review step is asked with, its form's section and the notice it ends with.
ACTIONS = {
    "corrections": ("correct", "corrected", VersionKind.CORRECTION),
    "confirmation": ("confirm", "confirmed", VersionKind.CONFIRMATION),
    "retraction": ("retract", "retracted", VersionKind.RETRACTION),
}
ALREADY = "Already published: version 2"


@pytest.fixture
def update_id(db: Database, routing: Routing, people: dict[str, int]) -> int:
    """Update 1, version 1: preliminary, so it can be corrected, confirmed and retracted."""
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak", category="Fire"), routing=routing
        )
        draft = Draft(headline="Evacuation", body="Evacuate Elm St now.", preliminary=True)
        return publish_update(session, PIO, created.slug, draft, routing=routing).update.id


def versions(db: Database, update_id: int) -> list[UpdateVersion]:
    with db.read() as session:
        query = select(UpdateVersion).where(UpdateVersion.update_id == update_id)
        return list(session.scalars(query.order_by(UpdateVersion.version)))


def fields_of(page: str, section: str) -> dict[str, str]:
    """What the browser sends from the section's form: inputs (ticked boxes only), textareas."""
    [form] = lxml.html.fromstring(page).xpath(f'//section[@id="{section}"]//form')
    return sent_fields(form)


def reviewed(client: TestClient, update_id: int, path: str, typed: dict[str, str]) -> dict[str, str]:
    """The action's form as the PIO fills it in on the update page, sent to its review step:
    the review step's form, as "Publish" sends it."""
    section = ACTIONS[path][0]
    page = client.get(f"/console/updates/{update_id}").text
    form = {**fields_of(page, section), **typed}
    review = client.post(
        f"/console/updates/{update_id}/{path}",
        data={**form, **({"step": "review"} if path == "corrections" else {})},
        headers=HTMX,
    )
    assert review.status_code == 200, review.text
    sent = fields_of(review.text, section)
    return {**sent, "step": "publish"} if path == "corrections" else sent


TYPED = {
    "corrections": {"body": "Evacuate Oak St now.", "reason": "Wrong street"},
    "confirmation": {"reason": "Verified by the fire service"},
    "retraction": {"reason": "Issued in error"},
}


@pytest.mark.parametrize("path", list(ACTIONS))
def test_a_change_sent_again_after_it_published_answers_with_what_it_published(
    client: TestClient, db: Database, update_id: int, path: str
) -> None:
    """The answer to "Publish" was lost: the page still shows the review step, and the PIO
    clicks again (or the browser sends the form again)."""
    _, notice, kind = ACTIONS[path]
    sign_in(client, email_of("pio"))
    sent = reviewed(client, update_id, path, TYPED[path])
    first = client.post(f"/console/updates/{update_id}/{path}", data=sent, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/console/updates/{update_id}?notice={notice}"
    counts = row_counts(db)

    again = client.post(f"/console/updates/{update_id}/{path}", data=sent, follow_redirects=False)
    assert again.status_code == 303, "not a conflict with its own version"
    assert again.headers["location"] == f"/console/updates/{update_id}?notice={notice}&already=2"
    assert row_counts(db) == counts, "nothing written the second time"
    assert sent.get("submission"), "the review step carries a submission token"
    assert [v.kind for v in versions(db, update_id)] == [VersionKind.ORIGINAL, kind]
    page = html.unescape(client.get(again.headers["location"]).text)
    assert ALREADY in page and "A newer version was published meanwhile" not in page
    assert "Nothing of yours was published" not in page

    # htmx's answer: the same page to go to, not the conflict box swapped in.
    htmx = client.post(f"/console/updates/{update_id}/{path}", data=sent, headers=HTMX)
    assert htmx.status_code == 200 and "conflict" not in htmx.text
    assert htmx.headers["HX-Redirect"] == f"/console/updates/{update_id}?notice={notice}&already=2"
    assert row_counts(db) == counts and len(versions(db, update_id)) == 2


def test_a_correction_sent_twice_through_htmx_answers_the_second_time_with_the_published_version(
    client: TestClient, db: Database, update_id: int
) -> None:
    sign_in(client, email_of("pio"))
    sent = reviewed(client, update_id, "corrections", TYPED["corrections"])
    first = client.post(f"/console/updates/{update_id}/corrections", data=sent, headers=HTMX)
    assert first.headers["HX-Redirect"] == f"/console/updates/{update_id}?notice=corrected"
    again = client.post(f"/console/updates/{update_id}/corrections", data=sent, headers=HTMX)
    assert again.status_code == 200 and "HX-Redirect" in again.headers
    assert [v.body for v in versions(db, update_id)] == ["Evacuate Elm St now.", "Evacuate Oak St now."]
    page = html.unescape(client.get(again.headers["HX-Redirect"]).text)
    assert "Correction published" in page and f"{ALREADY} (correction)" in page


@pytest.mark.parametrize("path", list(ACTIONS))
def test_a_colleagues_newer_version_still_gets_the_conflict_box(
    client: TestClient, console_client: TestClient, db: Database, update_id: int, path: str
) -> None:
    sign_in(client, email_of("pio"))
    sent = reviewed(client, update_id, path, TYPED[path])
    sign_in(console_client, email_of("admin"))
    colleague_corrects(
        console_client,
        update_id,
        headline="Evacuation",
        body="Evacuate Elm St and Pine St now.",
        preliminary="on",
        reason="Pine St too",
    )
    counts = row_counts(db)
    for _ in range(2):  # sent again: still their version, still nothing of mine
        stale = client.post(f"/console/updates/{update_id}/{path}", data=sent, headers=HTMX)
        assert stale.status_code == 409
        text = html.unescape(stale.text)
        assert "A newer version was published meanwhile" in text
        assert "Version 2 (correction) was published by <strong>Admin Person</strong>" in text
        assert "Nothing of yours was published" in text
    assert row_counts(db) == counts
    assert [v.author_name for v in versions(db, update_id)] == ["Test PIO", "Admin Person"]


def test_the_same_pios_other_text_still_gets_the_conflict_box_naming_the_version_as_theirs(
    client: TestClient, db: Database, update_id: int
) -> None:
    """Two reviews from version 1 (two tabs): the first published, the second is a conflict;
    and a reviewed form's token sent with other text is not taken for the first."""
    sign_in(client, email_of("pio"))
    one = reviewed(client, update_id, "corrections", TYPED["corrections"])
    other = reviewed(client, update_id, "corrections", {"body": "Evacuate Ash St now.", "reason": "Ash"})
    assert one.get("submission") != other.get("submission")
    assert client.post(f"/console/updates/{update_id}/corrections", data=one).status_code == 200
    counts = row_counts(db)
    for form in (other, {**one, "body": "Evacuate Ash St now."}):
        stale = client.post(f"/console/updates/{update_id}/corrections", data=form, headers=HTMX)
        assert stale.status_code == 409
        text = html.unescape(stale.text)
        assert "A newer version was published meanwhile" in text
        assert "Version 2 (correction) was published by <strong>you</strong> (Pio Person)" in text
        assert "Nothing of this form was published" in text
        assert ALREADY not in text
    assert row_counts(db) == counts
    assert [v.body for v in versions(db, update_id)] == ["Evacuate Elm St now.", "Evacuate Oak St now."]


def test_a_token_used_for_other_text_on_the_current_version_publishes_nothing(
    client: TestClient, db: Database, update_id: int
) -> None:
    """A reviewed form's token swapped onto other text, aimed at the current version: refused."""
    sign_in(client, email_of("pio"))
    sent = reviewed(client, update_id, "corrections", TYPED["corrections"])
    assert client.post(f"/console/updates/{update_id}/corrections", data=sent).status_code == 200
    counts = row_counts(db)
    swapped = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**sent, "corrects_version": "2", "started_from": "2", "body": "Evacuate Ash St now."},
        headers=HTMX,
    )
    assert swapped.status_code == 409
    assert "already used to publish other text" in html.unescape(swapped.text)
    assert row_counts(db) == counts and len(versions(db, update_id)) == 2


@pytest.fixture
def approving(settings: Settings, people: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, approval_required=APPROVAL_KINDS))) as client:
        yield client


def test_a_change_sent_for_approval_and_sent_again_waits_once(
    approving: TestClient, db: Database, update_id: int
) -> None:
    sign_in(approving, email_of("pio"))
    sent = reviewed(approving, update_id, "corrections", TYPED["corrections"])
    first = approving.post(f"/console/updates/{update_id}/corrections", data=sent, follow_redirects=False)
    assert first.headers["location"] == f"/console/updates/{update_id}?notice=pending_approval"
    counts = row_counts(db)
    again = approving.post(f"/console/updates/{update_id}/corrections", data=sent, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert row_counts(db) == counts
    with db.read() as session:
        assert len(list(session.scalars(select(PendingVersion)))) == 1
    assert len(versions(db, update_id)) == 1
