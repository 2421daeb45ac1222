"""A feed holds its FEEDS_MAX_ENTRIES newest entries, newest first, of every kind together:
versions of updates, corrections of incident details and rumor responses, with no gap."""

from __future__ import annotations

from dataclasses import replace

import feedparser
import pytest

from console.db import Database
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, publish_rumor
from console.feeds.paths import incident_atom, incident_rss, updates_atom, updates_rss
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import at, make_incident, publish, render

RUMOR_3 = "RUMOR CONTROL: FALSE — “Rumor 3”"
DETAILS = "CORRECTION: incident details: Gas leak"
UPDATES = ["Update 1.", "Update 2.", "Update 3."]


@pytest.mark.parametrize(
    ("max_entries", "expected"),
    [
        (2, ["Update 3.", "Update 2."]),
        (5, ["Update 3.", "Update 2.", "Update 1.", DETAILS, RUMOR_3]),
    ],
)
def test_a_feed_holds_its_newest_entries_of_every_kind(
    settings: Settings, db: Database, routing: Routing, max_entries: int, expected: list[str]
) -> None:
    settings = replace(settings, feeds_max_entries=max_entries)
    slug = make_incident(db, routing, "Gas laek")
    for number in (1, 2, 3):
        with db.write() as session:
            publish_rumor(
                session,
                PIO,
                RumorDraft(claim=f"Rumor {number}", verdict="False", facts="Not so."),
                incident_slug=slug,
                routing=routing,
                languages=Languages(settings.languages),
                now=at(number),
            )
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(title="Gas leak"),
            reason="Typo",
            corrects_version=1,
            routing=routing,
            now=at(4),
        )
    for number, body in enumerate(UPDATES, start=5):
        publish(db, routing, slug, body, preliminary=False, minute=number)
    for target in (updates_atom(), updates_rss(), incident_atom(slug), incident_rss(slug)):
        feed = feedparser.parse(render(settings, db, target))
        assert [entry.title for entry in feed.entries] == expected, target
