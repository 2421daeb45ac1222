"""Issue 13.7 in the console: the compose and correct forms are saved as they are typed, come
back when the form is opened again, are listed on the author's dashboard, and go once
published or discarded. Never public, never audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import lxml.html
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.alerting import Alerting, TranslatedAlerting
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, correct_update, publish_update
from console.languages import Languages
from console.models import AuditEvent, AutosavedForm, UpdateVersion
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in

SAME_SITE = {"Origin": "http://testserver"}


@pytest.fixture
def slug(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        return create_incident(session, PIO, IncidentDraft(title="River flood"), routing=routing)[0].slug


def saved_forms(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AutosavedForm)) or 0


def audit_rows(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_the_compose_form_is_saved_restored_listed_and_gone_once_published(
    client: TestClient, db: Database, slug: str
) -> None:
    token = sign_in(client, email_of("pio"))
    audited = audit_rows(db)
    line = client.post(
        f"/console/incidents/{slug}/autosave",
        data={
            "headline": "Shelter open",
            "body": "Lincoln High is open.",
            "preliminary": "on",
            "csrf_token": token,
        },
        headers={**SAME_SITE, "HX-Request": "true"},
    )
    assert line.status_code == 200 and "Saved as you typed, at" in line.text
    assert line.text.lstrip().startswith('<p id="compose-autosave"'), "the line alone, to swap in"
    assert audit_rows(db) == audited and saved_forms(db) == 1

    page = client.get(f"/console/incidents/{slug}").text
    assert 'value="Shelter open"' in page and ">Lincoln High is open.</textarea>" in page
    assert '<input id="compose-preliminary" name="preliminary" type="checkbox" checked>' in page
    assert "This form holds what you typed earlier" in page
    dashboard = client.get("/console").text
    assert "Your unpublished drafts" in dashboard and f'href="/console/incidents/{slug}#compose"' in dashboard
    assert re.search(r"New update</a>\s+on “River flood”: “Shelter open”", dashboard)
    assert "Lincoln High is open." not in client.get(f"/incidents/{slug}").text, "never public"

    published = client.post(
        f"/console/incidents/{slug}/updates",
        data={
            "headline": "Shelter open",
            "body": "Lincoln High is open.",
            "step": "publish",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert published.status_code == 303 and saved_forms(db) == 0
    assert "This form holds what you typed earlier" not in client.get(f"/console/incidents/{slug}").text
    assert "Your unpublished drafts" not in client.get("/console").text


def test_a_saved_correction_comes_back_aimed_at_the_version_it_corrected(
    client: TestClient, db: Database, routing: Routing, slug: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Shelter at Station 4."), routing=routing
        ).update.id
    token = sign_in(client, email_of("pio"))
    typed = {"body": "Shelter at Station 4, 310 Birch St.", "reason": "Address", "corrects_version": "1"}
    assert (
        client.post(
            f"/console/updates/{update_id}/autosave", data={**typed, "csrf_token": token}, headers=SAME_SITE
        ).status_code
        == 200
    )
    with db.write() as session:  # a colleague corrects it meanwhile
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Shelter at Fire Station 7."),
            reason="Moved",
            corrects_version=1,
            routing=routing,
        )
    page = client.get(f"/console/updates/{update_id}").text
    assert "This form holds what you typed earlier" in page and "a correction of version 1" in page
    assert '<input type="hidden" name="corrects_version" value="1">' in page
    assert ">Shelter at Station 4, 310 Birch St.</textarea>" in page and ">Address</textarea>" in page

    # Reviewing it meets the newer version: the conflict, never a silent revert
    review = client.post(
        f"/console/updates/{update_id}/corrections", data={**typed, "step": "review", "csrf_token": token}
    )
    assert review.status_code == 409 and "Fire Station 7" in review.text
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(UpdateVersion)) == 2
    assert saved_forms(db) == 1, "kept until published or discarded"


def test_discarding_forgets_it_and_goes_back(client: TestClient, db: Database, slug: str) -> None:
    token = sign_in(client, email_of("pio"))
    client.post(
        f"/console/incidents/{slug}/autosave", data={"body": "Draft", "csrf_token": token}, headers=SAME_SITE
    )
    [incident_id] = _targets(db)
    answer = client.post(
        f"/console/autosaved/compose/{incident_id}/discard",
        data={"next": f"/console/incidents/{slug}", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/console/incidents/{slug}"
    assert saved_forms(db) == 0
    assert (
        client.post(
            "/console/autosaved/nonsense/1/discard", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 404
    )


def _targets(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(AutosavedForm.target_id)))


def test_a_reviewer_cannot_save_and_an_old_token_saves_nothing(
    client: TestClient, db: Database, slug: str
) -> None:
    token = sign_in(client, email_of("reviewer"))
    refused = client.post(
        f"/console/incidents/{slug}/autosave", data={"body": "x", "csrf_token": token}, headers=SAME_SITE
    )
    assert refused.status_code == 403 and saved_forms(db) == 0

    client.post("/logout", data={"csrf_token": token}, headers=SAME_SITE)
    old = sign_in(client, email_of("pio"))
    client.post("/logout", data={"csrf_token": old}, headers=SAME_SITE)
    sign_in(client, email_of("pio"))
    resent = client.post(
        f"/console/incidents/{slug}/autosave",
        data={"body": "typed before signing in again", "csrf_token": old},
        headers={**SAME_SITE, "HX-Request": "true"},
    )
    assert resent.status_code == 403 and "Not saved yet: you signed in again" in resent.text
    assert "console-session-changed" in resent.headers["HX-Trigger"]
    assert saved_forms(db) == 0


def test_a_form_too_long_to_keep_says_so(client: TestClient, db: Database, slug: str) -> None:
    token = sign_in(client, email_of("pio"))
    answer = client.post(
        f"/console/incidents/{slug}/autosave",
        data={"body": "x" * 200_001, "csrf_token": token},
        headers=SAME_SITE,
    )
    assert answer.status_code == 422 and "Not saved: is too long to save as typed" in answer.text
    assert saved_forms(db) == 0


@pytest.fixture
def translating(settings: Settings) -> Iterator[TestClient]:
    """The console with a Spanish and a Vietnamese translation of each update (same database)."""
    with TestClient(create_app(replace(settings, languages=("en", "es", "vi")))) as client:
        yield client


def test_alert_details_and_each_translations_instruction_are_saved_and_restored(
    translating: TestClient, db: Database, settings: Settings, slug: str
) -> None:
    """Issue 17: what is typed in "Alert details" and in each language's instruction and
    (Spanish) phone alert texts comes back too, as typed."""
    token = sign_in(translating, email_of("pio"))
    typed = {
        "body": "Gas leak on Oak St.",
        "instruction": "Leave the area by Elm St.",
        "cap_urgency": "Immediate",
        "cap_severity": "",
        "cap_certainty": "",
        "cap_response_types": ["Evacuate", "Avoid"],
        "cap_event": "Gas leak",
        "cap_expires": "",
        "cap_expires_zone": settings.zone.key,
        "wea_short": "Gas leak: leave by Elm St.",
        "wea_long": "",
        "tr-es-body": "Fuga de gas en Oak St.",
        "tr-es-instruction": "Salga de la zona por Elm St.",
        "tr-es-wea_short": "Fuga de gas: salga por Elm St.",
        "tr-vi-instruction": "Rời khỏi khu vực qua đường Elm.",
        "csrf_token": token,
    }
    line = translating.post(f"/console/incidents/{slug}/autosave", data=typed, headers=SAME_SITE)
    assert line.status_code == 200 and "Saved as you typed, at" in line.text

    tree = lxml.html.fromstring(translating.get(f"/console/incidents/{slug}").text)
    assert "This form holds what you typed earlier" in tree.text_content()
    assert tree.get_element_by_id("compose-instruction").text == "Leave the area by Elm St."
    assert tree.xpath('//select[@id="compose-cap_urgency"]/option[@selected]/@value') == ["Immediate"]
    assert tree.xpath('//select[@id="compose-cap_severity"]/option[@selected]/@value') == [""]
    assert tree.xpath('//form[@id="compose-form"]//input[@name="cap_response_types"][@checked]/@value') == [
        "Evacuate",
        "Avoid",
    ]
    assert tree.get_element_by_id("compose-cap_event").get("value") == "Gas leak"
    assert tree.get_element_by_id("compose-cap_expires_zone").get("value") == settings.zone.key
    assert tree.get_element_by_id("compose-wea_short").text == "Gas leak: leave by Elm St."
    assert tree.get_element_by_id("compose-wea_short-count").text == "26 of 90 characters"
    assert tree.get_element_by_id("compose-tr-es-body").text == "Fuga de gas en Oak St."
    assert tree.get_element_by_id("compose-tr-es-instruction").text == "Salga de la zona por Elm St."
    assert tree.get_element_by_id("compose-tr-es-wea_short").text == "Fuga de gas: salga por Elm St."
    assert tree.get_element_by_id("compose-tr-vi-instruction").text == "Rời khỏi khu vực qua đường Elm."

    # The agency's timezone alone, as the form is pre-filled, is nothing typed: not kept
    blank = {
        "cap_expires_zone": settings.zone.key,
        "cap_urgency": "",
        "tr-es-wea_short": " ",
        "csrf_token": token,
    }
    assert (
        translating.post(f"/console/incidents/{slug}/autosave", data=blank, headers=SAME_SITE).status_code
        == 200
    )
    assert saved_forms(db) == 0


def test_a_saved_correction_brings_back_its_alert_details_and_translated_instructions(
    translating: TestClient, db: Database, routing: Routing, slug: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session,
            PIO,
            slug,
            Draft(body="Gas leak on Oak St."),
            routing=routing,
            alerting=Alerting(instruction="Stay indoors.", urgency="Expected"),
            translations=Translations(
                [
                    TranslationDraft(
                        "es", "Fuga de gas en Oak St.", alerting=TranslatedAlerting("Quédese adentro.")
                    )
                ],
                Languages(("en", "es", "vi")),
            ),
        ).update.id
    token = sign_in(translating, email_of("pio"))
    typed = {
        "body": "Gas leak on Oak St.",
        "reason": "Leave rather than stay",
        "corrects_version": "1",
        "instruction": "Leave by Elm St.",
        "cap_urgency": "Immediate",
        "tr-es-body": "Fuga de gas en Oak St.",
        "tr-es-body-prefilled": "Fuga de gas en Oak St.",
        "tr-es-instruction": "Salga por Elm St.",
        "tr-es-instruction-prefilled": "Quédese adentro.",
        "csrf_token": token,
    }
    assert (
        translating.post(f"/console/updates/{update_id}/autosave", data=typed, headers=SAME_SITE).status_code
        == 200
    )
    tree = lxml.html.fromstring(translating.get(f"/console/updates/{update_id}").text)
    assert "This form holds what you typed earlier" in tree.text_content()
    assert tree.get_element_by_id("correct-instruction").text == "Leave by Elm St."
    assert tree.xpath('//select[@id="correct-cap_urgency"]/option[@selected]/@value') == ["Immediate"]
    assert tree.get_element_by_id("correct-tr-es-instruction").text == "Salga por Elm St."
    assert tree.xpath('//form[@id="correct-form"]//input[@name="tr-es-instruction-prefilled"]/@value') == [
        "Quédese adentro."
    ], "still compared with the current translation, so a language left as it was is not sent"

    # Saved before "Alert details" were saved: the correction starts from the current version's
    with db.write() as session:
        row = session.scalars(select(AutosavedForm)).one()
        row.content = (
            '{"headline": "", "body": "Gas leak on Oak St.", "preliminary": false, "reason": "Typed",'
            ' "translations": {}}'
        )
    tree = lxml.html.fromstring(translating.get(f"/console/updates/{update_id}").text)
    assert tree.get_element_by_id("correct-reason").text == "Typed"
    assert tree.get_element_by_id("correct-instruction").text == "Stay indoors."
    assert tree.get_element_by_id("correct-tr-es-instruction").text == "Quédese adentro."
