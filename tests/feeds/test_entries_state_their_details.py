"""A feed entry names its incident as it was when the entry was published (issue 13.5): a later
correction of the incident's details, or a translation of them, is an entry of its own and
never rewrites one already read (same id, same `updated`, same bytes)."""

from __future__ import annotations

from dataclasses import replace

import feedparser
from lxml import etree

from console.db import Database
from console.domain.details_translations import DetailsTranslationDraft, translate_details
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, publish_rumor
from console.feeds.paths import CAP_INDEX, Target, cap_message, incident_atom, incident_rss, updates_atom
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import CAP_NS, at, make_incident, publish, render

ATOM = {"atom": "http://www.w3.org/2005/Atom"}
GAS_LEAK = DetailsDraft(title="Gas leak", location="Pine St", category="Safety", alert_status="actual")


def change(
    db: Database, routing: Routing, slug: str, draft: DetailsDraft, corrects: int, minute: int
) -> None:
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            draft,
            reason="It is real",
            corrects_version=corrects,
            routing=routing,
            now=at(minute),
        )


def translate(
    settings: Settings,
    db: Database,
    routing: Routing,
    slug: str,
    version: int,
    title: str,
    location: str,
    minute: int,
) -> None:
    with db.write() as session:
        translate_details(
            session,
            PIO,
            slug,
            DetailsTranslationDraft(lang="es", title=title, summary="Hay bomberos.", location=location),
            version=version,
            languages=Languages(settings.languages),
            routing=routing,
            now=at(minute),
        )


def entries(settings: Settings, db: Database, target: Target) -> dict[str, str]:
    """Each Atom entry's bytes, by its id."""
    root = etree.fromstring(render(settings, db, target))
    return {
        entry.findtext("atom:id", namespaces=ATOM) or "": etree.tostring(entry, encoding="unicode")
        for entry in root.iterfind("atom:entry", ATOM)
    }


def test_a_details_correction_leaves_the_entries_published_before_it_as_they_were(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(
        db, routing, "Chemical fire", location="Elm St", category="Fire", alert_status="exercise"
    )
    publish(db, routing, slug, "Evacuate Oak St now.", preliminary=False, minute=1)
    with db.write() as session:
        rumor = RumorDraft(claim="The plant exploded", verdict="False", facts="A small fire, out.")
        publish_rumor(
            session,
            PIO,
            rumor,
            incident_slug=slug,
            routing=routing,
            languages=Languages(settings.languages),
            now=at(2),
        )
    feeds = (incident_atom(slug), updates_atom(), CAP_INDEX)
    before = {target: entries(settings, db, target) for target in feeds}
    change(db, routing, slug, GAS_LEAK, corrects=1, minute=3)

    for target in feeds:
        after = entries(settings, db, target)
        for entry_id, was in before[target].items():
            assert after[entry_id] == was, (target, entry_id)
    for target in (incident_atom(slug), updates_atom(), incident_rss(slug)):
        feed = feedparser.parse(render(settings, db, target))
        details, rumor_entry, update = feed.entries
        assert details.title == "CORRECTION: incident details: Gas leak"
        assert details.tags[0].term == "Safety"
        assert rumor_entry.title == "EXERCISE: RUMOR CONTROL: FALSE — “The plant exploded”"
        assert update.title == "EXERCISE: Evacuate Oak St now."
        assert update.tags[0].term == "Fire"
        assert "Chemical fire · Elm St" in update.description
        assert "Gas leak" not in update.description and "Pine St" not in update.description
    # What the entry says, its CAP message says too.
    cap = etree.fromstring(render(settings, db, cap_message(slug, 1, 1)))
    assert cap.findtext("cap:status", namespaces={"cap": CAP_NS}) == "Exercise"
    # An update published after the correction names the incident as corrected.
    publish(db, routing, slug, "Stay away from Pine St.", preliminary=False, minute=4)
    newest = feedparser.parse(render(settings, db, incident_atom(slug))).entries[0]
    assert newest.title == "Stay away from Pine St." and newest.tags[0].term == "Safety"
    assert "Gas leak · Pine St" in newest.description


def test_a_later_details_translation_leaves_the_entries_in_that_language_as_they_were(
    settings: Settings, db: Database, routing: Routing
) -> None:
    settings = replace(settings, languages=("en", "es"))
    slug = make_incident(db, routing, "Chemical fire", location="Elm St")
    publish(db, routing, slug, "Evacuate Oak St now.", preliminary=False, minute=1)
    translate(settings, db, routing, slug, 1, "Incendio químico", "Calle Olmo", minute=2)
    feeds = (incident_atom(slug, "es"), updates_atom("es"))
    before = {target: entries(settings, db, target) for target in feeds}
    [(_, first)] = before[incident_atom(slug, "es")].items()
    assert "Incendio químico · Calle Olmo" in first

    change(db, routing, slug, DetailsDraft(title="Gas leak", location="Pine St"), corrects=1, minute=3)
    # untranslated yet, and then translated: the entry published before reads as it did
    for minute in (None, 4):
        if minute is not None:
            translate(settings, db, routing, slug, 2, "Fuga de gas", "Calle Pino", minute=minute)
        for target in feeds:
            after = entries(settings, db, target)
            for entry_id, was in before[target].items():
                assert after[entry_id] == was, (target, entry_id, minute)
    publish(db, routing, slug, "Stay away from Pine St.", preliminary=False, minute=5)
    newest = feedparser.parse(render(settings, db, incident_atom(slug, "es"))).entries[0]
    assert "Fuga de gas · Calle Pino" in newest.description


def test_a_details_correction_entry_names_the_incident_as_that_correction_left_it(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Chemical fire", location="Elm St", category="Fire")
    change(db, routing, slug, GAS_LEAK, corrects=1, minute=1)
    before = entries(settings, db, incident_atom(slug))
    change(
        db, routing, slug, DetailsDraft(title="Gas leak at the plant", category="Env"), corrects=2, minute=2
    )
    after = entries(settings, db, incident_atom(slug))
    assert {entry_id: after[entry_id] for entry_id in before} == before
    newest, first = feedparser.parse(render(settings, db, updates_atom())).entries
    assert (newest.title, newest.tags[0].term) == (
        "CORRECTION: incident details: Gas leak at the plant",
        "Env",
    )
    assert (first.title, first.tags[0].term) == ("CORRECTION: incident details: Gas leak", "Safety")
