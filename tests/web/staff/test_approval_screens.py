"""Two-person approval in the console (issue 18): the compose and correction forms send for
approval, the pending version is on every PIO's dashboard, another PIO or admin approves or
returns it there, and an emergency bypass is published at once and shown to every PIO."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.media import file_view
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.media_models import MediaFile
from console.models import PendingVersion, UpdateVersion
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.support.images import png
from tests.support.media import store_upload
from tests.web.staff.conftest import email_of, sent_fields, sign_in


@pytest.fixture
def approving(settings: Settings) -> Settings:
    return replace(settings, approval_required=APPROVAL_KINDS)


@pytest.fixture
def author(approving: Settings, people: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(approving)) as client:
        yield client


@pytest.fixture
def approver(approving: Settings, people: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(approving)) as client:
        yield client


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        return create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)[0].slug


def published_bodies(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(UpdateVersion.body).order_by(UpdateVersion.id)))


def pending_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="pending" id="pending-(\d+)"', page)]


def test_a_console_publish_waits_and_another_pio_approves_it_on_the_dashboard(
    author: TestClient, approver: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(author, email_of("pio"))
    review = author.post(
        f"/console/incidents/{incident}/updates",
        data={"body": "Leave Elm St now.", "step": "review", "csrf_token": token},
    )
    assert "Send for approval" in review.text and 'name="bypass_approval"' in review.text
    sent = author.post(
        f"/console/incidents/{incident}/updates",
        data={"body": "Leave Elm St now.", "step": "publish", "csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"/console/incidents/{incident}?notice=pending_approval"
    assert published_bodies(db) == []

    own = author.get("/console").text
    [pending_id] = pending_ids(own)
    assert "Yours: another PIO or an admin approves it." in own
    assert f'action="/console/pending/{pending_id}/approval"' not in own
    refused = author.post(
        f"/console/pending/{pending_id}/approval",
        data={"decision": "approve", "version": "1", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert published_bodies(db) == []

    admin_token = sign_in(approver, email_of("admin"))
    polled = approver.get("/console/incidents").text  # the list the dashboard polls
    assert pending_ids(polled) == [pending_id] and "Leave Elm St now." in polled
    assert f'action="/console/pending/{pending_id}/approval"' in polled
    approved = approver.post(
        f"/console/pending/{pending_id}/approval",
        data={"decision": "approve", "version": "1", "csrf_token": admin_token},
        follow_redirects=False,
    )
    assert approved.status_code == 303 and approved.headers["location"] == "/console?notice=approved"
    assert published_bodies(db) == ["Leave Elm St now."]
    with db.read() as session:
        version = session.scalars(select(UpdateVersion)).one()
        assert version.author_name == "Pio Person"
    assert pending_ids(approver.get("/console").text) == []


def test_a_returned_version_shows_its_comment_to_the_author(
    author: TestClient, approver: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(author, email_of("pio"))
    author.post(
        f"/console/incidents/{incident}/updates",
        data={"body": "Shelter in place.", "step": "publish", "csrf_token": token},
    )
    with db.read() as session:
        pending_id = session.scalars(select(PendingVersion.id)).one()
    admin_token = sign_in(approver, email_of("admin"))
    returned = approver.post(
        f"/console/pending/{pending_id}/approval",
        data={
            "decision": "return",
            "version": "1",
            "comment": "Say which streets.",
            "csrf_token": admin_token,
        },
        follow_redirects=False,
    )
    assert returned.headers["location"] == "/console?notice=returned"
    dashboard = author.get("/console").text
    assert "Returned to you" in dashboard
    assert "Say which streets." in html.unescape(dashboard)
    screen = html.unescape(author.get(f"/console/incidents/{incident}").text)
    assert "Returned by Admin Person: “Say which streets.”" in screen.replace("<q>", "“").replace("</q>", "”")
    assert published_bodies(db) == []


def test_an_emergency_bypass_is_published_at_once_and_shown_to_every_pio(
    author: TestClient, approver: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(author, email_of("pio"))
    form = {"body": "Evacuate now.", "step": "publish", "csrf_token": token, "bypass_approval": "yes"}
    blank = author.post(f"/console/incidents/{incident}/updates", data={**form, "bypass_reason": " "})
    assert blank.status_code == 422 and published_bodies(db) == []
    done = author.post(
        f"/console/incidents/{incident}/updates",
        data={**form, "bypass_reason": "Gas cloud moving"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "notice=published" in done.headers["location"]
    assert published_bodies(db) == ["Evacuate now."]
    sign_in(approver, email_of("admin"))
    marked = "published without approval: Gas cloud moving"
    assert marked in approver.get("/console").text
    assert marked in approver.get(f"/console/incidents/{incident}").text
    with db.read() as session:
        update_id = session.scalars(select(UpdateVersion.update_id)).one()
    assert marked in approver.get(f"/console/updates/{update_id}").text
    assert marked in approver.get("/console/audit").text


def test_a_console_correction_waits_for_approval(
    author: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Road closed."), routing=routing
        ).update.id
    token = sign_in(author, email_of("pio"))
    form = {
        "body": "Road closed both ways.",
        "reason": "both ways",
        "corrects_version": "1",
        "csrf_token": token,
    }
    review = author.post(f"/console/updates/{update_id}/corrections", data={**form, "step": "review"})
    assert 'name="bypass_approval"' in review.text
    sent = author.post(
        f"/console/updates/{update_id}/corrections", data={**form, "step": "publish"}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/console/updates/{update_id}?notice=pending_approval"
    assert published_bodies(db) == ["Road closed."]
    with db.read() as session:
        pending = session.scalars(select(PendingVersion)).one()
        assert (pending.kind, pending.corrects_version, pending.body) == (
            "correction",
            1,
            "Road closed both ways.",
        )


def test_a_console_all_clear_waits_for_approval(author: TestClient, db: Database, incident: str) -> None:
    token = sign_in(author, email_of("pio"))
    form = {"message": "All clear: open.", "confirmed": "yes", "csrf_token": token}
    sent = author.post(f"/console/incidents/{incident}/resolve", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"/console/incidents/{incident}?notice=pending_approval"
    assert published_bodies(db) == []
    with db.read() as session:
        assert session.scalars(select(PendingVersion.kind)).one() == "resolution"


def test_the_approver_sees_the_previews_and_the_diff_of_a_pending_correction(
    author: TestClient, approver: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Road closed."), routing=routing
        ).update.id
    token = sign_in(author, email_of("pio"))
    form = {
        "body": "Road closed both ways.",
        "reason": "both ways",
        "corrects_version": "1",
        "csrf_token": token,
    }
    author.post(f"/console/updates/{update_id}/corrections", data={**form, "step": "publish"})
    with db.read() as session:
        pending_id = session.scalars(select(PendingVersion.id)).one()
    sign_in(approver, email_of("admin"))
    assert f'href="/console/pending/{pending_id}"' in approver.get("/console").text
    page = approver.get(f"/console/pending/{pending_id}")
    assert page.status_code == 200, page.text
    assert "Road closed<ins> both ways</ins>." in page.text  # the word diff from version 1
    assert 'class="post-text">CORRECTION: ' in page.text  # the post as it will go out
    assert f'action="/console/pending/{pending_id}/approval"' in page.text
    own = author.get(f"/console/pending/{pending_id}").text
    assert "Yours: another PIO or an admin approves it." in own
    assert f'action="/console/pending/{pending_id}/approval"' not in own
    assert approver.get("/console/pending/999999").status_code == 404


def test_alert_details_and_an_image_wait_with_a_console_publish_and_the_approver_sees_them(
    author: TestClient, approver: TestClient, approving: Settings, db: Database, incident: str
) -> None:
    token = sign_in(author, email_of("pio"))
    image_id, _ = store_upload(db, approving, png(), "image/png")
    with db.read() as session:
        image = {"id": image_id, **file_view(session.get(MediaFile, image_id))}
    form = {
        "body": "Leave Elm St now.",
        "instruction": "Go north on Oak St.",
        "cap_urgency": "Immediate",
        "media_id": str(image["id"]),
        "media_url": image["url"],
        "media_alt": "Map of the closed block",
        "csrf_token": token,
    }
    sent = author.post(
        f"/console/incidents/{incident}/updates", data={**form, "step": "publish"}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    assert published_bodies(db) == []
    with db.read() as session:
        pending_id = session.scalars(select(PendingVersion.id)).one()

    admin_token = sign_in(approver, email_of("admin"))
    page = html.unescape(approver.get(f"/console/pending/{pending_id}").text)
    assert "<dt>What people should do</dt><dd>Go north on Oak St.</dd>" in page
    assert "<dt>Urgency</dt><dd>Immediate</dd>" in page
    assert f'<img src="{image["url"]}" alt="Map of the closed block"' in page
    approved = approver.post(
        f"/console/pending/{pending_id}/approval",
        data={"decision": "approve", "version": "1", "csrf_token": admin_token},
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    with db.read() as session:
        version = session.scalars(select(UpdateVersion)).one()
        assert json.loads(version.alerting or "{}") == {
            "cap": {"urgency": "Immediate"},
            "instruction": "Go north on Oak St.",
        }
        assert [(item.media_id, item.alt) for item in version.media] == [
            (image["id"], "Map of the closed block")
        ]


HTMX = {"HX-Request": "true"}


def form_fields(page: str, block: str) -> dict[str, str]:
    """What a browser would send from the form in the answer's block of id `block`."""
    [form] = lxml.html.fromstring(page).xpath(f"//*[@id='{block}']//form")
    return sent_fields(form)


