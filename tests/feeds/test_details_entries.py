"""A correction of an incident's details is a `CORRECTION: incident details` entry in the
incident's feeds and the all-updates feeds (issue 13.5)."""

from __future__ import annotations

import dataclasses

import feedparser

from console.db import Database
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.outbox import Routing
from console.feeds.paths import incident_atom, incident_rss, updates_atom
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import at, make_incident, publish, render


def correct_details(db: Database, routing: Routing, slug: str, draft: DetailsDraft, reason: str) -> None:
    """Details version 2, at minute 2."""
    with db.write() as session:
        change_details(
            session, PIO, slug, draft, reason=reason, corrects_version=1, routing=routing, now=at(2)
        )


def test_a_details_correction_is_an_entry_in_the_feeds(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas laek", location="Elm St")
    publish(db, routing, slug, "Avoid Elm St.", minute=1)
    correct_details(
        db, routing, slug, DetailsDraft(title="Gas leak", location="Elm St and Oak St"), "Typo; wider area"
    )
    publish(db, routing, slug, "Crews on scene.", minute=3)
    for target in (incident_atom(slug), updates_atom()):
        feed = feedparser.parse(render(settings, db, target))
        titles = [entry.title for entry in feed.entries]
        assert titles[1] == "CORRECTION: incident details: Gas leak", titles  # in time order
        entry = feed.entries[1]
        assert entry.link == f"{settings.public_url}/incidents/{slug}/history#details-v2"
        assert "Typo; wider area" in entry.content[0].value
        assert "<del>Gas laek</del> → <ins>Gas leak</ins>" in entry.content[0].value
        assert "<del>Elm St</del> → <ins>Elm St and Oak St</ins>" in entry.content[0].value
    rss = feedparser.parse(render(settings, db, incident_rss(slug)))
    assert "CORRECTION: incident details: Gas leak" in [entry.title for entry in rss.entries]


def test_a_feed_in_another_language_says_it_in_its_words_and_marks_the_primary_text(
    settings: Settings, db: Database, routing: Routing
) -> None:
    settings = dataclasses.replace(settings, languages=("en", "es"))
    slug = make_incident(db, routing, "Gas laek")
    correct_details(db, routing, slug, DetailsDraft(title="Gas leak"), "Typo")
    [spanish] = feedparser.parse(render(settings, db, incident_atom(slug, "es"))).entries
    assert spanish.title == "CORRECCIÓN: detalles del incidente: Gas leak"
    assert spanish.content[0].value == (
        '<p lang="en">Typo</p>'
        '<ul><li>Título: <del lang="en">Gas laek</del> → <ins lang="en">Gas leak</ins></li></ul>'
    )
    # The primary feed as its entries have always been written (an entry keeps its bytes).
    [english] = feedparser.parse(render(settings, db, incident_atom(slug))).entries
    assert english.title == "CORRECTION: incident details: Gas leak"
    assert (
        english.content[0].value
        == "<p>Typo</p><ul><li>title: <del>Gas laek</del> → <ins>Gas leak</ins></li></ul>"
    )
