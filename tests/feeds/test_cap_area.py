"""The incident's mapped area in the feeds (issue 17): every CAP `<info>` has an `<area>` with
its description, polygons, circles and geocodes, as the area was when the message was sent (a
rebuild writes the same bytes); Atom and RSS entries carry each polygon as `georss:polygon` and
each circle as `georss:circle`."""

from __future__ import annotations

from typing import Any

import feedparser
from lxml import etree

from console.db import Database
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.outbox import Routing
from console.feeds.paths import cap_message, incident_atom, incident_rss, updates_atom
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import CAP_NS, at, make_incident, publish, render, valid_cap

NS = {"cap": CAP_NS}
SQUARE = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
AREA = {
    "description": "Downtown, between 1st and 14th Streets",
    "polygons": [SQUARE],
    "circles": [{"lat": 38.915, "lon": -77.02, "radius_km": 1.5}],
    "geocodes": [{"name": "SAME", "value": "011001"}],
}
MOVED = {"description": "Uptown", "polygons": [[[lat + 0.1, lon] for lat, lon in SQUARE]]}


def set_area(
    db: Database, routing: Routing, slug: str, area: dict[str, Any], corrects: int, minute: int
) -> None:
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(area=area),
            reason="Area mapped",
            corrects_version=corrects,
            routing=routing,
            now=at(minute),
        )


def cap_area(root: etree._Element) -> list[dict[str, Any]]:
    return [
        {
            "areaDesc": area.findtext("cap:areaDesc", namespaces=NS),
            "polygon": [p.text for p in area.iterfind("cap:polygon", NS)],
            "circle": [c.text for c in area.iterfind("cap:circle", NS)],
            "geocode": [
                (g.findtext("cap:valueName", namespaces=NS), g.findtext("cap:value", namespaces=NS))
                for g in area.iterfind("cap:geocode", NS)
            ],
        }
        for area in root.iterfind("cap:info/cap:area", NS)
    ]


def test_a_cap_message_carries_the_area_in_force_when_it_was_sent(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    set_area(db, routing, slug, AREA, corrects=1, minute=1)
    publish(db, routing, slug, "Evacuate downtown.", minute=2)
    before = render(settings, db, cap_message(slug, 1, 1))
    root = valid_cap(cap_schema, before)
    assert cap_area(root) == [
        {
            "areaDesc": "Downtown, between 1st and 14th Streets",
            "polygon": ["38.9,-77.04 38.9,-77 38.93,-77 38.93,-77.04 38.9,-77.04"],
            "circle": ["38.915,-77.02 1.5"],
            "geocode": [("SAME", "011001")],
        }
    ]

    set_area(db, routing, slug, MOVED, corrects=2, minute=3)
    publish(db, routing, slug, "Evacuate uptown.", minute=4)
    # Sent before the change: rebuilt, it has the old area, byte for byte.
    assert render(settings, db, cap_message(slug, 1, 1)) == before
    [moved] = cap_area(valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 1))))
    assert moved["areaDesc"] == "Uptown" and moved["polygon"] == [
        "39,-77.04 39,-77 39.03,-77 39.03,-77.04 39,-77.04"
    ]
    assert moved["circle"] == [] and moved["geocode"] == []


def test_an_incident_without_an_area_keeps_its_location_as_area_desc(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Gas leak", location="Elm St")
    publish(db, routing, slug, "Avoid Elm St.", minute=1)
    root = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 1)))
    assert cap_area(root) == [{"areaDesc": "Elm St", "polygon": [], "circle": [], "geocode": []}]


def test_feed_entries_carry_the_area_polygon_as_georss(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    other = make_incident(db, routing, "Water main break", minute=1)
    publish(db, routing, other, "5th St closed.", minute=2)
    assert b"georss" not in render(settings, db, updates_atom())  # no area: no GeoRSS at all
    set_area(db, routing, slug, AREA, corrects=1, minute=3)
    publish(db, routing, slug, "Evacuate downtown.", minute=4)
    for target in (incident_atom(slug), incident_rss(slug), updates_atom()):
        feed = feedparser.parse(render(settings, db, target))
        with_area = [entry for entry in feed.entries if entry.get("where")]
        assert [entry.title for entry in with_area] == [feed.entries[0].title], target
        where = with_area[0].where
        assert where["type"] == "Polygon"
        assert [list(point) for point in where["coordinates"][0]] == [[lon, lat] for lat, lon in SQUARE]


def test_an_area_change_is_listed_in_the_details_entry(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    set_area(db, routing, slug, AREA, corrects=1, minute=1)
    [entry] = feedparser.parse(render(settings, db, incident_atom(slug))).entries
    assert entry.title == "CORRECTION: incident details: Gas leak"
    assert "<li>area: <del></del> → <ins>Downtown, between 1st and 14th Streets" in entry.content[0].value
    assert "SAME 011001</ins></li>" in entry.content[0].value


GEORSS = "{http://www.georss.org/georss}"
TWO_POLYGONS = {
    "description": "Downtown and uptown",
    "polygons": [SQUARE, MOVED["polygons"][0]],
    "circles": [
        {"lat": 38.915, "lon": -77.02, "radius_km": 1.5},
        {"lat": 38.8, "lon": -77.1, "radius_km": 1000},
    ],
}


def test_feed_entries_carry_every_polygon_and_circle_as_georss(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    set_area(db, routing, slug, TWO_POLYGONS, corrects=1, minute=1)
    publish(db, routing, slug, "Evacuate downtown and uptown.", minute=2)
    for target, entry_tag in (
        (incident_atom(slug), "{http://www.w3.org/2005/Atom}entry"),
        (updates_atom(), "{http://www.w3.org/2005/Atom}entry"),
        (incident_rss(slug), "item"),
    ):
        root = etree.fromstring(render(settings, db, target))
        entries = [entry for entry in root.iter(entry_tag) if entry.find(f"{GEORSS}polygon") is not None]
        assert entries, target
        for entry in entries:
            assert [p.text for p in entry.iterfind(f"{GEORSS}polygon")] == [
                "38.9 -77.04 38.9 -77 38.93 -77 38.93 -77.04 38.9 -77.04",
                "39 -77.04 39 -77 39.03 -77 39.03 -77.04 39 -77.04",
            ], target
            # GeoRSS circles are "lat lon radius" in meters (CAP's radius is in km)
            assert [c.text for c in entry.iterfind(f"{GEORSS}circle")] == [
                "38.915 -77.02 1500",
                "38.8 -77.1 1000000",
            ], target
