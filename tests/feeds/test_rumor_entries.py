"""Rumor responses in the feeds (issue 19): each version a `RUMOR CONTROL: VERDICT — “claim”`
entry, in the all-updates feeds and, when about an incident, in that incident's feeds;
never in CAP (a verdict on a claim is not a hazard)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import feedparser
from starlette.testclient import TestClient

from console.db import Database
from console.domain import wording
from console.domain.outbox import Routing
from console.domain.post_runs import TextRules
from console.domain.rumors import RumorDraft, RumorTranslationDraft, correct_rumor, publish_rumor
from console.feeds.paths import Target, incident_atom, incident_rss, updates_atom, updates_rss
from console.languages import Languages
from console.settings import Settings
from console.social import compose
from console.web.app import create_app
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
        "CORRECTION: RUMOR CONTROL: UNCONFIRMED — “There is a second shooter at the mall”",
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


def test_a_corrected_rumor_response_is_titled_a_correction_in_every_feed_and_language(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """FALSE, then corrected to TRUE: the correction's entry opens with the CORRECTION label
    (in the feed's language, as an update correction's title does), the original's does not."""
    settings = dataclasses.replace(settings, languages=("en", "es"))
    languages = Languages(settings.languages)
    slug = make_incident(db, routing, "Bridge incident")
    bridge = RumorDraft(claim="The bridge collapsed", verdict="False", facts="The bridge is standing.")
    with db.write() as session:
        rumor = publish_rumor(
            session, PIO, bridge, incident_slug=slug, routing=routing, languages=languages, now=at(1)
        ).rumor.id
        correct_rumor(
            session,
            PIO,
            rumor,
            dataclasses.replace(bridge, verdict="True", facts="Part of the bridge collapsed."),
            reason="New information from engineers",
            corrects_version=1,
            routing=routing,
            languages=languages,
            translations=[RumorTranslationDraft("es", "El puente se derrumbó", "Parte del puente cayó.")],
            now=at(2),
        )
    drain(settings, db)
    english = (
        "CORRECTION: RUMOR CONTROL: TRUE — “The bridge collapsed”",
        "RUMOR CONTROL: FALSE — “The bridge collapsed”",
    )
    for target in (updates_atom(), updates_rss(), incident_atom(slug), incident_rss(slug)):
        titles = [entry.title for entry in feed(settings, target).entries if "RUMOR" in entry.title]
        assert tuple(titles) == english, (target, titles)
    spanish = (updates_atom("es"), updates_rss("es"), incident_atom(slug, "es"), incident_rss(slug, "es"))
    for target in spanish:
        corrected_es, first_es = [e.title for e in feed(settings, target).entries if "RUMORES" in e.title]
        assert corrected_es.startswith("CORRECCIÓN: CONTROL DE RUMORES: "), (target, corrected_es)
        assert corrected_es.endswith("“El puente se derrumbó”") and "CORRECCIÓN" not in first_es
    [corrected] = [e for e in feed(settings, updates_atom()).entries if e.title.startswith("CORRECTION")]
    assert "New information from engineers" in corrected.content[0].value


def test_a_rumor_response_about_an_exercise_says_so_first_in_the_feeds_and_posts(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """As every update of an exercise opens with EXERCISE: on every channel, its rumor responses do."""
    slug = make_incident(db, routing, "Flood drill", alert_status="exercise")
    with db.write() as session:
        published = publish_rumor(
            session, PIO, WATER, incident_slug=slug, routing=routing, languages=Languages(("en",)), now=at(1)
        )
        [post] = compose.posts(
            session, published.event, settings.public_url, TextRules(wording.mastodon_weight, 500)
        )
    drain(settings, db)
    title = "EXERCISE: RUMOR CONTROL: FALSE — “The tap water is poisoned”"
    assert [e.title for e in feed(settings, incident_atom(slug)).entries if "RUMOR" in e.title] == [title]
    assert post.startswith(f"{title} The water is safe to drink.")
    with TestClient(create_app(settings)) as client:
        for page in (client.get("/rumors").text, client.get(f"/incidents/{slug}").text):
            headline = page.split('class="rumor__headline">', 1)[1]
            assert headline.startswith('<strong class="badge badge--exercise">EXERCISE</strong> ')
