"""The console's "Alert details" (issue 17): the CAP fields, instruction and WEA texts with
plain-language help, kept through the review step, published with the version, and refused
over length (as with JavaScript off); a correction starts from the current version's fields."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.alerting import Alerting, TranslatedAlerting, stored_alerting, stored_translated
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import Translation, UpdateVersion
from console.settings import Settings
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in

FORM = {
    "headline": "Gas leak",
    "body": "Crews are on scene.",
    "instruction": "Leave the area now by Oak St.",
    "cap_urgency": "Immediate",
    "cap_severity": "Severe",
    "cap_certainty": "",
    "cap_event": "Gas leak",
    "cap_expires": "2026-12-05T18:30",
    "cap_expires_zone": "America/New_York",
    "wea_short": "Gas leak downtown: leave now by Oak St.",
    "wea_long": "",
}


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        return created.slug


def versions(db: Database) -> list[UpdateVersion]:
    with db.read() as session:
        return list(session.scalars(select(UpdateVersion).order_by(UpdateVersion.id)))


def test_the_form_has_every_field_with_help_and_a_live_count(client: TestClient, incident: str) -> None:
    sign_in(client, email_of("pio"))
    page = client.get(f"/console/incidents/{incident}").text
    tree = lxml.html.fromstring(page)
    urgency = tree.get_element_by_id("compose-cap_urgency")
    assert [o.get("value") for o in urgency.iterfind("option")] == [
        "",
        "Immediate",
        "Expected",
        "Future",
        "Past",
        "Unknown",
    ]
    assert "How soon people need to act" in page and "How sure you are" in page
    # The compose form's (the "Correct details" form has its own, for the incident's CAP defaults)
    boxes = tree.xpath(
        '//fieldset[@class="alerting"][.//select[@id="compose-cap_urgency"]]//input[@name="cap_response_types"]/@value'
    )
    assert boxes == [
        "Shelter",
        "Evacuate",
        "Prepare",
        "Execute",
        "Avoid",
        "Monitor",
        "Assess",
        "AllClear",
        "None",
    ]
    assert tree.get_element_by_id("compose-cap_expires").get("type") == "datetime-local"
    short = tree.get_element_by_id("compose-wea_short")
    assert (
        short.get("data-count-limit") == "90"
        and tree.get_element_by_id("compose-wea_long").get("data-count-limit") == "360"
    )
    assert tree.get_element_by_id("compose-wea_short-count").text == "0 of 90 characters"
    assert '<script src="/static/js/wea-count.js" defer></script>' in page
    assert client.get("/static/js/wea-count.js").status_code == 200


def test_publishing_with_alert_details_goes_through_review(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    form = {**FORM, "cap_response_types": ["Evacuate", "Avoid"], "csrf_token": token}
    review = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    assert review.status_code == 200, review.text
    tree = lxml.html.fromstring(review.text)
    kept = {
        (i.get("name"), i.get("value"))
        for i in tree.xpath('//form[@id="compose-form"]//input[@type="hidden"]')
    }
    assert {
        ("instruction", FORM["instruction"]),
        ("cap_response_types", "Avoid"),
        ("cap_urgency", "Immediate"),
    } <= kept
    assert "<dt>What people should do</dt><dd>Leave the area now by Oak St.</dd>" in review.text
    assert versions(db) == []
    sent = {name: value for name, value in kept if name not in ("cap_response_types", "csrf_token")}
    published = client.post(
        f"/console/incidents/{incident}/updates",
        data={**sent, "cap_response_types": ["Evacuate", "Avoid"], "csrf_token": token, "step": "publish"},
        follow_redirects=False,
    )
    assert published.status_code == 303, published.text
    [version] = versions(db)
    alerting = stored_alerting(version.alerting)
    assert (alerting.urgency, alerting.severity, alerting.certainty, alerting.event) == (
        "Immediate",
        "Severe",
        None,
        "Gas leak",
    )
    assert alerting.response_types == ("Evacuate", "Avoid")
    assert alerting.expires is not None and alerting.expires.astimezone(UTC) == datetime(
        2026, 12, 5, 23, 30, tzinfo=UTC
    )
    assert (alerting.instruction, alerting.wea_short, alerting.wea_long) == (
        FORM["instruction"],
        FORM["wea_short"],
        None,
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("wea_short", "x" * 91, "is 91 characters; the limit is 90"),
        ("wea_long", "y" * 361, "is 361 characters; the limit is 360"),
        ("cap_urgency", "Soon", "must be one of"),
        ("cap_expires_zone", "Mars/Olympus", "is not a timezone"),
    ],
)
def test_a_bad_field_is_refused_and_the_form_kept(
    client: TestClient, db: Database, incident: str, field: str, value: str, problem: str
) -> None:
    token = sign_in(client, email_of("pio"))
    for step in ("review", "publish"):
        answer = client.post(
            f"/console/incidents/{incident}/updates",
            data={**FORM, field: value, "csrf_token": token, "step": step},
        )
        assert answer.status_code == 422, answer.text
        tree = lxml.html.fromstring(answer.text)
        assert problem in tree.get_element_by_id(f"compose-{field}-error").text_content()
        assert tree.get_element_by_id(f"compose-{field}").get("aria-invalid") == "true"
    assert versions(db) == []


def test_a_correction_starts_from_the_current_fields_and_may_change_only_them(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session,
            PIO,
            incident,
            Draft(body="Crews are on scene."),
            routing=routing,
            alerting=Alerting(urgency="Expected", instruction="Stay indoors.", response_types=("Shelter",)),
        ).update.id
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/updates/{update_id}").text
    tree = lxml.html.fromstring(page)
    assert tree.get_element_by_id("correct-instruction").text == "Stay indoors."
    assert tree.xpath('//select[@id="correct-cap_urgency"]/option[@selected]/@value') == ["Expected"]
    assert tree.xpath('//form//input[@name="cap_response_types"][@checked]/@value') == ["Shelter"]
    form = {
        "body": "Crews are on scene.",
        "reason": "More urgent",
        "corrects_version": "1",
        "cap_urgency": "Immediate",
        "instruction": "Stay indoors.",
        "cap_response_types": ["Shelter"],
        "wea_short": "z" * 91,
        "csrf_token": token,
    }
    refused = client.post(f"/console/updates/{update_id}/corrections", data={**form, "step": "review"})
    assert refused.status_code == 422
    assert (
        "the limit is 90"
        in lxml.html.fromstring(refused.text).get_element_by_id("correct-wea_short-error").text_content()
    )
    form["wea_short"] = ""
    review = client.post(f"/console/updates/{update_id}/corrections", data={**form, "step": "review"})
    assert review.status_code == 200, review.text
    published = client.post(
        f"/console/updates/{update_id}/corrections", data={**form, "step": "publish"}, follow_redirects=False
    )
    assert published.status_code == 303, published.text
    first, second = versions(db)
    assert second.body == first.body
    assert stored_alerting(second.alerting) == Alerting(
        urgency="Immediate", instruction="Stay indoors.", response_types=("Shelter",)
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=("en", "es", "vi"))


def test_a_translation_carries_its_instruction_and_in_spanish_the_wea_texts(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session,
            PIO,
            incident,
            Draft(body="Crews are on scene."),
            routing=routing,
            alerting=Alerting(instruction="Stay indoors.", wea_short="Stay indoors."),
        ).update.id
    token = sign_in(client, email_of("pio"))
    tree = lxml.html.fromstring(client.get(f"/console/updates/{update_id}").text)
    assert tree.get_element_by_id("tr-es-wea_short").get("data-count-limit") == "90"
    assert tree.get_element_by_id("tr-es-wea_long").get("data-count-limit") == "360"
    assert not tree.xpath('//*[@id="tr-vi-wea_short"]'), "WEA texts are English and Spanish only"
    assert tree.xpath('//*[@id="tr-vi-instruction"]')
    form = {"lang": "es", "version": "1", "body": "Equipos en el lugar.", "csrf_token": token}
    refused = client.post(f"/console/updates/{update_id}/translations", data={**form, "wea_short": "x" * 91})
    assert refused.status_code == 422
    kept = lxml.html.fromstring(refused.text)
    assert kept.get_element_by_id("tr-es-wea_short").text == "x" * 91
    assert "the limit is 90" in kept.get_element_by_id("tr-es-wea_short-error").text_content()
    added = client.post(
        f"/console/updates/{update_id}/translations",
        data={**form, "instruction": "Quédese adentro.", "wea_short": "Quédese adentro."},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    with db.read() as session:
        [translation] = session.scalars(select(Translation))
        assert stored_translated(translation.alerting) == TranslatedAlerting(
            instruction="Quédese adentro.", wea_short="Quédese adentro."
        )
