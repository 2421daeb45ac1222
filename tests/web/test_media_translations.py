"""Translated alt text (issue 18): a translation gives its version's images alt text in its
language (`media_alt`, one per image, in order), hashed with it only when given; Spanish
readers, the Spanish feed and the Spanish CAP <info> get it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import lxml.html
import pytest
from lxml import etree
from starlette.testclient import TestClient

from console.db import Database
from console.feeds.paths import cap_message
from console.settings import Settings
from console.verification import translation_hash
from console.web.app import create_app
from tests.feeds.conftest import render
from tests.support.factories import bearer, make_token
from tests.support.images import photo_with_gps, png

CAP = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=("en", "es"))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio"))


def publish(client: TestClient, pio: dict[str, str], **translation: Any) -> Any:
    slug = client.post("/api/v1/incidents", json={"title": "Bridge fire"}, headers=pio).json()["slug"]
    ids = [
        client.post("/api/v1/media", files={"file": ("f", data, kind)}, headers=pio).json()["id"]
        for data, kind in ((photo_with_gps(), "image/jpeg"), (png(), "image/png"))
    ]
    return slug, client.post(
        f"/api/v1/incidents/{slug}/updates",
        json={
            "body": "Smoke.",
            "media": [{"id": ids[0], "alt": "Smoke over the bridge"}, {"id": ids[1], "alt": "Map"}],
            "translations": [{"lang": "es", "body": "Humo.", **translation}],
        },
        headers=pio,
    )


def test_a_translation_gives_the_images_alt_text_in_its_language(
    client: TestClient, pio: dict[str, str], settings: Settings, db: Database
) -> None:
    slug, response = publish(client, pio, media_alt=["Humo sobre el puente", "Mapa"])
    assert response.status_code == 201, response.text
    [spanish] = response.json()["translations"]
    assert spanish["media_alt"] == ["Humo sobre el puente", "Mapa"]
    assert translation_hash(slug, 1, spanish) == spanish["content_hash"]
    assert translation_hash(slug, 1, {**spanish, "media_alt": ["x", "y"]}) != spanish["content_hash"]

    page = lxml.html.fromstring(client.get(f"/incidents/{slug}?lang=es").text)
    alts = [(img.get("alt"), img.get("lang")) for img in page.xpath("//div[@class='update__images']/img")]
    assert alts == [("Humo sobre el puente", None), ("Mapa", None)]  # in the page's language
    english = lxml.html.fromstring(client.get(f"/incidents/{slug}?lang=en").text)
    assert [img.get("alt") for img in english.xpath("//div[@class='update__images']/img")] == [
        "Smoke over the bridge",
        "Map",
    ]
    root = etree.fromstring(render(settings, db, cap_message(slug, 1, 1)))
    descriptions = [
        [r.findtext("cap:resourceDesc", namespaces=CAP) for r in info.iterfind("cap:resource", CAP)]
        for info in root.iterfind("cap:info", CAP)
    ]
    assert descriptions == [["Smoke over the bridge", "Map"], ["Humo sobre el puente", "Mapa"]]


def test_a_translation_without_alt_text_keeps_its_hash_rule_and_the_primary_alt(
    client: TestClient, pio: dict[str, str]
) -> None:
    slug, response = publish(client, pio)
    [spanish] = response.json()["translations"]
    assert "media_alt" not in spanish and translation_hash(slug, 1, spanish) == spanish["content_hash"]
    page = lxml.html.fromstring(client.get(f"/incidents/{slug}?lang=es").text)
    # The Spanish text, the English alt text: marked as English, so it is read as English.
    assert [
        (img.get("alt"), img.get("lang")) for img in page.xpath("//div[@class='update__images']/img")
    ] == [("Smoke over the bridge", "en"), ("Map", "en")]


@pytest.mark.parametrize(
    ("media_alt", "field"),
    [
        (["Solo una"], "translations.es.media_alt"),
        (["Humo", " "], "translations[0].media_alt[1]"),
        ("Humo", "translations[0].media_alt"),
    ],
    ids=["one too few", "blank", "not a list"],
)
def test_bad_translated_alt_text_is_a_422(
    client: TestClient, pio: dict[str, str], db: Database, media_alt: Any, field: str
) -> None:
    _, response = publish(client, pio, media_alt=media_alt)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"]


def test_the_history_page_gives_the_translations_alt_text_in_its_language(
    client: TestClient, pio: dict[str, str]
) -> None:
    slug, response = publish(client, pio, media_alt=["Humo sobre el puente", "Mapa"])
    assert response.status_code == 201, response.text
    spanish = lxml.html.fromstring(client.get(f"/incidents/{slug}/history?lang=es").text)
    [images] = spanish.xpath("//article[contains(@class, 'version')]//div[@class='update__images']")
    assert [(img.get("alt"), img.get("lang")) for img in images.xpath("img")] == [
        ("Humo sobre el puente", "es"),
        ("Mapa", "es"),
    ]
    english = lxml.html.fromstring(client.get(f"/incidents/{slug}/history?lang=en").text)
    assert [
        (img.get("alt"), img.get("lang")) for img in english.xpath("//div[@class='update__images']/img")
    ] == [
        ("Smoke over the bridge", None),
        ("Map", None),
    ]


def test_the_history_page_without_translated_alt_text_marks_the_primary_alt_as_such(
    client: TestClient, pio: dict[str, str]
) -> None:
    slug, response = publish(client, pio)
    assert response.status_code == 201, response.text
    spanish = lxml.html.fromstring(client.get(f"/incidents/{slug}/history?lang=es").text)
    assert [
        (img.get("alt"), img.get("lang")) for img in spanish.xpath("//div[@class='update__images']/img")
    ] == [
        ("Smoke over the bridge", "en"),
        ("Map", "en"),
    ]
