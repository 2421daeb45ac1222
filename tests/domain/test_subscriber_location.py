"""A subscriber's location (issue 17): what is accepted, and which areas concern it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from console.alert_models import AlertChannel, Subscriber, SubscriberStatus
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.errors import InvalidInput
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.subscriber_location import AreaRule, Location, area_at, distance_km, location_of
from console.models import utcnow
from console.settings import Settings
from tests.conftest import PIO

SQUARE = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
CIRCLE = {"lat": 40.0, "lon": -75.0, "radius_km": 2.0}


def area(**shapes: Any) -> dict[str, Any]:
    return {"description": "", "polygons": [], "circles": [], "geocodes": [], **shapes}


def subscriber(location: Location | None) -> Subscriber:
    return Subscriber(
        area_lat=location.lat if location else None,
        area_lon=location.lon if location else None,
        area_zip=location.zip if location else None,
    )


@pytest.mark.parametrize(
    ("point", "zip_code", "expected"),
    [
        ("38.8977, -77.0365", "", Location(lat=38.8977, lon=-77.0365)),
        (" 38.8977 -77.0365 ", "", Location(lat=38.8977, lon=-77.0365)),
        ("38.897712345,-77.036598765", "", Location(lat=38.89771, lon=-77.0366)),
        ("", "20001", Location(zip="20001")),
        ("", " 20001-1234 ", Location(zip="20001")),
        ("", "200011234", Location(zip="20001")),
        ("", "", None),
    ],
)
def test_a_location_is_a_point_or_a_zip_code(point: str, zip_code: str, expected: Location | None) -> None:
    assert location_of(point, zip_code) == expected


@pytest.mark.parametrize(
    ("point", "zip_code", "field", "words"),
    [
        ("38.8977", "", "area_point", "latitude, longitude"),
        ("north, west", "", "area_point", "latitude, longitude"),
        ("nan, 1", "", "area_point", "latitude, longitude"),
        ("91, 0", "", "area_point", "latitude 91 is outside -90 to 90"),
        ("0, -181", "", "area_point", "longitude -181 is outside -180 to 180"),
        ("", "2000", "area_zip", "5 digits"),
        ("", "20001-12", "area_zip", "5 digits"),
        ("", "ABCDE", "area_zip", "5 digits"),
        ("38.9, -77", "20001", "area_point", "not both"),
    ],
)
def test_a_bad_location_is_refused_naming_its_field(
    point: str, zip_code: str, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        location_of(point, zip_code)
    assert list(refused.value.fields) == [field] and words in refused.value.fields[field]


def test_a_point_is_checked_against_polygons_boundary_included_and_circles_by_distance() -> None:
    rule = AreaRule(area(polygons=[SQUARE], circles=[CIRCLE]))
    inside, edge, outside = Location(38.91, -77.02), Location(38.90, -77.02), Location(38.95, -77.02)
    assert rule.admits(subscriber(inside)) and rule.admits(subscriber(edge))
    assert not rule.admits(subscriber(outside))
    # 2 km around (40, -75): a degree of longitude there is about 85 km, so 0.02° east is in
    # (1.7 km) and 0.03° is out (2.6 km), although both are within 0.02° of latitude's reach.
    assert distance_km(40.0, -75.0, 40.0, -74.98) == pytest.approx(1.70, abs=0.01)
    assert rule.admits(subscriber(Location(40.0, -74.98)))
    assert not rule.admits(subscriber(Location(40.0, -74.97)))


def test_a_zip_code_is_checked_against_the_areas_zip_geocodes() -> None:
    rule = AreaRule(area(polygons=[SQUARE], geocodes=[{"name": "zip", "value": "20001-0001"}]))
    assert rule.admits(subscriber(Location(zip="20001")))
    assert not rule.admits(subscriber(Location(zip="20002")))
    assert rule.admits(subscriber(None))


def test_what_cannot_be_checked_goes_to_everyone() -> None:
    """No area at all; an area of codes only, for a point; an area without ZIP codes, for a
    ZIP code: the alert goes out (a missed alert costs more than an extra one)."""
    point, zip_code = subscriber(Location(10.0, 10.0)), subscriber(Location(zip="99999"))
    for rule in (
        AreaRule(None),
        AreaRule(area(geocodes=[{"name": "SAME", "value": "011001"}])),
    ):
        assert rule.admits(point)
    for rule in (
        AreaRule(None),
        AreaRule(area(polygons=[SQUARE], geocodes=[{"name": "SAME", "value": "1"}])),
    ):
        assert rule.admits(zip_code)
    assert not AreaRule(area(polygons=[SQUARE])).admits(point)
    assert not AreaRule(area(geocodes=[{"name": "ZIP", "value": "20001"}])).admits(zip_code)


def located(session: Any, n: int, location: Location | None) -> None:
    session.add(
        Subscriber(
            channel=AlertChannel.EMAIL,
            address=f"s{n}@example.org",
            address_hash=f"{n:064d}",
            lang="en",
            status=SubscriberStatus.CONFIRMED,
            area_lat=location.lat if location else None,
            area_lon=location.lon if location else None,
            area_zip=location.zip if location else None,
        )
    )


def test_the_database_narrows_and_the_count_is_exact(db: Database) -> None:
    """The SQL condition keeps every subscriber the rule admits (and drops those outside the
    bounding box or with another ZIP code); the count is of admitted ones only."""
    rule = AreaRule(area(polygons=[SQUARE], circles=[CIRCLE], geocodes=[{"name": "ZIP", "value": "20001"}]))
    locations = [
        None,
        Location(38.91, -77.02),  # in the square
        Location(38.929, -77.039),  # in the square's corner
        Location(38.931, -77.02),  # just north of it
        Location(40.0, -74.98),  # in the circle
        Location(40.017, -75.017),  # in the circle's box, outside the circle
        Location(-33.9, 151.2),  # far away
        Location(zip="20001"),
        Location(zip="20002"),
    ]
    with db.write() as session:
        for n, location in enumerate(locations):
            located(session, n, location)
    with db.read() as session:
        everyone = Subscriber.status == SubscriberStatus.CONFIRMED
        narrowed = session.scalars(select(Subscriber).where(everyone, rule.condition())).all()
        admitted = [s.address for s in narrowed if rule.admits(s)]
        all_admitted = [s.address for s in session.scalars(select(Subscriber)) if rule.admits(s)]
        expected = [f"s{n}@example.org" for n in (0, 1, 2, 4, 7)]
        assert sorted(admitted) == sorted(all_admitted) == expected
        assert "s6@example.org" not in {s.address for s in narrowed}  # the box left it out
        assert "s8@example.org" not in {s.address for s in narrowed}  # and the other ZIP code
        assert rule.count(session, everyone) == 5
        assert AreaRule(None).count(session, everyone) == len(locations)


def test_the_area_is_the_one_in_force_when_the_event_happened(settings: Settings, db: Database) -> None:
    now, routing = utcnow(), routing_for(settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing, now=now)
        incident_id, slug = incident.id, incident.slug
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(title="Gas leak", area=area(polygons=[SQUARE])),
            reason="Area mapped",
            corrects_version=1,
            routing=routing,
            now=now + timedelta(minutes=10),
        )
    with db.read() as session:
        assert area_at(session, incident_id, now + timedelta(minutes=5)) is None
        mapped = area_at(session, incident_id, now + timedelta(minutes=10))
        assert mapped is not None and mapped["polygons"] == [SQUARE]
        assert area_at(session, None, now) is None
