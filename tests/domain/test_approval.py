"""Two-person approval (issue 18): with APPROVAL_REQUIRED a PIO's publish waits as a pending
version (202) until another PIO or an admin approves it, which publishes it exactly as a direct
publish would, or returns it with a comment; the author may bypass approval with a reason."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.integrity import verify
from console.feeds.paths import cap_message
from console.models import STAFF_EVENT_TYPES, AuditEvent, OutboxEvent, PendingVersion, UpdateVersion
from console.settings import APPROVAL_KINDS, Settings, SettingsError
from console.web.app import create_app
from tests.domain.test_details_translations import page_once
from tests.feeds.conftest import CAP_NS, DATA, render, valid_cap
from tests.support.factories import bearer, make_token
from tests.support.images import png

NS = {"cap": CAP_NS}


def text(element: etree._Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


def app(settings: Settings, required: tuple[str, ...]) -> TestClient:
    return TestClient(create_app(replace(settings, approval_required=required, live_poll_seconds=0.05)))


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    with app(settings, APPROVAL_KINDS) as client:
        yield client


@pytest.fixture
def author(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def approver(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", email="second@example.org", name="Robin Lee"))


def new_incident(web: TestClient, headers: dict[str, str]) -> str:
    created = web.post("/api/v1/incidents", json={"title": "Gas leak"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["slug"])


def counts(db: Database) -> tuple[int, int, int]:
    """Public outbox events, versions and pending versions. The approvers' emails are staff-only
    events, counted in tests/domain/test_approver_notices.py."""
    public_events = select(func.count()).where(OutboxEvent.type.not_in(STAFF_EVENT_TYPES))
    with db.read() as session:
        return (
            session.scalar(public_events) or 0,
            session.scalar(select(func.count()).select_from(UpdateVersion)) or 0,
            session.scalar(select(func.count()).select_from(PendingVersion)) or 0,
        )


def actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def audit_data(db: Database, action: str) -> dict[str, Any]:
    with db.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()
        data: dict[str, Any] = json.loads(event.data)
        return data


def decide(web: TestClient, headers: dict[str, str], pending_id: int, **body: Any) -> Any:
    return web.post(f"/api/v1/updates/{pending_id}/approval", json=body, headers=headers)


def test_a_publish_waits_for_a_second_person_who_approves_it(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    before = counts(db)
    waiting = web.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "Leave the area now."}, headers=author
    )
    assert waiting.status_code == 202, waiting.text
    body = waiting.json()
    assert (body["status"], body["version"], body["author"], body["update_id"]) == (
        "pending",
        1,
        "Casey Park",
        None,
    )
    assert counts(db) == (before[0], before[1], before[2] + 1)  # no event, no version
    time.sleep(0.2)  # several live polls: the page would have changed by now
    assert "Leave the area now." not in web.get(f"/incidents/{slug}").text

    own = decide(web, author, body["id"], version=1, decision="approve")
    assert own.status_code == 403, own.text
    assert counts(db) == (before[0], before[1], before[2] + 1)

    approved = decide(web, approver, body["id"], version=1, decision="approve")
    assert approved.status_code == 200, approved.text
    answer = approved.json()
    assert answer["status"] == "approved" and answer["decided_by"] == "Robin Lee"
    published = answer["published"]
    assert (published["author"], published["version"], published["body"]) == (
        "Casey Park",
        1,
        "Leave the area now.",
    )
    assert counts(db) == (before[0] + 1, before[1] + 1, before[2] + 1)
    page_once(web, f"/incidents/{slug}", "Leave the area now.")
    assert actions(db)[-3:] == ["version.submitted", "version.published", "version.approved"]
    assert audit_data(db, "version.published")["approval"]["pending_id"] == body["id"]
    assert audit_data(db, "version.approved")["update_id"] == published["id"]
    with db.read() as session:
        assert verify(session).ok

    again = decide(web, approver, body["id"], version=1, decision="approve")
    assert again.status_code == 409  # decided once
    assert counts(db)[0] == before[0] + 1


def test_a_returned_version_is_not_published_and_goes_back_with_the_comment(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    before = counts(db)
    pending = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter."}, headers=author).json()
    returned = decide(web, approver, pending["id"], version=1, decision="return", comment="Say where.")
    assert returned.status_code == 200, returned.text
    assert (returned.json()["status"], returned.json()["comment"], returned.json()["published"]) == (
        "returned",
        "Say where.",
        None,
    )
    assert counts(db)[:2] == before[:2]
    assert "version.returned" in actions(db)
    assert decide(web, approver, pending["id"], version=1, decision="approve").status_code == 409


def test_a_bypass_publishes_at_once_and_is_marked_in_the_audit_chain(
    web: TestClient, db: Database, author: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    before = counts(db)
    published = web.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Evacuate Elm St.", "bypass_approval": "Gas cloud moving, no second PIO on duty"},
        headers=author,
    )
    assert published.status_code == 201, published.text
    assert counts(db) == (before[0] + 1, before[1] + 1, before[2])
    bypass = audit_data(db, "version.bypassed_approval")
    assert (bypass["update_id"], bypass["version"], bypass["reason"]) == (
        published.json()["id"],
        1,
        "Gas cloud moving, no second PIO on duty",
    )
    page_once(web, f"/incidents/{slug}", "Evacuate Elm St.")
    blank = web.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "x", "bypass_approval": "  "}, headers=author
    )
    assert blank.status_code == 422, blank.text
    assert "bypass_approval" in blank.json()["error"]["fields"]
    assert counts(db) == (before[0] + 1, before[1] + 1, before[2])


def test_approving_a_correction_of_a_version_no_longer_current_is_a_conflict(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    first = web.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Road closed.", "bypass_approval": "urgent"},
        headers=author,
    ).json()
    correcting = {"body": "Road closed both ways.", "reason": "both ways", "corrects_version": 1}
    stale = web.post(f"/api/v1/updates/{first['id']}/corrections", json=correcting, headers=author)
    assert stale.status_code == 202, stale.text
    assert (stale.json()["version"], stale.json()["update_id"], stale.json()["kind"]) == (
        2,
        first["id"],
        "correction",
    )
    newer = {**correcting, "body": "Road open again.", "bypass_approval": "urgent"}
    assert (
        web.post(f"/api/v1/updates/{first['id']}/corrections", json=newer, headers=approver).status_code
        == 201
    )
    before = counts(db)
    conflict = decide(web, approver, stale.json()["id"], version=2, decision="approve")
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["current_version"] == 2
    assert counts(db) == before
    with db.read() as session:
        assert session.get(PendingVersion, stale.json()["id"]).state == "pending"  # type: ignore[union-attr]


def test_a_retraction_waits_and_is_published_when_approved(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    first = web.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Boil water.", "bypass_approval": "urgent"},
        headers=author,
    ).json()
    pending = web.post(
        f"/api/v1/updates/{first['id']}/retraction",
        json={"reason": "wrong area", "corrects_version": 1},
        headers=author,
    )
    assert pending.status_code == 202, pending.text
    assert web.get(f"/api/v1/updates/{first['id']}").json()["versions"][-1]["kind"] == "original"
    approved = decide(web, approver, pending.json()["id"], version=2, decision="approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["published"]["kind"] == "retraction"
    assert approved.json()["published"]["reason"] == "wrong area"


def test_without_approval_publishing_is_unchanged(
    settings: Settings, db: Database, author: dict[str, str]
) -> None:
    with app(settings, ()) as web:
        slug = new_incident(web, author)
        published = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Clear."}, headers=author)
        assert published.status_code == 201, published.text
        assert counts(db)[2] == 0
        assert decide(web, author, 1, version=1, decision="approve").status_code == 404


def test_a_bad_bypass_reason_is_refused_even_when_approval_is_off(
    settings: Settings, db: Database, author: dict[str, str]
) -> None:
    with app(settings, ()) as web:
        slug = new_incident(web, author)
        before = counts(db)
        for reason in ("  ", "urgent\x0f", "x" * 5000):
            refused = web.post(
                f"/api/v1/incidents/{slug}/updates",
                json={"body": "Clear.", "bypass_approval": reason},
                headers=author,
            )
            assert refused.status_code == 422, refused.text
            assert "bypass_approval" in refused.json()["error"]["fields"]
            resolve = web.post(
                f"/api/v1/incidents/{slug}/resolve",
                json={"message": "All clear.", "bypass_approval": reason},
                headers=author,
            )
            assert resolve.status_code == 422 and "bypass_approval" in resolve.json()["error"]["fields"]
        assert counts(db) == before
        ignored = web.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"body": "Clear.", "bypass_approval": "urgent"},
            headers=author,
        )
        assert ignored.status_code == 201, ignored.text  # nothing to bypass: published as usual


def test_approval_for_corrections_only(settings: Settings, db: Database, author: dict[str, str]) -> None:
    with app(settings, ("correction",)) as web:
        slug = new_incident(web, author)
        first = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Clear."}, headers=author)
        assert first.status_code == 201, first.text
        base = f"/api/v1/updates/{first.json()['id']}"
        fix = {"body": "All clear.", "reason": "wording", "corrects_version": 1}
        assert web.post(f"{base}/corrections", json=fix, headers=author).status_code == 202
        retraction = {"reason": "wrong", "corrects_version": 1}
        assert web.post(f"{base}/retraction", json=retraction, headers=author).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1},
        {"version": 1, "decision": "maybe"},
        {"decision": "approve"},
        {"version": "1", "decision": "approve"},
        {"version": 2, "decision": "approve"},
        {"version": 1, "decision": "approve", "extra": True},
        {"version": 1, "decision": "return", "comment": 5},
    ],
)
def test_a_bad_decision_is_refused_with_nothing_written(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str], body: dict[str, Any]
) -> None:
    slug = new_incident(web, author)
    pending = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter."}, headers=author).json()
    before, audited = counts(db), len(actions(db))
    refused = decide(web, approver, pending["id"], **body)
    assert refused.status_code == 422, refused.text
    assert counts(db) == before and len(actions(db)) == audited


def test_a_bad_publish_is_refused_before_it_waits(
    web: TestClient, db: Database, author: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    before = counts(db)
    assert (
        web.post(f"/api/v1/incidents/{slug}/updates", json={"body": " "}, headers=author).status_code == 422
    )
    assert (
        web.post(
            f"/api/v1/incidents/{slug}/updates", json={"body": "x", "bypass_approval": 3}, headers=author
        ).status_code
        == 422
    )
    assert counts(db) == before


def test_the_setting_names_known_kinds_only() -> None:
    assert Settings.from_environ({"APPROVAL_REQUIRED": "true"}).approval_required == APPROVAL_KINDS
    assert Settings.from_environ({"APPROVAL_REQUIRED": "false"}).approval_required == ()
    assert Settings.from_environ({"APPROVAL_REQUIRED": "Correction, retraction"}).approval_required == (
        "correction",
        "retraction",
    )
    with pytest.raises(SettingsError):
        Settings.from_environ({"APPROVAL_REQUIRED": "confirmation"})


def test_an_all_clear_waits_and_resolves_the_incident_when_approved(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    before = counts(db)
    pending = web.post(
        f"/api/v1/incidents/{slug}/resolve", json={"message": "All clear: open."}, headers=author
    )
    assert pending.status_code == 202, pending.text
    assert (pending.json()["kind"], pending.json()["version"]) == ("resolution", 1)
    assert counts(db)[:2] == before[:2]
    assert web.get(f"/api/v1/incidents/{slug}").json()["status"] == "active"
    approved = decide(web, approver, pending.json()["id"], version=1, decision="approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["published"]["kind"] == "resolution"
    assert web.get(f"/api/v1/incidents/{slug}").json()["status"] == "resolved"


def test_a_publish_sent_again_with_its_idempotency_key_waits_once(
    web: TestClient, db: Database, author: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    before = counts(db)
    headers = {**author, "Idempotency-Key": "approval-once"}
    first = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter."}, headers=headers)
    again = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter."}, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert counts(db) == (before[0], before[1], before[2] + 1)


def test_a_reviewer_cannot_decide(web: TestClient, db: Database, author: dict[str, str]) -> None:
    reviewer = bearer(make_token(db, "reviewer", name="Rae Viewer"))
    slug = new_incident(web, author)
    pending = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter."}, headers=author).json()
    assert decide(web, reviewer, pending["id"], version=1, decision="approve").status_code == 403
    assert counts(db)[1] == 0


def test_alerting_fields_images_and_translated_words_wait_with_the_version_and_go_out_when_approved(
    settings: Settings,
    db: Database,
    author: dict[str, str],
    approver: dict[str, str],
) -> None:
    """Nothing the author sent is dropped while it waits: CAP fields, instruction, WEA texts,
    images with alt text, and each translation's instruction, WEA texts and alt text."""
    bilingual = replace(settings, languages=("en", "es"))
    with app(bilingual, APPROVAL_KINDS) as web:
        slug = new_incident(web, author)
        photo = web.post("/api/v1/media", files={"file": ("f", png(), "image/png")}, headers=author)
        assert photo.status_code == 201, photo.text
        photo_id = photo.json()["id"]
        sent = {
            "body": "Leave the area by Oak St.",
            "cap": {"urgency": "Immediate", "severity": "Severe", "response_types": ["Evacuate"]},
            "instruction": "Leave by Oak St now.",
            "wea": {"short": "Gas leak: leave by Oak St now."},
            "media": [{"id": photo_id, "alt": "Map of the closed streets"}],
            "translations": [
                {
                    "lang": "es",
                    "body": "Salgan de la zona por Oak St.",
                    "instruction": "Salgan por Oak St ahora.",
                    "wea": {"short": "Fuga de gas: salgan por Oak St."},
                    "media_alt": ["Mapa de las calles cerradas"],
                }
            ],
        }
        waiting = web.post(f"/api/v1/incidents/{slug}/updates", json=sent, headers=author)
        assert waiting.status_code == 202, waiting.text
        pending = waiting.json()
        assert (pending["cap"], pending["instruction"], pending["wea"]) == (
            sent["cap"],
            sent["instruction"],
            sent["wea"],
        )
        assert pending["media"] == sent["media"]
        spanish = pending["translations"][0]
        assert (spanish["instruction"], spanish["wea"], spanish["media_alt"]) == (
            "Salgan por Oak St ahora.",
            {"short": "Fuga de gas: salgan por Oak St."},
            ["Mapa de las calles cerradas"],
        )
        assert counts(db)[1] == 0  # nothing published while it waits

        approved = decide(web, approver, pending["id"], version=1, decision="approve")
        assert approved.status_code == 200, approved.text
        published = approved.json()["published"]
        assert (published["cap"], published["instruction"], published["wea"]) == (
            sent["cap"],
            sent["instruction"],
            sent["wea"],
        )
        assert [(image["id"], image["alt"]) for image in published["media"]] == [
            (photo_id, "Map of the closed streets")
        ]
        record = web.get(f"/api/v1/updates/{published['id']}", headers=author).json()
        translation = record["versions"][0]["translations"][0]
        assert (translation["instruction"], translation["media_alt"]) == (
            "Salgan por Oak St ahora.",
            ["Mapa de las calles cerradas"],
        )
        schema = etree.XMLSchema(etree.parse(str(DATA / "CAP-v1.2.xsd")))
        cap = valid_cap(schema, render(bilingual, db, cap_message(slug, 1, 1)))
        assert [text(info, "cap:instruction") for info in cap.findall("cap:info", NS)] == [
            "Leave by Oak St now.",
            "Salgan por Oak St ahora.",
        ]
        assert text(cap, "cap:info/cap:urgency") == "Immediate"
        assert cap.find("cap:info/cap:resource/cap:resourceDesc", NS) is not None
        with db.read() as session:
            assert verify(session).ok


def test_a_correction_of_the_instruction_alone_waits_and_keeps_the_text_when_approved(
    web: TestClient, db: Database, author: dict[str, str], approver: dict[str, str]
) -> None:
    slug = new_incident(web, author)
    first = web.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Road closed.", "instruction": "Avoid Main St.", "bypass_approval": "Live threat"},
        headers=author,
    )
    assert first.status_code == 201, first.text
    update = first.json()
    waiting = web.post(
        f"/api/v1/updates/{update['id']}/corrections",
        json={
            "corrects_version": 1,
            "reason": "Wrong street",
            "body": "Road closed.",
            "instruction": "Avoid Elm St.",
        },
        headers=author,
    )
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["instruction"] == "Avoid Elm St."
    assert "media" not in waiting.json()  # none sent: the current images are kept
    approved = decide(web, approver, waiting.json()["id"], version=2, decision="approve")
    assert approved.status_code == 200, approved.text
    published = approved.json()["published"]
    assert (published["version"], published["body"], published["instruction"]) == (
        2,
        "Road closed.",
        "Avoid Elm St.",
    )
