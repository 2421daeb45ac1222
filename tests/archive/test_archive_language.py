"""The archive, history and corrections pages in the reader's language (issue 13.2): chosen as
the live pages choose it, interface strings from the catalogs, each version in its own
translation when it has one (else the primary text, marked `lang`), and translations found by
the archive search on both engines."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import archive, search
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, Translations, correct_update, publish_update, retract_update
from console.languages import Languages
from console.migrate import alembic_config, upgrade
from console.models import Incident
from console.settings import Settings
from console.web.app import create_app
from tests.archive.conftest import T0, make_incident
from tests.archive.support import element, text
from tests.conftest import PIO

LANGUAGES = Languages(("en", "es"))
SPANISH_V1 = "Los residentes de Elm St deben salir ya."
SPANISH_V2 = "Los residentes de Elm St y Oak St deben salir ya."
SPANISH_SHELTER = "El refugio de la escuela Lincoln está abierto."
UNTRANSLATED = "Crews are on scene."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def translate(
    db: Database, routing: Routing, update_id: int, version: int, body: str, headline: str | None = None
) -> None:
    with db.write() as session:
        add_translation(
            session,
            PIO,
            update_id,
            TranslationDraft(lang="es", body=body, headline=headline),
            version=version,
            languages=LANGUAGES,
            routing=routing,
        )


@pytest.fixture
def slug(db: Database, routing: Routing) -> str:
    """Update 1: an original never translated. Update 2: an original translated into Spanish
    with it, then a correction translated afterwards. Update 3: an original translated
    afterwards, then retracted (the retraction untranslated)."""
    slug = make_incident(db, routing, "Gas leak on Elm St", at=T0, body=UNTRANSLATED)
    with db.write() as session:
        first = publish_update(
            session,
            PIO,
            slug,
            Draft(headline="Evacuate Elm St", body="Residents of Elm St should leave now."),
            routing=routing,
            translations=Translations(
                [TranslationDraft(lang="es", headline="Evacúen Elm St", body=SPANISH_V1)], LANGUAGES
            ),
        ).update.id
        correct_update(
            session,
            PIO,
            first,
            Draft(headline="Evacuate Elm St", body="Residents of Elm and Oak St should leave now."),
            reason="Oak St too",
            corrects_version=1,
            routing=routing,
        )
        second = publish_update(
            session, PIO, slug, Draft(body="The shelter at Lincoln School is open."), routing=routing
        ).update.id
    translate(db, routing, first, 2, SPANISH_V2, "Evacúen Elm St y Oak St")
    translate(db, routing, second, 1, SPANISH_SHELTER)
    with db.write() as session:
        retract_update(session, PIO, second, reason="Wrong school", routing=routing)
    return slug


SPANISH_BROWSER = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
ASKED = ("Accept-Language", "?lang=")  # the two ways a reader arrives in Spanish


def in_spanish(web: TestClient, path: str, asked: str) -> tuple[Mapping[str, str], str]:
    """`path` asked for in Spanish (by the browser's preference, or with `?lang=es`), which it is."""
    if asked == "?lang=":
        response = web.get(path, params={"lang": "es"})
    else:
        response = web.get(path, headers=SPANISH_BROWSER)
    assert response.status_code == 200
    assert response.headers["content-language"] == "es"
    assert '<html lang="es">' in response.text
    return response.headers, response.text


@pytest.mark.parametrize("asked", ASKED)
def test_history_in_spanish(web: TestClient, slug: str, asked: str) -> None:
    headers, page = in_spanish(web, f"/incidents/{slug}/history", asked)
    assert "Historial" in page and "Cada actualización en el orden en que se publicó" in page
    if asked == "Accept-Language":  # negotiated: a shared cache must tell readers apart
        vary = {name.strip() for name in headers["vary"].split(",")}
        assert {"Accept-Language", "Cookie", "HX-Request", "HX-Target"} <= vary
    else:
        assert "lang=es" in headers["set-cookie"], "remembered, as the live pages do"
    assert re.search(
        rf'<link rel="alternate" hreflang="es" href="[^"]*/incidents/{slug}/history\?lang=es">', page
    )

    first = element(page, "update-2-v1")
    assert text(first).startswith("Versión 1: Original PRELIMINAR por Test PIO")
    assert "Evacúen Elm St" in first and SPANISH_V1 in first and "should leave now" not in first
    correction = element(page, "update-2-v2")
    assert SPANISH_V2 in correction, "the correction's own translation"
    assert "Los cambios de abajo se marcan en el texto original" in correction
    # The word diff stays on the English text, and says it is English.
    assert '<div class="change change--inline" lang="en">' in correction
    assert "Residents of Elm <ins>and Oak </ins>St should leave now." in correction
    assert '<strong>Motivo:</strong> <span lang="en">Oak St too</span>' in correction
    heading = element(page, "update-2-title")
    assert text(heading) == "Actualización 2: Evacúen Elm St y Oak St", "the current version's translation"

    untranslated = element(page, "update-1-v1")
    assert f'<div class="version__body" lang="en"><p>{UNTRANSLATED}</p></div>' in untranslated
    retraction = element(page, "update-3-v2")
    assert '<del class="version__withdrawn" lang="en">' in retraction, "the retraction has no translation"


def test_corrections_in_spanish(web: TestClient, slug: str) -> None:
    for asked in ASKED:
        _, page = in_spanish(web, "/corrections", asked)
        assert "Correcciones y retractaciones" in page and "2 en total." in text(page)
        correction = element(page, f"{slug}-update-2-v2")
        assert SPANISH_V2 in correction and "Versión 2: Corrección" in text(correction)
        # The retraction has no translation of its own: its withdrawn text is the English one.
        retraction = element(page, f"{slug}-update-3-v2")
        assert '<del class="version__withdrawn" lang="en">' in retraction
        assert "The shelter at Lincoln School is open." in retraction
        assert "Retirada; el texto permanece en el registro:" in retraction


def test_archive_in_spanish(web: TestClient, slug: str) -> None:
    for asked in ASKED:
        _, page = in_spanish(web, "/archive", asked)
        assert "<h1>Archivo</h1>" in page and '<label for="q">Buscar</label>' in page
        assert """placeholder='palabras, "una frase", -excluida, esto or aquello'""" in page
        assert "Todas las categorías" in page and '<option value="Fire">Incendio</option>' in page
        entry = element(page, "archive-results")
        assert "1 incidente." in text(entry) and "ACTIVO" in text(entry)
        assert f'<a href="/incidents/{slug}/history" lang="en">Gas leak on Elm St</a>' in entry
    web.cookies.clear()  # the choice `?lang=es` made is remembered
    english = web.get("/archive", headers={"Accept-Language": "en"})
    assert english.headers["content-language"] == "en" and "<h1>Archive</h1>" in english.text
    assert 'lang="en">Gas leak' not in english.text, "no marking where the page is in the primary language"


def test_the_language_chooser_keeps_the_search(web: TestClient, slug: str) -> None:
    page = web.get("/archive", params={"q": "gas leak", "category": "Fire", "lang": "en"}).text
    assert '<a href="?q=gas+leak&amp;category=Fire&amp;lang=es" lang="es" hreflang="es">Español</a>' in page
    spanish = web.get("/archive?q=gas+leak&category=Fire&lang=es")
    assert spanish.headers["content-language"] == "es" and 'value="gas leak"' in spanish.text


def test_the_results_fragment_is_in_spanish_too(web: TestClient, slug: str) -> None:
    fragment = web.get(
        "/archive",
        params={"q": "refugio escuela"},
        headers={**SPANISH_BROWSER, "HX-Request": "true", "HX-Target": "archive-results"},
    )
    assert fragment.headers["content-language"] == "es"
    assert fragment.text.lstrip().startswith('<section id="archive-results"')
    assert "1 incidente coincide." in text(fragment.text) and f"/incidents/{slug}/history" in fragment.text


def found(db: Database, query: str) -> list[str]:
    with db.read() as session:
        result = archive.archive_page(
            session, archive.parse_filter(q=query), page=1, zone=ZoneInfo("UTC"), per_page=100
        )
    return [entry.slug for entry in result.entries]


def indexed(db: Database, query: str) -> list[str]:
    """The incidents the search index finds, read without loading incident rows: in a schema
    downgraded below later migrations (e.g. i17_area's column) the models cannot load them."""
    with db.read() as session:
        condition = search.matches(session, search.parse(query))
        return list(session.scalars(select(Incident.slug).where(condition).order_by(Incident.slug)))


def test_spanish_words_find_the_incident_with_a_spanish_translation(
    db: Database, routing: Routing, slug: str
) -> None:
    other = make_incident(db, routing, "Flooded underpass", at=T0, body="The underpass is closed.")
    assert found(db, "refugio escuela") == [slug], "a translation added after its version"
    assert found(db, "evacúen") == [slug], "a translation published with its version"
    assert found(db, '"deben salir"') == [slug]
    assert found(db, "refugio -lincoln") == [], "the translation is part of the incident's document"
    assert found(db, "underpass") == [other]


def test_the_migration_indexes_translations_already_published(
    db: Database, routing: Routing, slug: str
) -> None:
    config = alembic_config()
    try:
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "i16_push")
        assert indexed(db, "refugio") == [], "downgraded: the index holds the versions' text only"
        assert indexed(db, "shelter") == [slug]
    finally:
        upgrade(db)
    assert found(db, "refugio") == [slug]
    assert found(db, "evacúen") == [slug]
    assert found(db, "shelter") == [slug]
