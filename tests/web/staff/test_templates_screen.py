"""Templates in the console (issue 18), as with JavaScript off: an admin writes, revises and
deletes one; a PIO starts an update from it, is stopped until each placeholder is filled in,
reviews the filled text and publishes it, recording the template version."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.models import TemplateVersion, UpdateVersion
from console.settings import Settings
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sign_in

TEMPLATE = {
    "name": "Evacuation: shelter open",
    "category": "Fire",
    "headline": "Evacuate near {location}",
    "body": "Residents near {location} must leave now. Shelter: {shelter}.",
    "tr-es-headline": "",
    "tr-es-body": "Salga ahora. Refugio: {shelter}.",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Brush fire", location="Ridge Rd"), routing=routing
        )
        return created.slug


def template_ids(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(TemplateVersion.template_id).order_by(TemplateVersion.id)))


def test_an_admin_writes_revises_and_deletes_a_template(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("admin"))
    refused = client.post("/console/templates", data={**TEMPLATE, "name": "", "csrf_token": token})
    assert (
        refused.status_code == 422
        and 'id="new-name"' in refused.text
        and 'aria-invalid="true"' in refused.text
    )
    assert "Residents near {location} must leave now." in html.unescape(refused.text)  # kept as typed
    saved = client.post("/console/templates", data={**TEMPLATE, "csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303 and "notice=template_saved" in saved.headers["location"]
    [template_id] = template_ids(db)
    screen = client.get("/console/templates").text
    assert "Evacuation: shelter open" in screen and "<code>{shelter}</code>" in screen
    revised = client.post(
        f"/console/templates/{template_id}/versions",
        data={
            **TEMPLATE,
            "body": "Leave now. Shelter: {shelter}.",
            "corrects_version": "1",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert revised.status_code == 303
    stale = client.post(
        f"/console/templates/{template_id}/versions",
        data={**TEMPLATE, "corrects_version": "1", "csrf_token": token},
    )
    assert stale.status_code == 409 and "another admin saved version 2" in stale.text
    assert template_ids(db) == [template_id, template_id]
    deleted = client.post(
        f"/console/templates/{template_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert "No templates yet." in client.get("/console/templates").text
    assert len(template_ids(db)) == 2  # its versions stay


def test_a_pio_reads_templates_but_cannot_write_them(client: TestClient, incident: str) -> None:
    token = sign_in(client, email_of("pio"))
    assert "New template" not in client.get("/console/templates").text
    assert client.post("/console/templates", data={**TEMPLATE, "csrf_token": token}).status_code == 403


def test_a_pio_starts_from_a_template_fills_it_in_reviews_and_publishes(
    client: TestClient, db: Database, incident: str
) -> None:
    admin_token = sign_in(client, email_of("admin"))
    client.post("/console/templates", data={**TEMPLATE, "csrf_token": admin_token})
    [template_id] = template_ids(db)
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/incidents/{incident}").text
    assert f'<option value="{template_id}">Evacuation: shelter open</option>' in page
    started = html.unescape(client.get(f"/console/incidents/{incident}?template={template_id}").text)
    # {location} is the incident's; {shelter} is a field to fill in.
    assert 'value="Evacuate near Ridge Rd"' in started
    assert "Residents near Ridge Rd must leave now. Shelter: {shelter}." in started
    assert 'name="ph-shelter"' in started and "Salga ahora. Refugio: {shelter}." in started
    version_id = re.search(r'name="template_version" value="(\d+)"', started)
    assert version_id is not None
    form = {
        "template_version": version_id.group(1),
        "headline": "Evacuate near Ridge Rd",
        "body": "Residents near Ridge Rd must leave now. Shelter: {shelter}.",
        "tr-es-headline": "",
        "tr-es-body": "Salga ahora. Refugio: {shelter}.",
        "preliminary": "on",
        "csrf_token": token,
    }
    blocked = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    assert blocked.status_code == 422
    assert "Fill in {shelter}: the template needs a value for it before review." in html.unescape(
        blocked.text
    )
    review = client.post(
        f"/console/incidents/{incident}/updates", data={**form, "ph-shelter": "Lincoln gym", "step": "review"}
    )
    assert review.status_code == 200 and "Check before publishing" in review.text
    reviewed = html.unescape(review.text)
    assert "From the template “Evacuation: shelter open”, version 1." in reviewed
    assert "Shelter: Lincoln gym." in reviewed and "{shelter}" not in reviewed
    sent = {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', review.text)
    }
    sent.update({"step": "publish", "csrf_token": token})
    for name in ("body", "tr-es-body"):
        textarea = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', review.text, re.S)
        if textarea:
            sent[name] = html.unescape(textarea.group(1))
    published = client.post(f"/console/incidents/{incident}/updates", data=sent, follow_redirects=False)
    assert published.status_code == 303, published.text
    with db.read() as session:
        [version] = session.scalars(select(UpdateVersion)).all()
        assert version.body == "Residents near Ridge Rd must leave now. Shelter: Lincoln gym."
        assert version.template_version_id == int(version_id.group(1))


def test_a_deleted_template_cannot_be_started_from(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("admin"))
    client.post("/console/templates", data={**TEMPLATE, "csrf_token": token})
    [template_id] = template_ids(db)
    client.post(f"/console/templates/{template_id}/delete", data={"csrf_token": token})
    page = client.get(f"/console/incidents/{incident}?template={template_id}").text
    assert f"That template cannot be used: template {template_id} is deleted" in page


def test_an_admin_sets_cap_defaults_and_a_pio_starts_with_them(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("admin"))
    defaults = {
        "instruction": "Go to {shelter}.",
        "tr-es-instruction": "Vaya a {shelter}.",
        "cap_urgency": "Immediate",
        "cap_severity": "Severe",
        "cap_certainty": "",
        "cap_event": "Wildfire",
        "cap_response_types": ["Evacuate", "Avoid"],
    }
    refused = client.post(
        "/console/templates", data={**TEMPLATE, **defaults, "cap_urgency": "Now", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert re.search(r'<select id="new-cap_urgency"[^>]*aria-invalid="true"', refused.text)
    assert 'value="Evacuate" checked' in refused.text  # kept as typed
    saved = client.post("/console/templates", data={**TEMPLATE, **defaults, "csrf_token": token})
    assert saved.status_code == 200  # followed the redirect
    [template_id] = template_ids(db)
    screen = html.unescape(client.get("/console/templates").text)
    assert "<dt>Urgency</dt><dd>Immediate</dd>" in screen and "<dd>Evacuate, Avoid</dd>" in screen
    assert "Vaya a {shelter}." in screen
    # The revise form starts from the defaults.
    assert re.search(rf'id="t{template_id}-cap_severity".*?<option value="Severe" selected>', screen, re.S)
    sign_in(client, email_of("pio"))
    started = html.unescape(client.get(f"/console/incidents/{incident}?template={template_id}").text)
    assert re.search(
        r'<select id="compose-cap_urgency"[^>]*>.*?<option value="Immediate" selected>', started, re.S
    )
    assert 'value="Wildfire"' in started and "Go to {shelter}." in started
