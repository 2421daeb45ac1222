"""The console's "Alert details" (issue 17): the CAP fields, instruction and WEA texts with
plain-language help, kept through the review step, published with the version, and refused
over length (as with JavaScript off); a correction starts from the current version's fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import approval
from console.domain.alerting import Alerting, TranslatedAlerting, stored_alerting, stored_translated
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, publish_update
from console.languages import Languages
from console.models import PendingVersion, Translation, UpdateVersion
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
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


def test_the_compose_form_has_each_languages_instruction_and_the_spanish_wea_texts(
    client: TestClient, incident: str
) -> None:
    sign_in(client, email_of("pio"))
    tree = lxml.html.fromstring(client.get(f"/console/incidents/{incident}").text)
    for lang in ("es", "vi"):
        instruction = tree.get_element_by_id(f"compose-tr-{lang}-instruction")
        assert instruction.tag == "textarea" and instruction.get("name") == f"tr-{lang}-instruction"
        label = tree.xpath(f'//label[@for="compose-tr-{lang}-instruction"]')[0].text_content()
        assert "What people should do" in label
        hint = tree.get_element_by_id(f"compose-tr-{lang}-instruction-hint").text_content()
        assert "empty: readers get the English one" in hint
    short = tree.get_element_by_id("compose-tr-es-wea_short")
    assert short.get("name") == "tr-es-wea_short" and short.get("data-count-limit") == "90"
    assert tree.get_element_by_id("compose-tr-es-wea_long").get("data-count-limit") == "360"
    assert tree.get_element_by_id("compose-tr-es-wea_short-count").text == "0 of 90 characters"
    assert not tree.xpath('//*[@id="compose-tr-vi-wea_short"]'), "WEA texts are English and Spanish only"


TRANSLATED = {
    **FORM,
    "tr-es-body": "Equipos en el lugar.",
    "tr-es-instruction": "Salga de la zona ahora por Oak St.",
    "tr-es-wea_short": "Fuga de gas: salga ahora por Oak St.",
    "tr-es-wea_long": "",
    "tr-vi-body": "Đội cứu hộ đang có mặt.",
    "tr-vi-instruction": "Rời khỏi khu vực ngay qua đường Oak.",
}


def published_translations(db: Database) -> dict[str, TranslatedAlerting]:
    with db.read() as session:
        return {row.lang: stored_translated(row.alerting) for row in session.scalars(select(Translation))}


def test_each_translation_is_published_with_its_instruction_through_review(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    review = client.post(
        f"/console/incidents/{incident}/updates", data={**TRANSLATED, "csrf_token": token, "step": "review"}
    )
    assert review.status_code == 200, review.text
    tree = lxml.html.fromstring(review.text)
    kept = {
        (i.get("name"), i.get("value"))
        for i in tree.xpath('//form[@id="compose-form"]//input[@type="hidden"]')
    }
    assert {
        ("tr-es-instruction", TRANSLATED["tr-es-instruction"]),
        ("tr-es-wea_short", TRANSLATED["tr-es-wea_short"]),
        ("tr-vi-instruction", TRANSLATED["tr-vi-instruction"]),
    } <= kept
    assert "Salga de la zona ahora por Oak St." in tree.xpath('//*[@lang="es"]')[0].text_content()
    assert versions(db) == []
    published = client.post(
        f"/console/incidents/{incident}/updates",
        data={**dict(kept), "csrf_token": token, "step": "publish"},
        follow_redirects=False,
    )
    assert published.status_code == 303, published.text
    assert published_translations(db) == {
        "es": TranslatedAlerting(
            instruction="Salga de la zona ahora por Oak St.", wea_short="Fuga de gas: salga ahora por Oak St."
        ),
        "vi": TranslatedAlerting(instruction="Rời khỏi khu vực ngay qua đường Oak."),
    }


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("tr-es-wea_short", "x" * 91, "is 91 characters; the limit is 90"),
        ("tr-es-wea_long", "y" * 361, "is 361 characters; the limit is 360"),
        ("tr-vi-instruction", "z" * 2001, "is 2,001 characters; the limit is 2,000"),
    ],
)
def test_a_bad_translated_alert_text_is_refused_next_to_its_field(
    client: TestClient, db: Database, incident: str, field: str, value: str, problem: str
) -> None:
    token = sign_in(client, email_of("pio"))
    for step in ("review", "publish"):
        answer = client.post(
            f"/console/incidents/{incident}/updates",
            data={**TRANSLATED, field: value, "csrf_token": token, "step": step},
        )
        assert answer.status_code == 422, answer.text
        tree = lxml.html.fromstring(answer.text)
        assert problem in tree.get_element_by_id(f"compose-{field}-error").text_content()
        shown = tree.get_element_by_id(f"compose-{field}")
        assert shown.get("aria-invalid") == "true" and shown.text == value, "kept as typed"
    assert versions(db) == []


def test_an_instruction_without_its_translation_is_refused(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    form = {**FORM, "tr-vi-instruction": "Rời khỏi khu vực.", "csrf_token": token, "step": "review"}
    answer = client.post(f"/console/incidents/{incident}/updates", data=form)
    assert answer.status_code == 422
    assert lxml.html.fromstring(answer.text).get_element_by_id("compose-tr-vi-body-error") is not None
    assert versions(db) == []


def test_a_correction_starts_from_each_translations_instruction_and_sends_the_changed_ones(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session,
            PIO,
            incident,
            Draft(body="Crews are on scene."),
            routing=routing,
            alerting=Alerting(instruction="Stay indoors."),
            translations=Translations(
                [
                    TranslationDraft(
                        "es", "Equipos en el lugar.", alerting=TranslatedAlerting("Quédese adentro.")
                    ),
                    TranslationDraft("vi", "Đội cứu hộ.", alerting=TranslatedAlerting("Ở trong nhà.")),
                ],
                Languages(("en", "es", "vi")),
            ),
        ).update.id
    token = sign_in(client, email_of("pio"))
    tree = lxml.html.fromstring(client.get(f"/console/updates/{update_id}").text)
    assert tree.get_element_by_id("correct-tr-es-instruction").text == "Quédese adentro."
    assert tree.xpath('//form[@id="correct-form"]//input[@name="tr-vi-instruction-prefilled"]/@value') == [
        "Ở trong nhà."
    ]
    form = {
        "body": "Crews are on scene.",
        "reason": "Leave, do not stay",
        "corrects_version": "1",
        "instruction": "Leave the area now.",
        "cap_expires_zone": "America/New_York",
        "tr-es-body": "Equipos en el lugar.",
        "tr-es-body-prefilled": "Equipos en el lugar.",
        "tr-es-instruction": "Salga de la zona ahora.",
        "tr-es-instruction-prefilled": "Quédese adentro.",
        "tr-vi-body": "Đội cứu hộ.",  # left as pre-filled: not sent
        "tr-vi-body-prefilled": "Đội cứu hộ.",
        "tr-vi-instruction": "Ở trong nhà.",
        "tr-vi-instruction-prefilled": "Ở trong nhà.",
        "csrf_token": token,
    }
    review = client.post(f"/console/updates/{update_id}/corrections", data={**form, "step": "review"})
    assert review.status_code == 200, review.text
    assert "Not changed, so not sent: Vietnamese." in review.text
    published = client.post(
        f"/console/updates/{update_id}/corrections", data={**form, "step": "publish"}, follow_redirects=False
    )
    assert published.status_code == 303, published.text
    with db.read() as session:
        newest = session.scalars(select(UpdateVersion).order_by(UpdateVersion.id.desc())).first()
        assert newest is not None and newest.version == 2
        sent = {
            row.lang: stored_translated(row.alerting)
            for row in session.scalars(select(Translation).where(Translation.version_id == newest.id))
        }
    assert sent == {"es": TranslatedAlerting(instruction="Salga de la zona ahora.")}


@pytest.fixture
def approving(settings: Settings) -> Iterator[TestClient]:
    """The console under APPROVAL_REQUIRED (same database)."""
    with TestClient(create_app(dataclasses.replace(settings, approval_required=APPROVAL_KINDS))) as client:
        yield client


def approve_the_pending_version(db: Database, routing: Routing, settings: Settings) -> None:
    """A second person (here the CLI's actor, not the form's author) approves what waits."""
    with db.write() as session:
        pending = session.scalars(select(PendingVersion)).one()
        approval.decide(
            session,
            PIO,
            pending.id,
            version=approval.number_of(pending),
            decision="approve",
            comment=None,
            languages=Languages(settings.languages),
            routing=routing,
        )


def test_a_translated_instruction_waits_for_approval_and_is_published_with_it(
    approving: TestClient, db: Database, routing: Routing, settings: Settings, incident: str
) -> None:
    token = sign_in(approving, email_of("pio"))
    form = {
        "body": "Crews are on scene.",
        "tr-es-body": "Equipos en el lugar.",
        "tr-es-instruction": "Salga de la zona.",
        "csrf_token": token,
        "step": "publish",
    }
    waiting = approving.post(f"/console/incidents/{incident}/updates", data=form, follow_redirects=False)
    assert waiting.status_code == 303, waiting.text
    assert versions(db) == []
    approve_the_pending_version(db, routing, settings)
    assert published_translations(db) == {"es": TranslatedAlerting(instruction="Salga de la zona.")}


def test_a_correction_whose_translation_carries_an_instruction_waits_and_is_published_with_it(
    approving: TestClient, db: Database, routing: Routing, settings: Settings, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Crews are on scene."), routing=routing
        ).update.id
    token = sign_in(approving, email_of("pio"))
    form = {
        "body": "Crews are on scene at Oak St.",
        "reason": "Where",
        "corrects_version": "1",
        "tr-es-body": "Equipos en Oak St.",
        "tr-es-instruction": "Evite Oak St.",
        "csrf_token": token,
        "step": "publish",
    }
    waiting = approving.post(f"/console/updates/{update_id}/corrections", data=form, follow_redirects=False)
    assert waiting.status_code == 303, waiting.text
    assert len(versions(db)) == 1
    approve_the_pending_version(db, routing, settings)
    assert [version.body for version in versions(db)] == [
        "Crews are on scene.",
        "Crews are on scene at Oak St.",
    ]
    assert published_translations(db) == {"es": TranslatedAlerting(instruction="Evite Oak St.")}
