"""An incident's mapped area (issue 17): polygons, circles and geocodes, with a description.

The area is stored as canonical JSON text (so a details version's hash covers it, byte for
byte) in the form `{"description", "polygons": [[[lat, lon], ...]], "circles": [{"lat",
"lon", "radius_km"}], "geocodes": [{"name", "value"}]}`: CAP's own order (lat, lon). GeoJSON,
the SVG outline and CAP's strings are all derived from it here.
"""

from __future__ import annotations

import json
import math
from typing import Any

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from console.domain.canonical import canonical_json
from console.domain.text import clean

DESCRIPTION_MAX = 200
POINTS_MIN = 4  # a closed ring: three corners and the first again
POINTS_MAX = 100
SHAPES_MAX = 20  # polygons, and circles
GEOCODES_MAX = 50
RADIUS_KM_MAX = 1000.0
GEOCODE_NAME_MAX = 64
GEOCODE_VALUE_MAX = 200
KNOWN_KEYS = ("description", "polygons", "circles", "geocodes")

Area = dict[str, Any]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _point(value: Any, where: str, problems: list[str]) -> list[float] | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        problems.append(f"{where} must be a [lat, lon] pair")
        return None
    lat, lon = _number(value[0]), _number(value[1])
    if lat is None or lon is None:
        problems.append(f"{where} must be two numbers [lat, lon]")
        return None
    if not -90 <= lat <= 90:
        problems.append(f"{where}: latitude {value[0]} is outside -90..90 (WGS 84)")
        return None
    if not -180 <= lon <= 180:
        problems.append(f"{where}: longitude {value[1]} is outside -180..180 (WGS 84)")
        return None
    return [lat, lon]


def _polygon(value: Any, where: str, problems: list[str]) -> list[list[float]] | None:
    if not isinstance(value, list):
        problems.append(f"{where} must be a list of [lat, lon] points")
        return None
    if not POINTS_MIN <= len(value) <= POINTS_MAX:
        problems.append(
            f"{where} has {len(value)} points: a closed polygon has {POINTS_MIN} to {POINTS_MAX} "
            "(the first point repeated last)"
        )
        return None
    count = len(problems)
    points = [_point(point, f"{where} point {index + 1}", problems) for index, point in enumerate(value)]
    if len(problems) > count:
        return None
    ring = [point for point in points if point is not None]
    if ring[0] != ring[-1]:
        problems.append(f"{where} is not closed: its last point must repeat its first")
        return None
    shape = Polygon([(lon, lat) for lat, lon in ring])
    if not shape.is_valid:
        # e.g. "Self-intersection[-77.02 38.9]": shapely names the problem and where it is
        problems.append(f"{where} is not a simple polygon: {explain_validity(shape)}")
        return None
    return ring


def _circle(value: Any, where: str, problems: list[str]) -> dict[str, float] | None:
    if not isinstance(value, dict) or set(value) != {"lat", "lon", "radius_km"}:
        problems.append(f"{where} must be an object {{lat, lon, radius_km}}")
        return None
    point = _point([value["lat"], value["lon"]], where, problems)
    radius = _number(value["radius_km"])
    if radius is None or not 0 < radius <= RADIUS_KM_MAX:
        problems.append(f"{where}: radius_km must be a number above 0 and at most {RADIUS_KM_MAX:g}")
        return None
    if point is None:
        return None
    return {"lat": point[0], "lon": point[1], "radius_km": radius}


def _geocode(value: Any, where: str, problems: list[str]) -> dict[str, str] | None:
    if not isinstance(value, dict) or set(value) != {"name", "value"}:
        problems.append(f"{where} must be an object {{name, value}}")
        return None
    texts: dict[str, str] = {}
    for key, limit in (("name", GEOCODE_NAME_MAX), ("value", GEOCODE_VALUE_MAX)):
        found: dict[str, str] = {}
        given = value[key]
        text = (
            clean(given, max_chars=limit, required=True, errors=found, field=key)
            if isinstance(given, str)
            else None
        )
        if text is None or found:
            problems.append(
                f"{where}: {key} must be a text of 1 to {limit} characters ({found.get(key, 'not text')})"
            )
            return None
        texts[key] = text
    return {"name": texts["name"], "value": texts["value"]}


def _list(area: dict[str, Any], name: str, problems: list[str], limit: int) -> list[Any]:
    if name not in area:
        return []
    value = area[name]
    if not isinstance(value, list):  # null too: leave the key out for none
        problems.append(f"{name} must be a list")
        return []
    if len(value) > limit:
        problems.append(f"{name}: at most {limit}")
        return []
    return value


