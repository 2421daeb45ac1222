"""Translations in the console: sent with a new update or a correction, added later on the
update's screen, and listed while missing or stale; with the console's CSRF and access rules."""

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
from console.domain.updates import Draft, publish_update
from console.models import Translation, UpdateVersion
from console.settings import Settings
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, row_counts, sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es", "vi"))


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        return created.slug


@pytest.fixture
def published(db: Database, routing: Routing, incident: str) -> int:
    with db.write() as session:
        return publish_update(
            session, PIO, incident, Draft(body="Evacuate Elm St now."), routing=routing
        ).update.id


def translations(db: Database) -> list[tuple[int, str, str | None, str]]:
    with db.read() as session:
        rows = session.execute(
            select(UpdateVersion.version, Translation.lang, Translation.headline, Translation.body)
            .join(UpdateVersion, Translation.version_id == UpdateVersion.id)
            .order_by(Translation.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_new_update_is_published_with_its_translations(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/incidents/{incident}").text
    assert "<legend>Spanish</legend>" in page and 'name="tr-vi-body"' in page
    form = {
        "body": "Stay indoors.",
        "preliminary": "on",
        "tr-es-headline": "Quédense dentro",
        "tr-es-body": "Permanezcan en casa.",
        "tr-vi-headline": "",
        "tr-vi-body": "",
        "csrf_token": token,
    }
    review = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    assert review.status_code == 200
    assert 'name="tr-es-body" value="Permanezcan en casa."' in review.text, "carried through the check"
    assert 'name="tr-vi-body"' not in review.text
    done = client.post(
        f"/console/incidents/{incident}/updates", data={**form, "step": "publish"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert translations(db) == [(1, "es", "Quédense dentro", "Permanezcan en casa.")]
    # Vietnamese is missing: the incident screen and the dashboard say so, with a link to fix it.
    screen = client.get(f"/console/incidents/{incident}").text
    assert "Translations missing or stale" in screen and 'href="/console/updates/1#translations"' in screen
    assert "missing: Vietnamese" in client.get("/console").text


def test_a_bad_translation_is_refused_with_the_text_kept(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    before = row_counts(db)
    form = {"body": "Stay indoors.", "tr-es-headline": "Quédense", "tr-es-body": " ", "csrf_token": token}
    review = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    assert review.status_code == 422
    assert 'id="compose-tr-es-body-error"' in review.text and 'value="Quédense"' in review.text
    published = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "publish"})
    assert published.status_code == 422 and 'id="compose-tr-es-body-error"' in published.text
    assert row_counts(db) == before


def test_a_correction_makes_translations_stale_unless_sent_with_it(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Evacuate Elm St now."), routing=routing
        ).update.id
    token = sign_in(client, email_of("pio"))
    client.post(
        f"/console/updates/{update_id}/translations",
        data={"lang": "es", "body": "Evacúen Elm St ya.", "version": "1", "csrf_token": token},
    )
    client.post(
        f"/console/updates/{update_id}/translations",
        data={"lang": "vi", "body": "Sơ tán Elm St ngay.", "version": "1", "csrf_token": token},
    )
    correction = {
        "body": "Evacuate Elm and Oak St now.",
        "reason": "Oak St too",
        "corrects_version": "1",
        "tr-es-body": "Evacúen Elm y Oak St ya.",
        "csrf_token": token,
    }
    review = client.post(f"/console/updates/{update_id}/corrections", data={**correction, "step": "review"})
    assert 'name="tr-es-body" value="Evacúen Elm y Oak St ya."' in review.text
    done = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**correction, "step": "publish"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert translations(db)[-1] == (2, "es", None, "Evacúen Elm y Oak St ya.")
    screen = client.get(f"/console/updates/{update_id}").text
    assert 'data-lang="es"' in screen and 'translation-row--current" data-lang="es"' in screen
    assert 'translation-row--stale" data-lang="vi"' in screen
    assert "Translation of version 1" in screen and "Sơ tán Elm St ngay." in screen
    assert "stale: Vietnamese" in client.get("/console").text


def test_the_correct_form_starts_with_each_translation_and_sends_only_those_changed(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    """Issue 13.2: the correct form is pre-filled with every current translation and shows
    the primary change beside each; a translation left as it was is not sent (it describes
    the old version, so it goes stale), one brought up to date goes out with the correction."""
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Evacuate Elm St now."), routing=routing
        ).update.id
    token = sign_in(client, email_of("pio"))
    for lang, body in (("es", "Evacúen Elm St ya."), ("vi", "Sơ tán Elm St ngay.")):
        client.post(
            f"/console/updates/{update_id}/translations",
            data={"lang": lang, "body": body, "version": "1", "csrf_token": token},
        )
    screen = client.get(f"/console/updates/{update_id}").text
    form = screen[screen.index('id="correct-form"') :]
    assert ">Evacúen Elm St ya.</textarea>" in form and ">Sơ tán Elm St ngay.</textarea>" in form
    assert 'name="tr-es-body-prefilled" value="Evacúen Elm St ya."' in form
    assert 'id="correct-tr-es-change"' in form and 'id="correct-tr-vi-change"' in form

    typed = {
        "body": "Evacuate Elm and Oak St now.",
        "reason": "Oak St too",
        "corrects_version": "1",
        "tr-es-body": "Evacúen Elm y Oak St ya.",
        "tr-es-body-prefilled": "Evacúen Elm St ya.",
        "tr-vi-body": "Sơ tán Elm St ngay.",  # left as pre-filled
        "tr-vi-body-prefilled": "Sơ tán Elm St ngay.",
        "csrf_token": token,
    }
    preview = client.post(f"/console/updates/{update_id}/preview", data=typed, headers={"HX-Request": "true"})
    assert '<div class="diff" id="correct-tr-vi-change" data-hx-swap-oob="true">' in preview.text
    assert "Elm <ins>and Oak </ins>St now." in preview.text.split('id="correct-tr-vi-change"')[1]

    review = client.post(f"/console/updates/{update_id}/corrections", data={**typed, "step": "review"})
    assert "Not changed, so not sent: Vietnamese." in review.text
    assert 'name="tr-vi-body-prefilled" value="Sơ tán Elm St ngay."' in review.text, "kept for Back to edit"
    done = client.post(
        f"/console/updates/{update_id}/corrections", data={**typed, "step": "publish"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert [row for row in translations(db) if row[0] == 2] == [(2, "es", None, "Evacúen Elm y Oak St ya.")]
    screen = client.get(f"/console/updates/{update_id}").text
    assert 'translation-row--stale" data-lang="vi"' in screen


def test_adding_a_translation_on_the_update_screen(client: TestClient, db: Database, published: int) -> None:
    token = sign_in(client, email_of("pio"))
    screen = client.get(f"/console/updates/{published}").text
    assert "Translations of version 1" in screen
    assert 'translation-row--missing" data-lang="es"' in screen
    added = client.post(
        f"/console/updates/{published}/translations",
        data={
            "lang": "es",
            "headline": "",
            "body": "Evacúen Elm St ya.",
            "version": "1",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"].endswith("?notice=translated#translations")
    assert translations(db) == [(1, "es", None, "Evacúen Elm St ya.")]
    assert 'translation-row--current" data-lang="es"' in client.get(f"/console/updates/{published}").text


def test_publish_translation_clicked_twice_publishes_it_once(
    client: TestClient, db: Database, published: int
) -> None:
    token = sign_in(client, email_of("pio"))
    screen = client.get(f"/console/updates/{published}").text
    forms = re.findall(
        r'name="lang" value="(\w+)">\s*<input type="hidden" name="version" value="1">\s*'
        r'<input type="hidden" name="submission" value="([^"]+)">',
        screen,
    )
    tokens = dict(forms)
    assert set(tokens) == {"es", "vi"} and tokens["es"] != tokens["vi"]  # one token a form
    sent = {"lang": "es", "headline": "", "body": "Evacúen Elm St ya.", "version": "1"}
    sent |= {"csrf_token": token, "submission": html.unescape(tokens["es"])}
    first = client.post(f"/console/updates/{published}/translations", data=sent, follow_redirects=False)
    counts = row_counts(db)
    again = client.post(f"/console/updates/{published}/translations", data=sent, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert row_counts(db) == counts and translations(db) == [(1, "es", None, "Evacúen Elm St ya.")]
    # The same form with other words is refused, the text kept; nothing is written.
    swapped = client.post(
        f"/console/updates/{published}/translations",
        data={**sent, "body": "Otra cosa."},
        follow_redirects=False,
    )
    assert swapped.status_code == 409 and "already used" in html.unescape(swapped.text)
    assert "Otra cosa." in swapped.text and row_counts(db) == counts


def test_a_translation_of_an_older_version_is_refused_and_kept(
    client: TestClient, db: Database, routing: Routing, published: int
) -> None:
    token = sign_in(client, email_of("pio"))
    client.post(
        f"/console/updates/{published}/corrections",
        data={
            "body": "Evacuate Elm and Oak St.",
            "reason": "Oak St too",
            "corrects_version": "1",
            "step": "publish",
            "csrf_token": token,
        },
    )
    before = row_counts(db)
    late = client.post(
        f"/console/updates/{published}/translations",
        data={"lang": "es", "body": "Evacúen Elm St ya.", "version": "1", "csrf_token": token},
    )
    assert late.status_code == 409
    assert "Version 2 was published since you started" in late.text
    assert "Evacúen Elm St ya." in late.text, "what the translator typed is kept"
    assert row_counts(db) == before


def test_reviewers_see_translations_but_cannot_add_them(
    client: TestClient, db: Database, published: int
) -> None:
    token = sign_in(client, email_of("reviewer"))
    screen = client.get(f"/console/updates/{published}").text
    assert "Translations of version 1" in screen and 'action="/console/updates/1/translations"' not in screen
    refused = client.post(
        f"/console/updates/{published}/translations",
        data={"lang": "es", "body": "Evacúen.", "version": "1", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert translations(db) == []


def test_without_the_csrf_token_nothing_is_written(client: TestClient, db: Database, published: int) -> None:
    sign_in(client, email_of("pio"))
    refused = client.post(
        f"/console/updates/{published}/translations",
        data={"lang": "es", "body": "Evacúen.", "version": "1"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert translations(db) == []
