"""/rumors names each response's incident as a reader of the page's language reads it."""

from __future__ import annotations

import re
from dataclasses import replace

from starlette.testclient import TestClient

from console.db import Database
from console.domain.details_translations import DetailsTranslationDraft, translate_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, publish_rumor
from console.languages import Languages
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO

LANGUAGES = Languages(("en", "es"))
ABOUT = re.compile(r'<p class="rumor__meta">\s*(\S+) <a href="/incidents/([a-z0-9-]+)"([^>]*)>([^<]+)</a>')


def test_an_incident_is_named_by_its_translated_title(
    settings: Settings, db: Database, routing: Routing
) -> None:
    with db.write() as session:
        leak, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        flood, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)
        translate_details(
            session,
            PIO,
            leak.slug,
            DetailsTranslationDraft(lang="es", title="Fuga de gas", summary="", location=""),
            version=1,
            languages=LANGUAGES,
            routing=routing,
        )
        for slug in (leak.slug, flood.slug):
            publish_rumor(
                session,
                PIO,
                RumorDraft("The school is closed", "false", "It is open."),
                incident_slug=slug,
                routing=routing,
                languages=LANGUAGES,
            )
    with TestClient(create_app(replace(settings, languages=LANGUAGES.tags))) as client:
        spanish = {
            slug: (attrs, title)
            for _, slug, attrs, title in ABOUT.findall(
                client.get("/rumors", headers={"Accept-Language": "es"}).text
            )
        }
        english = {slug: title for _, slug, _, title in ABOUT.findall(client.get("/rumors").text)}
    assert spanish[leak.slug] == ("", "Fuga de gas")
    assert spanish[flood.slug] == (' lang="en"', "Flood")  # not translated: marked as English
    assert english == {leak.slug: "Gas leak", flood.slug: "Flood"}
