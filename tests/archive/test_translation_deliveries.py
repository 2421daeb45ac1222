"""A version translated after it was published went out twice on some channels: once itself
(`version.published`), once more for each translation added later (`translation.added`). Its
history, its JSON record and its history CSV list each delivery once and say which it was:
the version's own first, then each translation's (labelled with its language) in the order
they were added."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from console.archive_views import CHANNEL_NAMES
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, Translations, publish_update
from console.languages import Languages
from console.models import EventType
from console.settings import Settings
from console.web.app import create_app
from tests.archive.conftest import T0, make_incident
from tests.archive.support import deliver_everything, element, text
from tests.conftest import PIO
from tests.support.factories import bearer, make_token

LANGUAGES = Languages(("en", "es", "fr"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def translate_later(
    db: Database, routing: Routing, update_id: int, lang: str, body: str, minute: int
) -> None:
    with db.write() as session:
        add_translation(
            session,
            PIO,
            update_id,
            TranslationDraft(lang=lang, body=body),
            version=1,
            languages=LANGUAGES,
            routing=routing,
            now=T0 + timedelta(minutes=minute),
        )


@pytest.fixture
def slug(settings: Settings, db: Database, routing: Routing) -> str:
    """Update 1: published untranslated at 14:00, translated into French at 14:05, then into
    Spanish at 14:09 (so neither the alphabet nor the language's place in LANGUAGES orders
    them). Update 2: published with its Spanish translation, which has no delivery of its own.
    Everything delivered."""
    slug = make_incident(db, routing, "Gas leak on Elm St", at=T0, body="Residents of Elm St should leave.")
    translate_later(db, routing, 1, "fr", "Les habitants de la rue Elm doivent partir.", minute=5)
    translate_later(db, routing, 1, "es", "Los residentes de Elm St deben salir.", minute=9)
    with db.write() as session:
        publish_update(
            session,
            PIO,
            slug,
            Draft(body="The shelter is open."),
            routing=routing,
            translations=Translations(
                [TranslationDraft(lang="es", body="El refugio está abierto.")], LANGUAGES
            ),
            now=T0 + timedelta(minutes=12),
        )
    deliver_everything(settings, db)
    return slug


def channels_of(settings: Settings, event_type: EventType) -> list[str]:
    return sorted(routing_for(settings).channels_for(event_type))


def expected_order(settings: Settings) -> list[tuple[str, str | None]]:
    """(channel, translation) of update 1's deliveries, in the order they are listed."""
    own = [(channel, None) for channel in channels_of(settings, EventType.VERSION_PUBLISHED)]
    later = channels_of(settings, EventType.TRANSLATION_ADDED)
    return own + [(channel, "fr") for channel in later] + [(channel, "es") for channel in later]


def listed(page: str, anchor: str) -> list[str]:
    """The deliveries the history lists for a version, each as a reader reads it."""
    return [text(item) for item in re.findall(r'<li class="delivery\b.*?</li>', element(page, anchor), re.S)]


def test_the_fixture_has_deliveries_of_translations_added_later(settings: Settings) -> None:
    later = channels_of(settings, EventType.TRANSLATION_ADDED)
    assert {"live", "archive", "feeds"} <= set(later), later


def test_the_history_lists_each_channel_once_for_the_version_and_once_per_translation(
    settings: Settings, web: TestClient, slug: str
) -> None:
    page = web.get(f"/incidents/{slug}/history").text
    deliveries = listed(page, "update-1-v1")
    names = {"fr": "French", "es": "Spanish"}
    expected = [
        CHANNEL_NAMES.get(channel, channel) + (f" ({names[lang]} translation)" if lang else "")
        for channel, lang in expected_order(settings)
    ]
    assert [item.split(": ", 1)[0] for item in deliveries] == expected
    assert len(deliveries) == len(set(item.split(": ", 1)[0] for item in deliveries)), "no line twice"
    own = deliveries[: len(channels_of(settings, EventType.VERSION_PUBLISHED))]
    assert any(item.startswith("Archive file: reached ") for item in own)
    assert any(item.startswith("Archive file (Spanish translation): reached ") for item in deliveries)
    assert any(item.startswith("Archive file (French translation): reached ") for item in deliveries)

    # published with its translation: one delivery per channel, for the version itself
    together = listed(page, "update-2-v1")
    assert [item.split(": ", 1)[0] for item in together] == [
        CHANNEL_NAMES.get(channel, channel) for channel in channels_of(settings, EventType.VERSION_PUBLISHED)
    ]
    assert "translation" not in " ".join(together)


def test_the_spanish_history_names_the_languages_in_spanish(
    settings: Settings, web: TestClient, slug: str
) -> None:
    page = web.get(f"/incidents/{slug}/history", params={"lang": "es"}).text
    deliveries = listed(page, "update-1-v1")
    assert any(item.startswith("Archivo descargable (traducción al español): ") for item in deliveries)
    assert any(item.startswith("Archivo descargable (traducción al francés): ") for item in deliveries)
    assert sum(item.startswith("Archivo descargable: ") for item in deliveries) == 1


def test_the_json_record_says_which_delivery_carried_which_translation(
    settings: Settings, web: TestClient, slug: str
) -> None:
    record = web.get(f"/incidents/{slug}.json").json()
    first, second = sorted(record["updates"], key=lambda update: update["seq"])
    deliveries: list[dict[str, Any]] = first["versions"][0]["deliveries"]
    assert [(d["channel"], d["translation"]) for d in deliveries] == expected_order(settings)
    for d in deliveries:  # the fields a delivery had before are all still there
        assert set(d) == {
            "channel",
            "state",
            "delivered_at",
            "external_id",
            "external_url",
            "posts",
            "translation",
        }
        assert d["state"] in ("sent", "skipped")
    assert [d["translation"] for d in second["versions"][0]["deliveries"]] == [None] * len(
        channels_of(settings, EventType.VERSION_PUBLISHED)
    )


def test_the_history_csv_says_which_delivery_carried_which_translation(
    settings: Settings, web: TestClient, slug: str
) -> None:
    rows = list(csv.DictReader(io.StringIO(web.get(f"/incidents/{slug}/history.csv").text)))
    first = next(row for row in rows if (row["seq"], row["version"]) == ("1", "1"))
    listed_channels = [part.split(": ", 1)[0] for part in first["deliveries"].split("; ")]
    assert listed_channels == [
        f"{channel} (translation {lang})" if lang else channel for channel, lang in expected_order(settings)
    ]


def test_the_api_tells_reviewers_which_delivery_carried_which_translation(
    db: Database, web: TestClient, slug: str
) -> None:
    """`GET /api/v1/updates/{id}` (deliveries for signed-in readers) says the same as the record."""
    token = make_token(db, "reviewer")
    update_id = web.get(f"/incidents/{slug}.json").json()["updates"][-1]["id"]
    answer = web.get(f"/api/v1/updates/{update_id}", headers=bearer(token)).json()
    carried = {(d["channel"], d["translation"]) for d in answer["deliveries"]}
    assert {lang for _, lang in carried} == {None, "fr", "es"}
    assert ("archive", "fr") in carried and ("archive", None) in carried
