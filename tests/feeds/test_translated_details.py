"""The incident feeds in a language its details are translated into carry the translated title,
summary and location (issue 13.2); the primary feeds keep the primary text."""

from __future__ import annotations

from dataclasses import replace

import feedparser
import pytest

from console.db import Database
from console.domain.details_translations import DetailsTranslationDraft, translate_details
from console.domain.outbox import Routing
from console.feeds.paths import incident_atom, updates_atom
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import at, make_incident, publish, render


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


def test_a_feed_in_the_translation_language_names_the_incident_in_it(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Chemical fire", location="120 Elm St")
    publish(db, routing, slug, "Stay indoors.", minute=1)
    untranslated = feedparser.parse(render(settings, db, incident_atom(slug, "es")))
    assert untranslated.feed.title == "Chemical fire (Español)"
    with db.write() as session:
        translate_details(
            session,
            PIO,
            slug,
            DetailsTranslationDraft(
                lang="es", title="Incendio químico", summary="Hay bomberos.", location="Calle Olmo 120"
            ),
            version=1,
            languages=Languages(settings.languages),
            routing=routing,
            now=at(2),
        )
    spanish = feedparser.parse(render(settings, db, incident_atom(slug, "es")))
    assert spanish.feed.title == "Incendio químico (Español)"
    assert spanish.feed.subtitle == "Hay bomberos."
    assert "Incendio químico · Calle Olmo 120" in spanish.entries[0].content[0].value
    every_incident = feedparser.parse(render(settings, db, updates_atom("es")))
    assert "Incendio químico · Calle Olmo 120" in every_incident.entries[0].content[0].value
    english = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert english.feed.title == "Chemical fire" and "Incendio" not in str(english)
