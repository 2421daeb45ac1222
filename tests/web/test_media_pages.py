"""Images on the live page, its fragments and the history page (issue 18)."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from starlette.testclient import TestClient

from console.db import Database
from tests.support.factories import bearer, make_token
from tests.support.images import photo_with_gps


@pytest.fixture
def published(client: TestClient, db: Database) -> dict[str, Any]:
    pio = bearer(make_token(db, "pio"))
    slug = client.post("/api/v1/incidents", json={"title": "Bridge fire"}, headers=pio).json()["slug"]
    photo = client.post(
        "/api/v1/media", files={"file": ("p.jpg", photo_with_gps(1200, 800), "image/jpeg")}, headers=pio
    ).json()
    version = client.post(
        f"/api/v1/incidents/{slug}/updates",
        json={"body": "Smoke.", "media": [{"id": photo["id"], "alt": "Smoke <over> the bridge"}]},
        headers=pio,
    ).json()
    return {"slug": slug, "photo": photo, "version": version, "pio": pio}


def images(html: str) -> list[dict[str, str]]:
    found = lxml.html.fromstring(html).xpath("//div[@class='update__images']/img")
    return [dict(img.attrib) for img in found]


def test_the_live_page_and_history_show_the_image_with_alt_text_and_size(
    client: TestClient, published: dict[str, Any]
) -> None:
    photo = published["photo"]
    for path in (f"/incidents/{published['slug']}", f"/incidents/{published['slug']}/history"):
        response = client.get(path)
        assert response.status_code == 200
        (img,) = images(response.text)
        assert img["src"] == photo["url"]
        assert (img["alt"], img["width"], img["height"]) == ("Smoke <over> the bridge", "800", "1200")
        assert "&lt;over&gt;" in response.text  # escaped in the markup, as every field
        assert img["srcset"].endswith(f"{photo['url']} 800w") and " 480w, " in img["srcset"]
        variant = img["srcset"].split(" ")[0]
        assert client.get(variant).headers["content-type"] == "image/jpeg"


def test_a_correction_that_removes_the_image_removes_it_from_the_page(
    client: TestClient, published: dict[str, Any]
) -> None:
    update_id = published["version"]["id"]
    fixed = client.post(
        f"/api/v1/updates/{update_id}/corrections",
        json={"body": "Smoke.", "media": [], "reason": "Wrong photo", "corrects_version": 1},
        headers=published["pio"],
    )
    assert fixed.status_code == 201
    assert images(client.get(f"/incidents/{published['slug']}").text) == []
    # The history keeps what version 1 published.
    assert len(images(client.get(f"/incidents/{published['slug']}/history").text)) == 1