def area_of(value: Any, errors: dict[str, str], field: str = "area") -> Area | None:
    """The validated, normalized area, or None for no area (nothing in it); problems go to
    `errors[field]`, all of them in one message."""
    if not isinstance(value, dict):
        errors[field] = "must be an object {description, polygons, circles, geocodes}"
        return None
    problems: list[str] = []
    unknown = sorted(set(value) - set(KNOWN_KEYS))
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(KNOWN_KEYS)})")
    given = value.get("description")
    found: dict[str, str] = {}
    description = ""
    if given is not None and not isinstance(given, str):
        problems.append("description must be a text")
    elif given is not None:
        description = clean(given, max_chars=DESCRIPTION_MAX, required=False, errors=found, field="d") or ""
        if found:
            problems.append(f"description {found['d']}")
    polygons = [
        _polygon(ring, f"polygon {index + 1}", problems)
        for index, ring in enumerate(_list(value, "polygons", problems, SHAPES_MAX))
    ]
    circles = [
        _circle(circle, f"circle {index + 1}", problems)
        for index, circle in enumerate(_list(value, "circles", problems, SHAPES_MAX))
    ]
    geocodes = [
        _geocode(code, f"geocode {index + 1}", problems)
        for index, code in enumerate(_list(value, "geocodes", problems, GEOCODES_MAX))
    ]
    if problems:
        errors[field] = "; ".join(problems)
        return None
    area: Area = {
        "description": description,
        "polygons": [ring for ring in polygons if ring is not None],
        "circles": [circle for circle in circles if circle is not None],
        "geocodes": [code for code in geocodes if code is not None],
    }
    if not (area["polygons"] or area["circles"] or area["geocodes"]):
        if description:
            errors[field] = "an area needs at least one polygon, circle or geocode besides its description"
        return None
    return area


def area_text(area: Area | None) -> str | None:
    """What the `area` columns hold: canonical JSON, one spelling for one area."""
    return canonical_json(area) if area is not None else None


def stored_area(text: str | None) -> Area | None:
    return json.loads(text) if text else None


def parse_typed_area(text: str, description: str, errors: dict[str, str], field: str = "area") -> Area | None:
    """An area typed in the console: GeoJSON (a Polygon, MultiPolygon, Feature or
    FeatureCollection, [lon, lat] per RFC 7946), this module's own JSON form, or coordinates,
    one polygon a line as "lat,lon lat,lon ..." (CAP's form), with `description` typed beside
    it (which wins over one in the JSON). Blank: no area."""
    text = text.strip()
    if not text:
        return area_of({"description": description}, errors, field)
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            errors[field] = f"is not valid JSON ({exc})"
            return None
        if isinstance(value, dict) and "type" in value:
            rings = _geojson_rings(value, errors, field)
            if rings is None:
                return None
            value = {"polygons": rings}
        if isinstance(value, dict):
            value = {**value, "description": description}
        return area_of(value, errors, field)
    polygons: list[list[list[float]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            ring = [[float(part) for part in pair.split(",")] for pair in line.split()]
        except ValueError:
            errors[field] = f'line {number} is not "lat,lon lat,lon ..." (nor GeoJSON)'
            return None
        if ring:
            polygons.append(ring)
    return area_of({"description": description, "polygons": polygons}, errors, field)


def _geojson_rings(value: dict[str, Any], errors: dict[str, str], field: str) -> list[Any] | None:
    geometries: list[Any] = []
    if value.get("type") == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            errors[field] = "a GeoJSON FeatureCollection must hold a list of features"
            return None
        geometries = [feature.get("geometry") for feature in features if isinstance(feature, dict)]
    elif value.get("type") == "Feature":
        geometries = [value.get("geometry")]
    else:
        geometries = [value]
    rings: list[Any] = []
    for geometry in geometries:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if kind == "Polygon" and isinstance(coordinates, list) and coordinates:
            polygons = [coordinates]
        elif kind == "MultiPolygon" and isinstance(coordinates, list):
            polygons = coordinates
        else:
            errors[field] = "GeoJSON must hold Polygon or MultiPolygon geometries"
            return None
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon or not isinstance(polygon[0], list):
                errors[field] = "a GeoJSON polygon must be a list of rings"
                return None
            # The outer ring only: CAP has no holes. GeoJSON is [lon, lat]; ours is [lat, lon].
            rings.append([point[::-1] if isinstance(point, list) else point for point in polygon[0]])
    return rings


def typed_form(area: Area | None) -> tuple[str, str]:
    """(description, JSON) as the console's form shows an area: its own JSON form, so that
    circles and geocodes survive a change made in the form."""
    if area is None:
        return "", ""
    shapes = {key: area[key] for key in ("polygons", "circles", "geocodes") if area[key]}
    return area["description"], json.dumps(shapes, ensure_ascii=False)


def area_geojson(area: Area | None) -> dict[str, Any] | None:
    """The area as a GeoJSON Feature (RFC 7946: [lon, lat], outer rings counterclockwise);
    circles and geocodes, which GeoJSON has no geometry for, are in its properties."""
    if area is None:
        return None
    polygons = [[_counterclockwise([[lon, lat] for lat, lon in ring])] for ring in area["polygons"]]
    geometry: dict[str, Any] | None
    if not polygons:
        geometry = None
    elif len(polygons) == 1:
        geometry = {"type": "Polygon", "coordinates": polygons[0]}
    else:
        geometry = {"type": "MultiPolygon", "coordinates": polygons}
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "description": area["description"],
            "circles": area["circles"],
            "geocodes": area["geocodes"],
        },
    }


