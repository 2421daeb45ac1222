"""An incident's title, summary and location in the readers' languages (issue 13.2): added
through the API for the current details version, shown on `/` and the incident page in that
language while current, the primary text (marked with its language) once the details are
corrected, recorded in the API and the audit chain, and checked by audit verify."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.domain.details_translations import translation_hash
from console.domain.integrity import verify, verify_signatures
from console.keyset import KeySet
from console.models import AuditEvent, Delivery, EventType, IncidentDetailsTranslation, OutboxEvent
from console.settings import Settings
from console.web.app import create_app
from tests.archive.test_signatures import check_signed
from tests.support.factories import bearer, make_token

SPANISH = {
    "lang": "es",
    "version": 1,
    "title": "Incendio químico",
    "summary": "Humo sobre el barrio norte.",
    "location": "Calle Olmo 120",
}


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    multilingual = replace(settings, languages=("en", "es"), live_poll_seconds=0.05)
    with TestClient(create_app(multilingual)) as client:
        yield client


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def slug(web: TestClient, pio: dict[str, str]) -> str:
    created = web.post(
        "/api/v1/incidents",
        json={"title": "Chemical fire", "summary": "Smoke over the north side.", "location": "120 Elm St"},
        headers=pio,
    )
    assert created.status_code == 201, created.text
    slug = str(created.json()["slug"])
    published = web.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Stay indoors."}, headers=pio)
    assert published.status_code == 201
    return slug


def translate(web: TestClient, headers: dict[str, str], slug: str, body: dict[str, Any]) -> Any:
    return web.post(f"/api/v1/incidents/{slug}/details/translations", json=body, headers=headers)


def page_once(web: TestClient, path: str, showing: str) -> str:
    """The page once it shows `showing` (pages are served from memory until the live stream,
    polled every 50 ms here, sees the event that changed them)."""
    deadline = time.monotonic() + 5
    while showing not in (html := web.get(path).text):
        assert time.monotonic() < deadline, f"{path} never showed {showing!r}"
        time.sleep(0.02)
    return html


def heading(html: str) -> str:
    match = re.search(r'<h1 id="incident-title"[^>]*>(.*?)</h1>', html, re.S)
    assert match is not None
    return match.group(1)


def test_a_translation_of_the_details_is_shown_to_readers_of_its_language(
    web: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    before = web.get(f"/incidents/{slug}?lang=es").text
    assert heading(before) == '<span lang="en">Chemical fire</span>'  # the primary text, marked

    response = translate(web, pio, slug, SPANISH)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["incident"], body["lang"], body["details_version"], body["author"]) == (
        slug,
        "es",
        1,
        "Casey Park",
    )
    spanish = page_once(web, f"/incidents/{slug}?lang=es", "Incendio químico")
    assert heading(spanish) == "Incendio químico"  # in the page's language: no lang of its own
    assert '<p class="incident__where">Calle Olmo 120</p>' in spanish
    assert "Humo sobre el barrio norte." in spanish and "Smoke over" not in spanish
    page_once(web, "/?lang=es", "Incendio químico")
    english = web.get(f"/incidents/{slug}?lang=en").text
    assert heading(english) == "Chemical fire" and "Incendio" not in english

    record = web.get(f"/api/v1/incidents/{slug}").json()
    assert record["details_translations"]["es"]["title"] == "Incendio químico"
    assert record["details_translations"]["es"]["status"] == "current"
    with db.read() as session:
        event = session.get(OutboxEvent, body["event_id"])
        assert event is not None and event.type is EventType.INCIDENT_DETAILS_CHANGED
        channels = set(session.scalars(select(Delivery.channel).where(Delivery.event_id == event.id)))
        assert {"live", "feeds", "archive"} <= channels and not {"x", "mastodon"} & channels
        [audited] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident.details_translated")
        ).all()
        assert json.loads(audited.data)["title"] == "Incendio químico"
        assert verify(session).ok


def test_correcting_the_details_makes_the_translation_stale_until_translated_again(
    web: TestClient, pio: dict[str, str], slug: str
) -> None:
    assert translate(web, pio, slug, SPANISH).status_code == 201
    # Only the alert status changes: the translated texts still say what the incident says.
    exercise = web.post(
        f"/api/v1/incidents/{slug}/details",
        json={"alert_status": "exercise", "reason": "This is a drill", "corrects_version": 1},
        headers=pio,
    )
    assert exercise.status_code == 201, exercise.text
    drill = page_once(web, f"/incidents/{slug}?lang=es", "badge--exercise")
    assert heading(drill).endswith("</strong> Incendio químico")

    moved = web.post(
        f"/api/v1/incidents/{slug}/details",
        json={"location": "300 Oak St", "reason": "Wrong address", "corrects_version": 2},
        headers=pio,
    )
    assert moved.status_code == 201, moved.text
    page = page_once(web, f"/incidents/{slug}?lang=es", "300 Oak St")
    assert '<span lang="en">Chemical fire</span>' in heading(page)
    assert '<p class="incident__where" lang="en">300 Oak St</p>' in page and "Calle Olmo" not in page
    assert web.get(f"/api/v1/incidents/{slug}").json()["details_translations"]["es"]["status"] == "stale"

    stale = translate(web, pio, slug, {**SPANISH, "location": "Calle Roble 300"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 3
    again = translate(web, pio, slug, {**SPANISH, "version": 3, "location": "Calle Roble 300"})
    assert again.status_code == 201, again.text
    page_once(web, f"/incidents/{slug}?lang=es", '<p class="incident__where">Calle Roble 300</p>')


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"lang": "en"}, "lang", "primary"),
        ({"lang": "fr"}, "lang", "not one of the languages"),
        ({"lang": None}, "lang", "is required"),
        ({"title": " "}, "title", "is required"),
        ({"title": "x" * 201}, "title", "200"),
        ({"location": None}, "location", "is required"),
        ({"version": 7}, "version", "no details version 7"),
    ],
)
def test_a_refused_translation_says_why_and_writes_nothing(
    web: TestClient,
    db: Database,
    pio: dict[str, str],
    slug: str,
    change: dict[str, Any],
    field: str,
    problem: str,
) -> None:
    response = translate(web, pio, slug, {**SPANISH, **change})
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["fields"][field]
    with db.read() as session:
        assert session.scalars(select(IncidentDetailsTranslation)).all() == []


def test_a_text_the_incident_does_not_have_is_refused_and_so_is_the_same_translation_twice(
    web: TestClient, pio: dict[str, str]
) -> None:
    created = web.post("/api/v1/incidents", json={"title": "Road closed"}, headers=pio)
    slug = created.json()["slug"]
    invented = translate(
        web, pio, slug, {"lang": "es", "version": 1, "title": "Calle cerrada", "summary": "Algo"}
    )
    assert invented.status_code == 422 and "leave it empty" in invented.json()["error"]["fields"]["summary"]
    only_title = {"lang": "es", "version": 1, "title": "Calle cerrada"}
    assert translate(web, pio, slug, only_title).status_code == 201
    twice = translate(web, pio, slug, only_title)
    assert twice.status_code == 422 and "same as the current es translation" in twice.text


def test_a_reviewer_cannot_translate_and_an_unknown_incident_is_404(
    web: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    assert translate(web, bearer(make_token(db, "reviewer")), slug, SPANISH).status_code == 403
    assert translate(web, pio, "no-such-incident", SPANISH).status_code == 404


def test_verify_names_an_edited_or_deleted_translation_and_the_database_refuses_both(
    web: TestClient, db: Database, pio: dict[str, str], slug: str, tampered_db: Database
) -> None:
    assert translate(web, pio, slug, SPANISH).status_code == 201
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE details_translations SET title = 'Simulacro'"))
    with db.read() as session:
        report = verify(session)
    assert not report.ok and "details translation" in report.describe()
    assert "(the row was edited)" in report.describe()
    with tampered_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM details_translations"))
    with db.read() as session:
        report = verify(session)
    assert not report.ok and "is missing (it was deleted)" in report.describe()


def test_a_details_translation_is_signed_and_a_forged_signature_is_found(
    web: TestClient, db: Database, settings: Settings, pio: dict[str, str], slug: str, tampered_db: Database
) -> None:
    answer = translate(web, pio, slug, SPANISH)
    assert answer.status_code == 201
    jwks = web.get("/.well-known/incident-console/keys.json").json()
    check_signed(jwks, answer.json())  # the answer to the POST says what was signed, as later reads do
    for record in (web.get(f"/api/v1/incidents/{slug}").json(), web.get(f"/incidents/{slug}.json").json()):
        check_signed(jwks, record["details_translations"]["es"])  # with `cryptography`
    keys = KeySet.load(settings.signing_key_file)
    with db.read() as session:
        row = session.scalars(select(IncidentDetailsTranslation)).one()
        assert row.content_hash == translation_hash(slug, row, 1) and row.signature_kid == keys.current.kid
        assert verify_signatures(session, keys).problem is None
        row_id = row.id
    # Another row's signature (the details version's) in its place: the hash still holds, the signature not.
    with tampered_db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE details_translations"
                " SET signature_value = (SELECT signature_value FROM incident_details_versions LIMIT 1)"
            )
        )
    with db.read() as session:
        assert verify(session).ok, "only the signature check can see it"
        report = verify(session, keys)
    assert report.version_problem == (
        f"incident details translation {row_id}: its signature does not verify with key "
        f"{keys.current.kid!r} (the row was edited)"
    )


@pytest.mark.parametrize(
    "statement", ["UPDATE details_translations SET title = 'x'", "DELETE FROM details_translations"]
)
def test_the_database_refuses_to_change_a_details_translation(
    web: TestClient, db: Database, pio: dict[str, str], slug: str, statement: str
) -> None:
    assert translate(web, pio, slug, SPANISH).status_code == 201
    with pytest.raises(DatabaseError, match="immutable"), db.engine.begin() as conn:
        conn.execute(text(statement))


def test_the_history_page_names_the_incident_in_the_readers_language(
    web: TestClient, pio: dict[str, str], slug: str
) -> None:
    assert translate(web, pio, slug, SPANISH).status_code == 201
    spanish = web.get(f"/incidents/{slug}/history?lang=es").text
    assert "<h1>Incendio químico: historial</h1>" in spanish
    assert '<p class="lede">Humo sobre el barrio norte.</p>' in spanish and "Calle Olmo 120" in spanish
    english = web.get(f"/incidents/{slug}/history?lang=en").text
    assert "<h1>Chemical fire: history</h1>" in english and "Incendio" not in english
