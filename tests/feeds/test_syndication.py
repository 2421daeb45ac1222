"""Atom and RSS: one entry per published version under a permanent id, titles in the one
vocabulary, corrections as new entries, byte-identical re-renders, markup kept inert."""

from __future__ import annotations

from dataclasses import replace

import feedparser
import lxml.html
from lxml import etree

from console.db import Database
from console.domain import wording
from console.domain.incidents import get_incident
from console.domain.outbox import Routing
from console.feeds.paths import CAP_INDEX, UPDATES_ATOM, UPDATES_RSS, incident_atom, incident_rss
from console.models import AlertStatus, VersionKind
from console.settings import Settings
from tests.feeds.conftest import Sample, at, correct, make_incident, publish, render

ATOM = "{http://www.w3.org/2005/Atom}"


def parsed(content: bytes) -> feedparser.FeedParserDict:
    feed = feedparser.parse(content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def atom_entries(content: bytes) -> list[etree._Element]:
    return etree.fromstring(content).findall(f"{ATOM}entry")


def test_every_feed_parses_without_bozo(settings: Settings, db: Database, sample: Sample) -> None:
    targets = [
        UPDATES_ATOM,
        UPDATES_RSS,
        CAP_INDEX,
        incident_atom(sample.slug),
        incident_rss(sample.slug),
        incident_atom(sample.other_slug),
        incident_rss(sample.other_slug),
    ]
    counts = {target.url_path: len(parsed(render(settings, db, target)).entries) for target in targets}
    assert counts == {
        "/feeds/updates.atom": 6,
        "/feeds/updates.rss": 6,
        "/feeds/cap.atom": 3,  # the current message of each of the three updates
        f"/incidents/{sample.slug}/feed.atom": 5,
        f"/incidents/{sample.slug}/feed.rss": 5,
        f"/incidents/{sample.other_slug}/feed.atom": 1,
        f"/incidents/{sample.other_slug}/feed.rss": 1,
    }


def test_one_entry_per_version_newest_first_titled_in_the_one_vocabulary(
    settings: Settings, db: Database, sample: Sample
) -> None:
    feed = parsed(render(settings, db, UPDATES_ATOM))
    host = "127.0.0.1"  # PUBLIC_URL's host, without the port
    day = "2026-03-14"
    assert [(e.id, e.title) for e in feed.entries] == [
        (f"tag:{host},{day}:incidents/{sample.other_slug}/updates/1/versions/1", "5th St closed."),
        (f"tag:{host},{day}:incidents/gas-leak/updates/1/versions/4", "RETRACTED: Evacuate Elm St."),
        (f"tag:{host},{day}:incidents/gas-leak/updates/2/versions/1", "PRELIMINARY: Road closed at 3rd Ave."),
        (f"tag:{host},{day}:incidents/gas-leak/updates/1/versions/3", "CONFIRMED: Evacuate Elm St."),
        (
            f"tag:{host},{day}:incidents/gas-leak/updates/1/versions/2",
            "CORRECTION: PRELIMINARY: Evacuate Elm St.",
        ),
        (f"tag:{host},{day}:incidents/gas-leak/updates/1/versions/1", "PRELIMINARY: Evacuation"),
    ]
    titles = [e.title for e in feed.entries]
    assert titles[1] == wording.entry_title(VersionKind.RETRACTION, False, None, "Evacuate Elm St.")
    retraction = feed.entries[1]
    assert retraction.published_parsed[:6] == retraction.updated_parsed[:6] == at(5).timetuple()[:6]
    assert retraction.link == f"{settings.public_url}/incidents/gas-leak#update-1"
    assert [t.term for t in retraction.tags] == ["Fire"]
    assert feed.entries[0].tags[0].term == "Infra"
    assert feed.feed.updated_parsed[:6] == at(7).timetuple()[:6], "the feed changed when its newest entry did"


def test_rss_guids_are_the_permanent_ids_and_not_permalinks(
    settings: Settings, db: Database, sample: Sample
) -> None:
    atom_ids = [e.id for e in parsed(render(settings, db, UPDATES_ATOM)).entries]
    rss = etree.fromstring(render(settings, db, UPDATES_RSS))
    guids = rss.findall("channel/item/guid")
    assert [g.text for g in guids] == atom_ids
    assert {g.get("isPermaLink") for g in guids} == {"false"}
    dates = [d.text for d in rss.findall("channel/item/pubDate")]
    assert dates[0] == "Sat, 14 Mar 2026 09:37:15 +0000"


def test_a_correction_keeps_the_original_entry_and_adds_a_new_one(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Bridge closure")
    update = publish(db, routing, slug, "Bridge closed northbound.", minute=1)
    before = {
        e.findtext(f"{ATOM}id"): etree.tostring(e) for e in atom_entries(render(settings, db, UPDATES_ATOM))
    }
    correct(db, routing, update, "Bridge closed in both directions.", "Both directions", corrects=1, minute=2)
    after_content = render(settings, db, UPDATES_ATOM)
    after = {e.findtext(f"{ATOM}id"): etree.tostring(e) for e in atom_entries(after_content)}

    [original_id] = before
    assert after[original_id] == before[original_id], "the original entry is never regenerated"
    [new_id] = set(after) - set(before)
    assert new_id.endswith(f"incidents/{slug}/updates/1/versions/2")
    [correction] = [e for e in parsed(after_content).entries if e.id == new_id]
    assert correction.title == "CORRECTION: PRELIMINARY: Bridge closed in both directions."
    content = lxml.html.fromstring(correction.content[0].value)
    assert "Correction: Both directions" in content.text_content()
    history = f"{settings.public_url}/incidents/{slug}/history"
    # "What changed" lands on this version; the related link is every version of the update
    assert f"{history}#update-1-v2" in content.xpath("//a/@href")
    related = [link.href for link in correction.links if link.rel == "related"]
    assert related == [f"{history}#update-1"]
    assert [link.href for link in correction.links if link.rel == "alternate"] == [
        f"{settings.public_url}/incidents/{slug}#update-1"
    ]


def test_the_feeds_hold_the_newest_entries_up_to_the_setting(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Storm")
    for n in range(1, 6):
        publish(db, routing, slug, f"Report {n}", minute=n)
    three = replace(settings, feeds_max_entries=3)
    for target in (UPDATES_ATOM, incident_rss(slug)):
        assert [e.title for e in parsed(render(three, db, target)).entries] == [
            "PRELIMINARY: Report 5",
            "PRELIMINARY: Report 4",
            "PRELIMINARY: Report 3",
        ]
    assert len(parsed(render(settings, db, UPDATES_ATOM)).entries) == 5


def test_two_renders_of_an_unchanged_archive_are_byte_identical(
    settings: Settings, db: Database, sample: Sample
) -> None:
    for target in (
        UPDATES_ATOM,
        UPDATES_RSS,
        CAP_INDEX,
        incident_atom(sample.slug),
        incident_rss(sample.slug),
    ):
        first = render(settings, db, target)
        assert render(settings, db, target) == first, target


def test_an_empty_archive_has_valid_unchanging_feeds(
    settings: Settings, db: Database, routing: Routing
) -> None:
    for target in (UPDATES_ATOM, UPDATES_RSS, CAP_INDEX):
        content = render(settings, db, target)
        assert parsed(content).entries == []
        assert render(settings, db, target) == content
    slug = make_incident(db, routing, "Quiet incident", minute=3)
    feed = parsed(render(settings, db, incident_atom(slug)))
    assert feed.entries == [] and feed.feed.title == "Quiet incident"
    assert feed.feed.updated_parsed[:6] == at(3).timetuple()[:6], (
        "an empty incident feed dates from the incident"
    )


def test_exercises_and_tests_are_labelled_on_every_entry_and_feed(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Mass casualty drill", alert_status="exercise")
    publish(db, routing, slug, "Triage at the stadium.", minute=1)
    feed = parsed(render(settings, db, incident_atom(slug)))
    assert feed.feed.title == "EXERCISE: Mass casualty drill"
    [entry] = feed.entries
    assert entry.title == wording.entry_title(
        VersionKind.ORIGINAL, True, None, "Triage at the stadium.", AlertStatus.EXERCISE
    )
    assert entry.title.startswith("EXERCISE: PRELIMINARY: ")
    assert (
        "EXERCISE: this is not a real incident."
        in lxml.html.fromstring(entry.content[0].value).text_content()
    )


def test_the_websub_hub_is_advertised_only_when_configured(
    settings: Settings, db: Database, sample: Sample
) -> None:
    hub = "https://hub.example.net/"
    with_hub = replace(settings, websub_hub=hub)
    for target in (UPDATES_ATOM, UPDATES_RSS, CAP_INDEX, incident_rss(sample.slug)):
        links = parsed(render(with_hub, db, target)).feed.links
        assert [link.href for link in links if link.rel == "hub"] == [hub], target
        assert not [link for link in parsed(render(settings, db, target)).feed.links if link.rel == "hub"]


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'


def test_markup_in_every_text_field_stays_inert(settings: Settings, db: Database, routing: Routing) -> None:
    slug = make_incident(db, routing, f"Title {MARKUP}", location=f"Place {MARKUP}")
    update = publish(db, routing, slug, f"Body {MARKUP}", headline=f"Head {MARKUP}", minute=1)
    correct(db, routing, update, f"New body {MARKUP}", f"Reason {MARKUP}", corrects=1, minute=2)
    with db.read() as session:
        assert get_incident(session, slug).title == f"Title {MARKUP}"

    titles = {f"PRELIMINARY: Head {MARKUP}", f"CORRECTION: PRELIMINARY: New body {MARKUP}"}
    for target in (UPDATES_ATOM, incident_atom(slug)):
        root = etree.fromstring(render(settings, db, target))
        for entry in root.findall(f"{ATOM}entry"):
            title = entry.find(f"{ATOM}title")
            assert title is not None and len(title) == 0 and title.get("type") in (None, "text")
            assert title.text in titles, "the title is text, carried as it was typed"
            content = entry.find(f"{ATOM}content")
            assert content is not None and content.get("type") == "html" and len(content) == 0
            html = lxml.html.fromstring(content.text or "")
            assert html.xpath("//script|//img|//b") == [], "no element from the text survives as markup"
            text = html.text_content()
            assert f"Place {MARKUP}" in text and f"Title {MARKUP}" in text
            assert f"Body {MARKUP}" in text or f"New body {MARKUP}" in text
        assert root.findtext(f"{ATOM}title") in (settings.feeds_title, f"Title {MARKUP}")

    rss = etree.fromstring(render(settings, db, incident_rss(slug)))
    for item in rss.findall("channel/item"):
        html = lxml.html.fromstring(item.findtext("description") or "")
        assert html.xpath("//script|//img|//b") == []
        assert f"Reason {MARKUP}" in html.text_content() or f"Body {MARKUP}" in html.text_content()
    assert rss.findtext("channel/title") == f"Title {MARKUP}"
    assert [item.findtext("title") for item in rss.findall("channel/item")] == [
        f"CORRECTION: PRELIMINARY: New body {MARKUP}",
        f"PRELIMINARY: Head {MARKUP}",
    ]
    assert len(parsed(render(settings, db, incident_rss(slug))).entries) == 2


def test_text_xml_cannot_carry_does_not_break_the_feeds(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Odd text")
    publish(db, routing, slug, "Before\ufffeafter", minute=1)
    entry = parsed(render(settings, db, incident_atom(slug))).entries[0]
    assert entry.title == "PRELIMINARY: Before\ufffdafter"


def test_every_feed_names_the_agency_as_its_author_and_rights_holder(
    settings: Settings, db: Database, sample: Sample
) -> None:
    """Issue 18: whose feed this is, on the feed itself (entries keep the PIO who wrote them)."""
    agency = replace(
        settings, agency_name="Rivertown Police Department", agency_url="https://rivertown.example"
    )
    for target in (UPDATES_ATOM, incident_atom(sample.slug), CAP_INDEX):
        feed = parsed(render(agency, db, target)).feed
        assert feed.author_detail.name == "Rivertown Police Department", target.url_path
        assert feed.author_detail.href == "https://rivertown.example", target.url_path
        assert feed.rights == "Public information from Rivertown Police Department.", target.url_path
    rss = etree.fromstring(render(agency, db, UPDATES_RSS))
    assert rss.findtext("channel/copyright") == "Public information from Rivertown Police Department."
