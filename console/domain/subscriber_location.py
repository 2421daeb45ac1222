"""A resident's location for alerts (issue 17): the point or ZIP code a subscriber may give
so that only the incidents concerning it reach them, and the rule that decides.

An alert is held back from a located subscriber only when the incident's area, as it stood
when the event happened, can be checked against their location and does not hold it:

- an incident with no mapped area goes to everyone (an agency-wide warning may concern
  anyone, and on the worst day a missed alert costs more than an extra one);
- a point is checked against the area's polygons (boundary included) and circles (great-
  circle distance); an area given only as geocodes cannot hold a point, so it goes to them;
- a ZIP code is checked against the area's geocodes named "ZIP" (ZIP+4 values count by their
  first 5 digits); an area with none goes to them, as its drawn shapes may cover the ZIP.

The database narrows the walk (unlocated subscribers, matching ZIP codes, points inside the
area's bounding box) and Python decides for the points left (`AreaRule.admits`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

import shapely
from shapely.geometry import Polygon
from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from console.alert_models import Subscriber
from console.domain.area import Area, stored_area
from console.domain.errors import InvalidInput
from console.models import Incident, IncidentDetailsVersion

ZIP_GEOCODE = "ZIP"  # the geocode name of US ZIP codes (compared without regard to case)
ZIP = re.compile(r"([0-9]{5})(?:-?[0-9]{4})?")  # 5 digits, or ZIP+4 with or without its dash
POINT_DECIMALS = 5  # about a meter: what a phone's location gives, no more
EARTH_RADIUS_KM = 6371.0088  # the mean radius, as static/js/area.js uses
KM_PER_DEGREE_LAT_MIN = 110.5  # a degree of latitude is 110.57 to 111.69 km: reach generously
COUNT_BATCH = 1000  # located subscribers checked at a time when counting a job's audience


@dataclass(frozen=True)
class Location:
    """Where a subscriber wants alerts for: a point, or a ZIP code."""

    lat: float | None = None
    lon: float | None = None
    zip: str | None = None

    @property
    def point(self) -> str | None:
        """The point as the form shows it back: "lat,lon"."""
        return f"{self.lat},{self.lon}" if self.lat is not None and self.lon is not None else None


def parse_point(text: str) -> tuple[float, float]:
    """ "38.8977, -77.0365", "38.8977 -77.0365" or "38.8977,-77.0365" (WGS 84 degrees)."""
    parts = [part for part in re.split(r"[\s,;]+", text.strip()) if part]
    problem = "Enter your location as latitude, longitude in degrees, such as 38.8977, -77.0365."
    if len(parts) != 2:
        raise InvalidInput({"area_point": problem})
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidInput({"area_point": problem}) from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InvalidInput({"area_point": problem})
    if not -90 <= lat <= 90:
        raise InvalidInput({"area_point": f"The latitude {parts[0]} is outside -90 to 90."})
    if not -180 <= lon <= 180:
        raise InvalidInput({"area_point": f"The longitude {parts[1]} is outside -180 to 180."})
    return round(lat, POINT_DECIMALS), round(lon, POINT_DECIMALS)


def parse_zip(text: str) -> str:
    """A US ZIP code: 5 digits (ZIP+4 is cut to its first 5)."""
    found = ZIP.fullmatch(text.strip())
    if found is None:
        raise InvalidInput({"area_zip": "Enter a US ZIP code of 5 digits, such as 20001."})
    return found.group(1)


def location_of(point: str, zip_code: str) -> Location | None:
    """The location typed on the form or sent as JSON; None when neither was given."""
    point, zip_code = point.strip(), zip_code.strip()
    if point and zip_code:
        raise InvalidInput({"area_point": "Give either a location or a ZIP code, not both."})
    if point:
        lat, lon = parse_point(point)
        return Location(lat=lat, lon=lon)
    if zip_code:
        return Location(zip=parse_zip(zip_code))
    return None


def locate(subscriber: Subscriber, location: Location | None) -> None:
    """Store the location on the subscriber (or clear it): never more than one of the two."""
    subscriber.area_lat = location.lat if location else None
    subscriber.area_lon = location.lon if location else None
    subscriber.area_zip = location.zip if location else None


def forget_location(subscriber: Subscriber) -> None:
    locate(subscriber, None)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), as static/js/area.js computes it."""
    d_lat, d_lon = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = (
        math.sin(d_lat / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(d_lon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class AreaRule:
    """Which located subscribers an incident's area concerns (see the module's docstring)."""

    def __init__(self, area: Area | None) -> None:
        self.mapped = area is not None
        polygons = area["polygons"] if area else []
        self.circles: list[dict[str, float]] = list(area["circles"]) if area else []
        self.polygons = [Polygon([(lon, lat) for lat, lon in ring]) for ring in polygons]
        for polygon in self.polygons:
            shapely.prepare(polygon)
        self.shapes = bool(self.polygons or self.circles)
        self.zips = {
            found.group(1)
            for code in (area["geocodes"] if area else [])
            if code["name"].strip().upper() == ZIP_GEOCODE
            and (found := ZIP.fullmatch(code["value"].strip())) is not None
        }

    def holds(self, lat: float, lon: float) -> bool:
        """Whether the area's polygons or circles hold the point."""
        if any(shapely.intersects_xy(polygon, lon, lat) for polygon in self.polygons):
            return True
        return any(distance_km(lat, lon, c["lat"], c["lon"]) <= c["radius_km"] for c in self.circles)

    def admits(self, subscriber: Subscriber) -> bool:
        if not self.mapped:
            return True
        if subscriber.area_zip is not None:
            return not self.zips or subscriber.area_zip in self.zips
        if subscriber.area_lat is not None and subscriber.area_lon is not None:
            return not self.shapes or self.holds(subscriber.area_lat, subscriber.area_lon)
        return True

    def condition(self) -> ColumnElement[bool]:
        """What the database can tell: every subscriber `admits` may take, and few more."""
        if not self.mapped:
            return true()
        unlocated = and_(Subscriber.area_lat.is_(None), Subscriber.area_zip.is_(None))
        zips = Subscriber.area_zip.in_(sorted(self.zips)) if self.zips else Subscriber.area_zip.is_not(None)
        points = and_(Subscriber.area_lat.is_not(None), self._box() if self.shapes else true())
        return or_(unlocated, zips, points)

    def _box(self) -> ColumnElement[bool]:
        """The area's bounding box, widened for circles; no longitude bound for a circle that
        reaches a pole or the antimeridian."""
        south, north, west, east = 90.0, -90.0, 180.0, -180.0
        for polygon in self.polygons:
            min_lon, min_lat, max_lon, max_lat = polygon.bounds
            south, north = min(south, min_lat), max(north, max_lat)
            west, east = min(west, min_lon), max(east, max_lon)
        bounded_lon = True
        for circle in self.circles:
            reach = circle["radius_km"] / KM_PER_DEGREE_LAT_MIN
            south, north = min(south, circle["lat"] - reach), max(north, circle["lat"] + reach)
            cos_lat = math.cos(math.radians(min(abs(circle["lat"]) + reach, 90.0)))
            lon_reach = reach / cos_lat if cos_lat > 1e-6 else math.inf
            low, high = circle["lon"] - lon_reach, circle["lon"] + lon_reach
            if low < -180 or high > 180:
                bounded_lon = False
            else:
                west, east = min(west, low), max(east, high)
        if south > north:
            return false()
        box = Subscriber.area_lat.between(south, north)
        return and_(box, Subscriber.area_lon.between(west, east)) if bounded_lon else box

    def count(self, session: Session, audience: ColumnElement[bool]) -> int:
        """How many of `audience` the area concerns, checking located points in batches."""
        counted = select(func.count()).select_from(Subscriber).where(audience, self.condition())
        if not self.shapes:
            return session.scalar(counted) or 0
        total = session.scalar(counted.where(Subscriber.area_lat.is_(None))) or 0
        cursor = 0
        while True:
            rows = session.execute(
                select(Subscriber.id, Subscriber.area_lat, Subscriber.area_lon)
                .where(audience, self.condition(), Subscriber.area_lat.is_not(None), Subscriber.id > cursor)
                .order_by(Subscriber.id)
                .limit(COUNT_BATCH)
            ).all()
            if not rows:
                return total
            total += sum(lat is not None and lon is not None and self.holds(lat, lon) for _, lat, lon in rows)
            cursor = rows[-1][0]


def area_at(session: Session, incident_id: int | None, when: datetime) -> Area | None:
    """The incident's area as it stood at `when`: its newest details version published by then
    (its current area if none was, which only a row older than details versions could be)."""
    if incident_id is None:
        return None
    found = session.execute(
        select(IncidentDetailsVersion.area)
        .where(IncidentDetailsVersion.incident_id == incident_id, IncidentDetailsVersion.published_at <= when)
        .order_by(IncidentDetailsVersion.version.desc())
        .limit(1)
    ).first()
    text = found[0] if found else session.scalar(select(Incident.area).where(Incident.id == incident_id))
    return stored_area(text)
