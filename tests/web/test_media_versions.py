"""`media: [{id, alt}]` on publish and correct through the API (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from console.db import Database
from console.verification import version_hash
from tests.support.factories import bearer, make_token
from tests.support.images import photo_with_gps, png


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio"))


def uploaded(client: TestClient, pio: dict[str, str], data: bytes, content_type: str) -> dict[str, Any]:
    response = client.post("/api/v1/media", files={"file": ("f", data, content_type)}, headers=pio)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def slug(client: TestClient, pio: dict[str, str]) -> str:
    response = client.post("/api/v1/incidents", json={"title": "Bridge fire"}, headers=pio)
    return str(response.json()["slug"])


def test_a_version_publishes_its_images_with_alt_text_and_hashes_them(
    client: TestClient, pio: dict[str, str], slug: str
) -> None:
    photo = uploaded(client, pio, photo_with_gps(), "image/jpeg")
    published = client.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Smoke over the bridge.", "media": [{"id": photo["id"], "alt": "Smoke over a bridge"}]},
        headers=pio,
    )
    assert published.status_code == 201, published.text
    version = published.json()
    assert version["media"] == [
        {
            "id": photo["id"],
            "alt": "Smoke over a bridge",
            "url": photo["url"],
            "content_type": "image/jpeg",
            "width": 800,
            "height": 1200,
            "size": photo["size"],
            "sha256": photo["sha256"],
        }
    ]
    assert version_hash(slug, 1, version) == version["content_hash"]
    without = {**version, "media": []}
    assert version_hash(slug, 1, without) != version["content_hash"]  # the images are hashed
    record = client.get(f"/api/v1/updates/{version['id']}").json()
    assert record["versions"][0]["media"] == version["media"]


def test_without_images_a_version_has_no_media_field(
    client: TestClient, pio: dict[str, str], slug: str
) -> None:
    version = client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Closed."}, headers=pio).json()
    assert "media" not in version
    assert version_hash(slug, 1, version) == version["content_hash"]


@pytest.mark.parametrize(
    ("media", "field", "problem"),
    [
        ([{"id": 0, "alt": "x"}], "media[0].id", "there is no uploaded image 0"),
        # past any row id (SQLite's 64 bits, PostgreSQL's 32): refused, not a database error
        ([{"id": 2**70, "alt": "x"}], "media[0].id", f"there is no uploaded image {2**70}"),
        ([{"id": 2**31, "alt": "x"}], "media[0].id", f"there is no uploaded image {2**31}"),
        ([{"id": "ID", "alt": "x"}], "media[0].id", "must be an integer"),
        ([{"id": "ID"}], "media[0].alt", "is required"),
        ([{"id": "ID", "alt": "   "}], "media[0].alt", "is required"),
        ([{"id": "ID", "alt": "\u200b\u200d"}], "media[0].alt", "is required: describe the image"),
        ([{"id": "ID", "alt": "a\u0007b"}], "media[0].alt", "contains control characters"),
        ([{"id": "ID", "alt": "x" * 1001}], "media[0].alt", "the limit is 1,000"),
        ([{"id": "ID", "alt": "x", "caption": "y"}], "media[0].caption", "is not a known field"),
        ("ID", "media", "must be an array"),
        ([{"id": "ID", "alt": "x"}] * 5, "media", "at most 4 images"),
    ],
    ids=[
        "unknown",
        "past any 64-bit id",
        "past any 32-bit id",
        "not an integer",
        "no alt",
        "blank alt",
        "invisible alt",
        "control character in alt",
        "alt too long",
        "unknown field",
        "not a list",
        "5",
    ],
)
def test_bad_media_is_a_422_naming_the_field(
    client: TestClient, pio: dict[str, str], slug: str, media: Any, field: str, problem: str
) -> None:
    photo = uploaded(client, pio, png(), "image/png")
    sent = [
        {**item, "id": photo["id"]} if isinstance(item, dict) and item.get("id") == "ID" else item
        for item in (media if isinstance(media, list) else [])
    ] or media
    if field == "media[0].id" and problem == "must be an integer":
        sent = media
    response = client.post(
        f"/api/v1/incidents/{slug}/updates", json={"body": "x", "media": sent}, headers=pio
    )
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["fields"][field]


def test_a_correction_keeps_changes_or_removes_the_images(
    client: TestClient, pio: dict[str, str], slug: str, db: Database
) -> None:
    first, second = (
        uploaded(client, pio, png(), "image/png"),
        uploaded(client, pio, photo_with_gps(), "image/jpeg"),
    )
    update = client.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Fire.", "media": [{"id": first["id"], "alt": "A map"}]},
        headers=pio,
    ).json()
    base = f"/api/v1/updates/{update['id']}/corrections"

    def correct(version: int, **body: Any) -> Any:
        return client.post(base, json={"reason": "r", "corrects_version": version, **body}, headers=pio)

    kept = correct(1, body="Fire, contained.")
    assert kept.status_code == 201 and [m["id"] for m in kept.json()["media"]] == [first["id"]]
    same = correct(2, body="Fire, contained.", media=[{"id": first["id"], "alt": "A map"}])
    assert same.status_code == 422 and "identical" in same.json()["error"]["fields"]["body"]
    new_alt = correct(2, body="Fire, contained.", media=[{"id": first["id"], "alt": "A map of the fire"}])
    assert new_alt.status_code == 201 and new_alt.json()["media"][0]["alt"] == "A map of the fire"
    swapped = correct(3, body="Fire, contained.", media=[{"id": second["id"], "alt": "The bridge"}])
    assert [m["sha256"] for m in swapped.json()["media"]] == [second["sha256"]]
    removed = correct(4, body="Fire, contained.", media=[])
    assert removed.status_code == 201 and "media" not in removed.json()
    confirmed = client.post(
        f"/api/v1/updates/{update['id']}/confirmation", json={"corrects_version": 5}, headers=pio
    ).json()
    assert "media" not in confirmed
    versions = client.get(f"/api/v1/updates/{update['id']}").json()["versions"]
    assert [[m["alt"] for m in v.get("media", [])] for v in versions] == [
        ["A map"],
        ["A map"],
        ["A map of the fire"],
        ["The bridge"],
        [],
        [],
    ]
    for version in versions:
        assert version_hash(slug, 1, version) == version["content_hash"]
    with pytest.raises(DatabaseError), db.write() as session:
        session.execute(text("UPDATE version_media SET alt = 'changed'"))
    with pytest.raises(DatabaseError), db.write() as session:
        session.execute(text("DELETE FROM media_files"))
