"""The feeds' settings are read and checked once; every advertised feed path is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.feeds.paths import Kind, Target, alternate_links
from console.settings import Settings, SettingsError
from console.web.app import create_app
from tests.feeds.conftest import Sample


def test_feed_settings_from_the_environment() -> None:
    settings = Settings.from_environ(
        {
            "FEEDS_DIR": "/srv/feeds",
            "FEEDS_MAX_ENTRIES": "25",
            "FEEDS_TITLE": "Riverside PD incident updates",
            "FEEDS_LANGUAGE": "es-MX",
            "CAP_SENDER": "riverside-pd",
            "PUBLIC_URL": "https://alerts.riverside.example.gov/",
        }
    )
    assert settings.feeds_dir == Path("/srv/feeds")
    assert (settings.feeds_max_entries, settings.feeds_title, settings.feeds_language) == (
        25,
        "Riverside PD incident updates",
        "es-MX",
    )
    assert (settings.cap_sender_id, settings.public_host) == ("riverside-pd", "alerts.riverside.example.gov")
    defaults = Settings.from_environ({})
    assert (defaults.feeds_dir, defaults.feeds_max_entries, defaults.cap_sender_id) == (
        Path("feeds"),
        100,
        "127.0.0.1",
    )
    assert "feeds" in defaults.channels and defaults.websub_hub is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FEEDS_MAX_ENTRIES", "0", "FEEDS_MAX_ENTRIES must be at least 1"),
        ("FEEDS_TITLE", "  ", "FEEDS_TITLE must not be blank"),
        ("FEEDS_LANGUAGE", "en_US", "FEEDS_LANGUAGE must be a language tag"),
        ("CAP_SENDER", "Riverside PD", "CAP_SENDER must be non-empty without spaces"),
    ],
)
def test_bad_feed_settings_are_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_environ({variable: value})


def test_targets_keep_to_slugs_the_console_makes() -> None:
    for slug in ("..", "a/b", "Gas-Leak", "", "-x"):
        with pytest.raises(ValueError):
            Target(Kind.INCIDENT_ATOM, slug)
    with pytest.raises(ValueError):
        Target(Kind.UPDATES_ATOM, "gas-leak")
    with pytest.raises(ValueError):
        Target(Kind.CAP_MESSAGE, "gas-leak")
    assert Target(Kind.CAP_MESSAGE, "gas-leak", 3, 2).file_in(Path("/f")) == Path(
        "/f/incidents/gas-leak/cap/3-2.xml"
    )


def test_every_advertised_feed_is_served(settings: Settings, db: Database, sample: Sample) -> None:
    links = alternate_links(sample.slug)
    assert [link.href for link in links] == [
        f"/incidents/{sample.slug}/feed.atom",
        f"/incidents/{sample.slug}/feed.rss",
        "/feeds/updates.atom",
        "/feeds/updates.rss",
        "/feeds/cap.atom",
    ]
    with TestClient(create_app(settings)) as client:
        for link in links:
            response = client.get(link.href)
            assert response.status_code == 200, link
            assert response.headers["content-type"].startswith(link.type)
