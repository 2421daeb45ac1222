"""Rumor control in the console: a PIO publishes and corrects rumor responses with plain
forms; errors come back with what was typed; a reviewer reads but cannot publish."""

from __future__ import annotations

from dataclasses import replace

import lxml.html
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.rumors import rumor_entries
from console.models import RumorTranslation, RumorVersion
from console.settings import Settings
from console.web.app import create_app
from tests.web.staff.conftest import email_of, sent_fields, sign_in

CLAIM = "The water supply has been poisoned"
SPANISH = {"tr-es-claim": "El agua está envenenada", "tr-es-facts": "El agua es segura."}


def test_a_pio_publishes_and_corrects_a_rumor_response(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    csrf = sign_in(client, email_of("pio"))
    screen = client.get("/console/rumors")
    assert screen.status_code == 200 and "New rumor response" in screen.text
    published = client.post(
        "/console/rumors",
        data={
            "csrf_token": csrf,
            "incident": "",
            "claim": CLAIM,
            "seen_at": "WhatsApp",
            "verdict": "false",
            "facts": "Tests at every plant are normal. Tap water is safe.",
        },
        follow_redirects=False,
    )
    assert published.status_code == 303
    with db.read() as session:
        [entry] = rumor_entries(session)
    assert published.headers["location"] == f"/console/rumors?notice=rumor_published#rumor-{entry.rumor.id}"
    assert (entry.incident_slug, entry.current.verdict.value, entry.current.author_name) == (
        None,
        "false",
        "Pio Person",
    )
    page = client.get(published.headers["location"]).text
    assert f"RUMOR CONTROL: FALSE — “{CLAIM}”" in page and "Rumor response published" in page
    corrected = client.post(
        f"/console/rumors/{entry.rumor.id}/corrections",
        data={
            "csrf_token": csrf,
            "claim": CLAIM,
            "seen_at": "WhatsApp",
            "verdict": "unconfirmed",
            "facts": "One plant is being tested again.",
            "reason": "A lab result is pending",
            "corrects_version": "1",
        },
        follow_redirects=False,
    )
    assert corrected.status_code == 303
    with db.read() as session:
        [entry] = rumor_entries(session)
    assert [v.verdict.value for v in entry.versions] == ["false", "unconfirmed"]
    stale = client.post(
        f"/console/rumors/{entry.rumor.id}/corrections",
        data={
            "csrf_token": csrf,
            "claim": CLAIM,
            "verdict": "true",
            "facts": "Kept text",
            "reason": "r",
            "corrects_version": "1",
        },
    )
    assert stale.status_code == 409 and "Kept text" in stale.text and "version 2 was published" in stale.text


def test_bad_input_comes_back_with_what_was_typed(client: TestClient, people: dict[str, int]) -> None:
    csrf = sign_in(client, email_of("pio"))
    answer = client.post(
        "/console/rumors",
        data={"csrf_token": csrf, "claim": CLAIM, "verdict": "maybe", "facts": ""},
    )
    assert answer.status_code == 422
    assert "must be one of False, Unconfirmed, True" in answer.text and CLAIM in answer.text
    assert "is required and must not be blank" in answer.text


def test_a_reviewer_reads_but_cannot_publish(client: TestClient, people: dict[str, int]) -> None:
    csrf = sign_in(client, email_of("reviewer"))
    screen = client.get("/console/rumors")
    assert screen.status_code == 200 and "New rumor response" not in screen.text
    refused = client.post(
        "/console/rumors", data={"csrf_token": csrf, "claim": CLAIM, "verdict": "false", "facts": "x"}
    )
    assert refused.status_code == 403


def test_a_correction_from_the_console_carries_its_translation_and_an_error_keeps_it(
    settings: Settings, db: Database, people: dict[str, int]
) -> None:
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        csrf = sign_in(client, email_of("pio"))
        refused = client.post(
            "/console/rumors",
            data={"csrf_token": csrf, "claim": CLAIM, "verdict": "false", "facts": "", **SPANISH},
        )
        assert refused.status_code == 422
        assert "El agua está envenenada" in refused.text and "El agua es segura." in refused.text
        data = {"csrf_token": csrf, "claim": CLAIM, "verdict": "false", "facts": "Tap water is safe."}
        assert (
            client.post("/console/rumors", data={**data, **SPANISH}, follow_redirects=False).status_code
            == 303
        )
        with db.read() as session:
            [entry] = rumor_entries(session)
        form = client.get("/console/rumors").text
        assert 'name="tr-es-facts"' in form.split(f"/console/rumors/{entry.rumor.id}/corrections")[1]
        correction = {
            **data,
            "facts": "One plant is being tested again.",
            "reason": "A lab result is pending",
            "corrects_version": "1",
            "tr-es-claim": "El agua está envenenada",
            "tr-es-facts": "Se vuelve a analizar una planta.",
        }
        answer = client.post(
            f"/console/rumors/{entry.rumor.id}/corrections", data=correction, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
    with db.read() as session:
        translated = session.execute(
            select(RumorVersion.version, RumorTranslation.facts)
            .join(RumorTranslation, RumorTranslation.rumor_version_id == RumorVersion.id)
            .order_by(RumorVersion.version)
        ).all()
    assert [tuple(row) for row in translated] == [
        (1, "El agua es segura."),
        (2, "Se vuelve a analizar una planta."),
    ]


def _form(page: str, action: str) -> dict[str, str]:
    """What a browser sends from the rumor screen's form posting to `action`."""
    [form] = lxml.html.fromstring(page).xpath(f'//form[@action="{action}"]')
    return sent_fields(form)


def test_publish_clicked_twice_publishes_one_rumor_response(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    sign_in(client, email_of("pio"))
    sent = {
        **_form(client.get("/console/rumors").text, "/console/rumors"),
        "claim": CLAIM,
        "verdict": "false",
        "facts": "Tap water is safe.",
    }
    first = client.post("/console/rumors", data=sent, follow_redirects=False)
    second = client.post("/console/rumors", data=sent, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert second.headers["location"] == first.headers["location"]
    with db.read() as session:
        assert len(rumor_entries(session)) == 1  # one post on X, not two
    # A new page is a new form: the same words published from it are a second response.
    again = {**sent, "submission": _form(client.get("/console/rumors").text, "/console/rumors")["submission"]}
    assert client.post("/console/rumors", data=again, follow_redirects=False).status_code == 303
    with db.read() as session:
        assert len(rumor_entries(session)) == 2


def test_a_correction_clicked_twice_lands_on_it_not_on_a_conflict_with_itself(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    csrf = sign_in(client, email_of("pio"))
    data = {"csrf_token": csrf, "claim": CLAIM, "verdict": "false", "facts": "Tap water is safe."}
    assert client.post("/console/rumors", data=data, follow_redirects=False).status_code == 303
    with db.read() as session:
        [entry] = rumor_entries(session)
    action = f"/console/rumors/{entry.rumor.id}/corrections"
    sent = {
        **_form(client.get("/console/rumors").text, action),
        "verdict": "unconfirmed",
        "facts": "One plant is being tested again.",
        "reason": "A lab result is pending",
    }
    first = client.post(action, data=sent, follow_redirects=False)
    second = client.post(action, data=sent, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert second.headers["location"] == first.headers["location"]
    with db.read() as session:
        [entry] = rumor_entries(session)
    assert entry.current.version == 2
    # The same form with other words is not taken for the first: it is shown back, kept.
    other = client.post(action, data={**sent, "facts": "All plants are fine."})
    assert other.status_code == 409 and "All plants are fine." in other.text
    assert "already used" in other.text


def test_correcting_a_rumor_response_that_does_not_exist_says_so(
    client: TestClient, people: dict[str, int]
) -> None:
    csrf = sign_in(client, email_of("pio"))
    answer = client.post(
        "/console/rumors/99999/corrections",
        data={"csrf_token": csrf, "claim": CLAIM, "verdict": "false", "facts": "x", "reason": "y"},
    )
    assert answer.status_code == 404
    assert "no rumor response with id 99999" in answer.text
