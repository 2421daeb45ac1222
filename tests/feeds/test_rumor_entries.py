"""Rumor responses in the feeds (issue 19): each version a `RUMOR CONTROL: VERDICT — “claim”`
entry, in the all-updates feeds and, when about an incident, in that incident's feeds;
never in CAP (a verdict on a claim is not a hazard)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import feedparser

from console.db import Database
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, RumorTranslationDraft, correct_rumor, publish_rumor
from console.feeds.paths import Target, incident_atom, incident_rss, updates_atom
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import at, deliveries, drain, make_incident, publish

SHOOTER = RumorDraft(
    claim="There is a second shooter at the mall",
    verdict="False",
    facts="One suspect was involved and is in custody.",
)
WATER = RumorDraft(claim="The tap water is poisoned", verdict="False", facts="The water is safe to drink.")


def feed(settings: Settings, target: Target) -> feedparser.FeedParserDict:
    """What the feeds channel wrote."""
    return feedparser.parse(target.file_in(settings.feeds_dir).read_bytes())


def test_rumor_responses_are_entries_in_the_feeds_each_version_its_own(
    settings: Settings, db: Database, routing: Routing
) -> None:
    settings = dataclasses.replace(settings, languages=("en", "es"))
    languages = Languages(settings.languages)
    slug = make_incident(db, routing, "Mall shooting")
    other = make_incident(db, routing, "Water main break")
    publish(db, routing, slug, "Avoid the mall.", minute=1)
    with db.write() as session:
        rumor = publish_rumor(
            session,
            PIO,
            SHOOTER,
            incident_slug=slug,
            routing=routing,
            languages=languages,
            translations=[RumorTranslationDraft("es", "Hay un segundo tirador", "Hubo un solo sospechoso.")],
            now=at(2),
        ).rumor.id
        publish_rumor(
            session, PIO, WATER, incident_slug=None, routing=routing, languages=languages, now=at(3)
        )
        correct_rumor(
            session,
            PIO,
            rumor,
            dataclasses.replace(SHOOTER, verdict="Unconfirmed"),
            reason="A second report is being checked",
            corrects_version=1,
            routing=routing,
            languages=languages,
            now=at(4),
        )
    drain(settings, db)
    assert {d.state.value for d in deliveries(db, "feeds")} == {"sent"}

    everything = feed(settings, updates_atom())
    titles = [entry.title for entry in everything.entries]
    assert titles[:3] == [
        "RUMOR CONTROL: UNCONFIRMED — “There is a second shooter at the mall”",
        "RUMOR CONTROL: FALSE — “The tap water is poisoned”",
        "RUMOR CONTROL: FALSE — “There is a second shooter at the mall”",
    ], titles
    corrected, _, first = everything.entries[:3]
    assert corrected.id != first.id  # a correction never rewrites the entry readers already have
    assert corrected.link == f"{settings.public_url}/rumors#rumor-{rumor}"
    assert "A second report is being checked" in corrected.content[0].value
    assert "<q>There is a second shooter at the mall</q>" in first.content[0].value

    mine = [entry.title for entry in feed(settings, incident_atom(slug)).entries]
    assert sum("RUMOR CONTROL" in title for title in mine) == 2 and not any("tap water" in t for t in mine)
    rss = [entry.title for entry in feed(settings, incident_rss(slug)).entries]
    assert "RUMOR CONTROL: FALSE — “There is a second shooter at the mall”" in rss
    theirs = [entry.title for entry in feed(settings, incident_atom(other)).entries]
    assert not any("RUMOR CONTROL" in title for title in theirs)

    spanish = [entry.title for entry in feed(settings, updates_atom("es")).entries]
    assert "CONTROL DE RUMORES: FALSO — “Hay un segundo tirador”" in spanish
    # no CAP message: the CAP files are the update's only
    assert not any("rumor" in path.name for path in Path(settings.feeds_dir).rglob("*.xml"))