def _counterclockwise(ring: list[list[float]]) -> list[list[float]]:
    twice_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False))
    return ring if twice_area >= 0 else ring[::-1]


def _coordinate(value: float) -> str:
    return format(value, "g") if abs(value) >= 1e-4 or value == 0 else f"{value:.6f}"


def cap_polygon(ring: list[list[float]]) -> str:
    """CAP 1.2 `<polygon>`: "lat,lon lat,lon ..." (WGS 84)."""
    return " ".join(f"{_coordinate(lat)},{_coordinate(lon)}" for lat, lon in ring)


def cap_circle(circle: dict[str, float]) -> str:
    """CAP 1.2 `<circle>`: "lat,lon radius" (radius in kilometers)."""
    return f"{_coordinate(circle['lat'])},{_coordinate(circle['lon'])} {_coordinate(circle['radius_km'])}"


def area_words(text: str | None) -> str:
    """An area as the history and the feeds' details entries show a change of it: its
    description, then each polygon and circle as CAP writes them and each geocode; "" for none."""
    area = stored_area(text)
    if area is None:
        return ""
    lines = [
        area["description"],
        *(cap_polygon(ring) for ring in area["polygons"]),
        *(cap_circle(circle) for circle in area["circles"]),
        *(f"{code['name']} {code['value']}" for code in area["geocodes"]),
    ]
    return "\n".join(line for line in lines if line)


def georss_polygon(ring: list[list[float]]) -> str:
    """GeoRSS Simple `georss:polygon`: "lat lon lat lon ..."."""
    return " ".join(f"{_coordinate(lat)} {_coordinate(lon)}" for lat, lon in ring)


def georss_circle(circle: dict[str, float]) -> str:
    """GeoRSS `georss:circle`: "lat lon radius", the radius in meters (CAP's is in km)."""
    radius_m = format(round(circle["radius_km"] * 1000, 3), ".12g")  # 1000 km: 1000000, not 1e+06
    return f"{_coordinate(circle['lat'])} {_coordinate(circle['lon'])} {radius_m}"


KM_PER_DEGREE = 111.32
OUTLINE_SIZE = 300.0
OUTLINE_MARGIN = 10.0


def outline(area: Area | None) -> dict[str, Any] | None:
    """The area drawn for an inline SVG: polygons' `points` and circles' centers and radii in
    a `viewBox` of at most 300 units, an equirectangular projection around the area's middle
    latitude (at a town's scale, close enough to the map a resident knows)."""
    if area is None or not (area["polygons"] or area["circles"]):
        return None
    latitudes: list[float] = []
    longitudes: list[float] = []
    for ring in area["polygons"]:
        latitudes += [lat for lat, _ in ring]
        longitudes += [lon for _, lon in ring]
    centers = latitudes + [circle["lat"] for circle in area["circles"]]
    scale_x = max(math.cos(math.radians((max(centers) + min(centers)) / 2)), 0.01)
    for circle in area["circles"]:
        reach = circle["radius_km"] / KM_PER_DEGREE
        latitudes += [circle["lat"] - reach, circle["lat"] + reach]
        longitudes += [circle["lon"] - reach / scale_x, circle["lon"] + reach / scale_x]
    west, east, south, north = min(longitudes), max(longitudes), min(latitudes), max(latitudes)
    width = max((east - west) * scale_x, 1e-9)
    height = max(north - south, 1e-9)
    unit = (OUTLINE_SIZE - 2 * OUTLINE_MARGIN) / max(width, height)

    def x(lon: float) -> float:
        return round(OUTLINE_MARGIN + (lon - west) * scale_x * unit, 1)

    def y(lat: float) -> float:
        return round(OUTLINE_MARGIN + (north - lat) * unit, 1)

    return {
        "width": round(width * unit + 2 * OUTLINE_MARGIN, 1),
        "height": round(height * unit + 2 * OUTLINE_MARGIN, 1),
        "polygons": [" ".join(f"{x(lon)},{y(lat)}" for lat, lon in ring[:-1]) for ring in area["polygons"]],
        "circles": [
            {"cx": x(c["lon"]), "cy": y(c["lat"]), "r": round(c["radius_km"] / KM_PER_DEGREE * unit, 1)}
            for c in area["circles"]
        ],
    }
