"""The incident's mapped area (issue 17): validated, versioned with the other details,
shown as GeoJSON, hashed so that `console audit verify` finds an edited one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.domain.area import area_of, parse_typed_area
from console.domain.integrity import verify
from console.models import IncidentDetailsVersion
from tests.support.factories import bearer, make_token

# A square around downtown, [lat, lon], closed.
SQUARE = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
AREA = {
    "description": "Downtown, between 1st and 14th Streets",
    "polygons": [SQUARE],
    "circles": [{"lat": 38.915, "lon": -77.02, "radius_km": 1.5}],
    "geocodes": [{"name": "SAME", "value": "011001"}],
}


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


@pytest.fixture
def slug(client: TestClient, pio: dict[str, str]) -> str:
    response = client.post("/api/v1/incidents", json={"title": "Gas leak"}, headers=pio)
    assert response.status_code == 201, response.text
    return str(response.json()["slug"])


def change(client: TestClient, pio: dict[str, str], slug: str, version: int, **body: Any) -> Any:
    return client.post(
        f"/api/v1/incidents/{slug}/details",
        json={"reason": "Area mapped", "corrects_version": version, **body},
        headers=pio,
    )


def versions(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(IncidentDetailsVersion)) or 0)


def test_an_area_is_versioned_and_shown_as_geojson(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    response = change(client, pio, slug, 1, area=AREA)
    assert response.status_code == 201, response.text
    assert response.json()["changed"] == ["area"] and response.json()["version"] == 2
    record = client.get(f"/api/v1/incidents/{slug}").json()
    feature = record["area"]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    [ring] = feature["geometry"]["coordinates"]
    assert {tuple(point) for point in ring} == {(lon, lat) for lat, lon in SQUARE}  # [lon, lat]
    assert feature["properties"] == {
        "description": AREA["description"],
        "circles": AREA["circles"],
        "geocodes": AREA["geocodes"],
    }
    first, second = record["details_versions"]
    assert first["area"] is None and second["area"] == feature
    # The archive JSON shows it too.
    assert client.get(f"/incidents/{slug}.json").json()["area"] == feature

    second_square = [[lat + 0.1, lon] for lat, lon in SQUARE]
    moved = change(client, pio, slug, 2, area={**AREA, "polygons": [SQUARE, second_square]})
    assert moved.status_code == 201, moved.text
    assert client.get(f"/api/v1/incidents/{slug}").json()["area"]["geometry"]["type"] == "MultiPolygon"
    # Nothing in it: the area is removed, as a version of its own.
    cleared = change(client, pio, slug, 3, area={"polygons": []})
    assert cleared.status_code == 201 and cleared.json()["changed"] == ["area"]
    assert client.get(f"/api/v1/incidents/{slug}").json()["area"] is None
    with db.read() as session:
        assert verify(session).ok


def test_an_incident_is_created_with_its_area(client: TestClient, db: Database, pio: dict[str, str]) -> None:
    response = client.post("/api/v1/incidents", json={"title": "Flood", "area": AREA}, headers=pio)
    assert response.status_code == 201, response.text
    assert response.json()["area"]["properties"]["description"] == AREA["description"]
    [first] = client.get(f"/api/v1/incidents/{response.json()['slug']}").json()["details_versions"]
    assert first["area"] == response.json()["area"]
    with db.read() as session:
        assert verify(session).ok


def test_a_version_without_an_area_keeps_the_hash_it_had_before_areas(db: Database, slug: str) -> None:
    from console.domain.canonical import canonical_json, iso, sha256_hex

    with db.read() as session:
        [row] = session.scalars(select(IncidentDetailsVersion)).all()
        before_areas = {
            "incident": slug,
            "version": 1,
            "title": row.title,
            "summary": row.summary,
            "location": row.location,
            "category": row.category,
            "alert_status": row.alert_status.value,
            "reason": None,
            "author": row.author_name,
            "published_at": iso(row.published_at),
        }
        assert row.area is None and row.content_hash == sha256_hex(canonical_json(before_areas))


BOW_TIE = [[38.90, -77.04], [38.93, -77.00], [38.90, -77.00], [38.93, -77.04], [38.90, -77.04]]


@pytest.mark.parametrize(
    ("polygon", "problem"),
    [
        (SQUARE[:-1] + [[38.91, -77.04]], "is not closed"),
        ([SQUARE[0], SQUARE[1], SQUARE[0]], "has 3 points"),
        ([[38.9 + i / 1000, -77.0] for i in range(100)] + [[38.9, -77.0]], "has 101 points"),
        ([[91, -77.04], *SQUARE[1:-1], [91, -77.04]], "latitude 91 is outside -90..90"),
        (BOW_TIE, "Self-intersection"),
    ],
    ids=["open", "3 points", "101 points", "lat 91", "bow-tie"],
)
def test_a_bad_polygon_is_a_422_naming_the_problem_and_writes_nothing(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, polygon: Any, problem: str
) -> None:
    response = change(client, pio, slug, 1, area={"description": "Here", "polygons": [polygon]})
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["fields"]["area"]
    assert versions(db) == 1
    created = client.post(
        "/api/v1/incidents", json={"title": "Flood", "area": {"polygons": [polygon]}}, headers=pio
    )
    assert created.status_code == 422 and problem in created.json()["error"]["fields"]["area"]


@pytest.mark.parametrize(
    "area",
    [
        "downtown",
        {"polygons": [SQUARE], "colour": "red"},
        {"circles": [{"lat": 38.9, "lon": -77.0, "radius_km": 0}]},
        {"geocodes": [{"name": "", "value": "1"}]},
        {"description": "Downtown"},
        {"polygons": None},
        {"circles": [{"lat": 38.9, "lon": -77.0}]},
        {"polygons": [[[38.9, -77.0]] * 4]},  # closed, but no area
    ],
)
def test_other_bad_areas_are_422(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, area: Any
) -> None:
    response = change(client, pio, slug, 1, area=area)
    assert response.status_code == 422 and "area" in response.json()["error"]["fields"]
    assert versions(db) == 1


def test_an_area_typed_as_geojson_or_coordinates() -> None:
    errors: dict[str, str] = {}
    ring = ", ".join(f"[{lon}, {lat}]" for lat, lon in SQUARE)
    geojson = f'{{"type": "Feature", "geometry": {{"type": "Polygon", "coordinates": [[{ring}]]}}}}'
    typed = parse_typed_area(geojson, "Downtown", errors)
    lines = parse_typed_area(" ".join(f"{lat},{lon}" for lat, lon in SQUARE), "Downtown", errors)
    assert errors == {}
    assert typed == lines == area_of({"description": "Downtown", "polygons": [SQUARE]}, errors)
    assert parse_typed_area("38.9,-77 oops", "", errors) is None and "line 1" in errors["area"]
    for features in ("1", "{}", '"x"', "null"):
        errors = {}
        collection = f'{{"type": "FeatureCollection", "features": {features}}}'
        assert parse_typed_area(collection, "", errors) is None and "list of features" in errors["area"]


def test_the_database_refuses_an_incident_area_no_version_holds(
    client: TestClient, db: Database, pio: dict[str, str], slug: str
) -> None:
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET area = '{}'"))


def test_audit_verify_detects_an_edited_area(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, tampered_db: Database
) -> None:
    assert change(client, pio, slug, 1, area=AREA).status_code == 201
    with db.read() as session:
        assert verify(session).ok
    moved = [[[lat + 1, lon] for lat, lon in SQUARE]]
    edited = AREA | {"polygons": moved}
    from console.domain.area import area_text

    with tampered_db.engine.begin() as conn:
        conn.execute(
            text("UPDATE incident_details_versions SET area = :area WHERE version = 2"),
            {"area": area_text(area_of(edited, {}))},
        )
    with db.read() as session:
        report = verify(session)
    assert not report.ok and "details version 2: its content does not match its hash" in report.describe()
    with tampered_db.engine.begin() as conn:  # both rows edited alike: the hash still tells
        conn.execute(
            text("UPDATE incidents SET area = (SELECT area FROM incident_details_versions WHERE version = 2)")
        )
    with db.read() as session:
        assert not verify(session).ok


def test_audit_verify_detects_an_incident_area_that_is_not_its_versions(
    client: TestClient, db: Database, pio: dict[str, str], slug: str, tampered_db: Database
) -> None:
    assert change(client, pio, slug, 1, area=AREA).status_code == 201
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET area = NULL"))
    with db.read() as session:
        report = verify(session)
    assert not report.ok and "area) are not those of its details version 2" in report.describe()


def test_the_history_shows_an_area_change(client: TestClient, pio: dict[str, str], slug: str) -> None:
    assert change(client, pio, slug, 1, area=AREA).status_code == 201
    page = client.get(f"/incidents/{slug}/history").text
    section = page.split('id="details"', 1)[1].split("</section>", 1)[0]
    assert "Mapped area" in section and "38.9,-77.04 38.9,-77" in section and "SAME 011001" in section