def bypass_refused_in_review(page: str, prefix: str, typed: str) -> None:
    """The review step again, the tick and the typed reason kept, the problem beside the field
    and in the block's message."""
    tree = lxml.html.fromstring(page)
    [box] = tree.xpath(f"//*[@id='{prefix}bypass-approval']")
    assert box.get("checked") is not None
    [reason] = tree.xpath(f"//*[@id='{prefix}bypass-reason']")
    assert reason.get("value", "") == typed and reason.get("aria-invalid") == "true"
    [error] = tree.xpath(f"//*[@id='{prefix}bypass-reason-error']")
    assert "is required" in error.text_content() or "the limit is" in error.text_content()
    assert reason.get("aria-describedby") == f"{prefix}bypass-reason-error"
    [message] = tree.xpath("//*[@role='alert']")
    assert "publishing without approval" in message.text_content()


def test_a_correction_published_without_approval_and_without_a_reason_stays_on_its_review(
    author: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Road closed."), routing=routing
        ).update.id
    token = sign_in(author, email_of("pio"))
    form = {"body": "Road closed both ways.", "reason": "both ways", "corrects_version": "1"}
    review = author.post(
        f"/console/updates/{update_id}/corrections",
        data={**form, "step": "review", "csrf_token": token},
        headers=HTMX,
    )
    sent = {**form_fields(review.text, "correct"), "step": "publish", "bypass_approval": "yes"}
    for typed in (" ", "x" * 1001):
        refused = author.post(
            f"/console/updates/{update_id}/corrections", data={**sent, "bypass_reason": typed}, headers=HTMX
        )
        assert refused.status_code == 422
        assert "Check the correction before publishing" in refused.text
        bypass_refused_in_review(refused.text, "correct-", typed)
        assert published_bodies(db) == ["Road closed."]
        with db.read() as session:
            assert session.scalars(select(PendingVersion)).all() == []
    again = {**form_fields(refused.text, "correct"), "step": "publish", "bypass_reason": "Bridge failing"}
    done = author.post(f"/console/updates/{update_id}/corrections", data=again, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert published_bodies(db) == ["Road closed.", "Road closed both ways."]


def test_a_retraction_published_without_approval_and_without_a_reason_stays_on_its_review(
    author: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Road closed."), routing=routing
        ).update.id
    token = sign_in(author, email_of("pio"))
    review = author.post(
        f"/console/updates/{update_id}/retraction",
        data={"reason": "Wrong road", "corrects_version": "1", "csrf_token": token},
        headers=HTMX,
    )
    sent = {**form_fields(review.text, "retract"), "bypass_approval": "yes", "bypass_reason": ""}
    refused = author.post(f"/console/updates/{update_id}/retraction", data=sent, headers=HTMX)
    assert refused.status_code == 422
    assert "Retract update 1?" in refused.text and "Wrong road" in refused.text
    bypass_refused_in_review(refused.text, "retract-", "")
    with db.read() as session:
        assert session.scalars(select(PendingVersion)).all() == []
        assert len(session.scalars(select(UpdateVersion)).all()) == 1


def test_an_all_clear_published_without_approval_and_without_a_reason_keeps_the_resolve_step(
    author: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(author, email_of("pio"))
    form = {"message": "All clear: open.", "confirmed": "yes", "csrf_token": token, "bypass_approval": "yes"}
    refused = author.post(
        f"/console/incidents/{incident}/resolve", data={**form, "bypass_reason": " "}, headers=HTMX
    )
    assert refused.status_code == 422
    assert "All clear: open." in refused.text
    bypass_refused_in_review(refused.text, "resolve-", " ")
    assert published_bodies(db) == []
    with db.read() as session:
        assert session.scalars(select(PendingVersion)).all() == []


def test_pending_and_bypassed_updates_are_named_by_their_number_in_their_incident(
    author: TestClient, approver: TestClient, db: Database, routing: Routing
) -> None:
    with db.write() as session:
        first = create_incident(session, PIO, IncidentDraft(title="Flood A"), routing=routing)[0].slug
        second = create_incident(session, PIO, IncidentDraft(title="Flood B"), routing=routing)[0].slug
        for body in ("One.", "Two.", "Three."):
            publish_update(session, PIO, first, Draft(body=body), routing=routing)
        update_id, other_id = (
            publish_update(session, PIO, second, Draft(body=body), routing=routing).update.id
            for body in ("Road closed.", "Bridge shut.")
        )
    assert (update_id, other_id) != (1, 2)  # their database ids are not their numbers in Flood B
    token = sign_in(author, email_of("pio"))
    form = {"reason": "both ways", "corrects_version": "1", "step": "publish", "csrf_token": token}
    author.post(f"/console/updates/{update_id}/corrections", data={**form, "body": "Road closed both ways."})
    bypassed = author.post(
        f"/console/updates/{other_id}/corrections",
        data={**form, "body": "Bridge shut both ways.", "bypass_approval": "yes", "bypass_reason": "Urgent"},
        follow_redirects=False,
    )
    assert bypassed.status_code == 303, bypassed.text
    with db.read() as session:
        pending_id = session.scalars(select(PendingVersion.id)).one()

    sign_in(approver, email_of("admin"))
    pending = lxml.html.fromstring(approver.get(f"/console/pending/{pending_id}").text)
    [said] = pending.xpath("//p[starts-with(normalize-space(), 'On ')]")
    assert said.text_content().split(",")[0] == "On update 1 of Flood B"
    links = {link.text_content(): link.get("href") for link in said.xpath(".//a")}
    assert links == {"update 1": f"/console/updates/{update_id}", "Flood B": f"/console/incidents/{second}"}

    dashboard = lxml.html.fromstring(approver.get("/console").text)
    [line] = dashboard.xpath("//li[@class='bypassed']")
    assert line.text_content().startswith("Update 2 of Flood B, version 2, by ")
    links = {link.text_content(): link.get("href") for link in line.xpath(".//a")}
    assert links == {"Update 2": f"/console/updates/{other_id}", "Flood B": f"/console/incidents/{second}"}
    [waiting] = dashboard.xpath(f"//*[@id='pending-{pending_id}']/p[1]")
    assert "on update 1 of Flood B" in " ".join(waiting.text_content().split())


def _waiting(author: TestClient, db: Database, incident: str) -> int:
    token = sign_in(author, email_of("pio"))
    sent = author.post(
        f"/console/incidents/{incident}/updates",
        data={"body": "Leave Elm St now.", "step": "publish", "csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    with db.read() as session:
        return session.scalars(select(PendingVersion.id)).one()


def test_approve_clicked_twice_lands_on_approved_not_on_an_error(
    author: TestClient, approver: TestClient, db: Database, incident: str
) -> None:
    pending_id = _waiting(author, db, incident)
    sign_in(approver, email_of("admin"))
    [form] = lxml.html.fromstring(approver.get(f"/console/pending/{pending_id}").text).xpath(
        f'//form[@action="/console/pending/{pending_id}/approval"]'
    )
    sent = {**sent_fields(form), "decision": "approve"}
    first = approver.post(f"/console/pending/{pending_id}/approval", data=sent, follow_redirects=False)
    second = approver.post(f"/console/pending/{pending_id}/approval", data=sent, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert second.headers["location"] == "/console?notice=approved"
    assert published_bodies(db) == ["Leave Elm St now."]
    # Another approver (or another decision) after it is still told it was decided already.
    returned = approver.post(
        f"/console/pending/{pending_id}/approval", data={**sent, "decision": "return"}, follow_redirects=False
    )
    assert returned.status_code == 409 and "already approved" in returned.text


def test_a_refused_decision_keeps_the_comment_typed(
    author: TestClient, approver: TestClient, db: Database, incident: str
) -> None:
    pending_id = _waiting(author, db, incident)
    token = sign_in(approver, email_of("admin"))
    comment = "Name the streets: " + "Elm St, " * 200
    refused = approver.post(
        f"/console/pending/{pending_id}/approval",
        data={"decision": "return", "version": "1", "comment": comment, "csrf_token": token},
    )
    assert refused.status_code == 422
    tree = lxml.html.fromstring(refused.text)
    [form] = tree.xpath(f'//form[@action="/console/pending/{pending_id}/approval"]')
    [field] = form.xpath(".//*[@name='comment']")
    assert (field.get("value") or field.text) == comment  # to shorten, not to type again
    assert field.get("aria-invalid") == "true"
    assert "the limit is 1,000" in form.text_content()
    assert "Leave Elm St now." in refused.text  # the pending version's screen, still to decide on
