"""A live page links the feeds in its own language: the first feeds on a page in the primary
language, `/feeds/{lang}/...` on a page in another one of LANGUAGES, and the same feeds in
every other language as `hreflang` alternates."""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest

from console.settings import Settings
from tests.live.support import new_incident, publish
from tests.support.live_server import LiveServer, serve

LANGUAGES = ("en", "es", "vi")
HEAD_LINK = re.compile(r'<link rel="alternate" type="application/(?:atom|rss)\+xml" [^>]*>')


@pytest.fixture
def multilingual(live_settings: Settings) -> Iterator[LiveServer]:
    with serve(replace(live_settings, languages=LANGUAGES)) as server:
        yield server


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            code: int = response.status
            return code
    except urllib.error.HTTPError as error:
        return error.code


def feed_links(page: str) -> list[dict[str, str]]:
    """Each feed <link rel="alternate"> of the page's <head>, as its attributes."""
    head = page.split("</head>", 1)[0]
    return [
        {name: html.unescape(value) for name, value in re.findall(r'(\w+)="([^"]*)"', tag)}
        for tag in HEAD_LINK.findall(head)
    ]


def visible_feeds(page: str) -> list[str]:
    feeds = page.split('<p class="feeds">', 1)[1].split("</p>", 1)[0]
    return re.findall(r'<a href="([^"]+)">(?:Atom|RSS)</a>', feeds)


def served(url: str, timeout: float = 10) -> bool:
    """The feeds channel writes the files just after publication: wait for one."""
    deadline = time.monotonic() + timeout
    while status(url) != 200:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_page_in_another_language_links_that_languages_feeds(
    multilingual: LiveServer, pio_token: str
) -> None:
    base = multilingual.url
    slug = new_incident(base, pio_token, "Gas leak")
    publish(base, pio_token, slug, "Residents of Elm St should leave now.")

    spanish = get(f"{base}/incidents/{slug}?lang=es")
    assert visible_feeds(spanish) == [
        f"/feeds/es/incidents/{slug}/feed.atom",
        f"/feeds/es/incidents/{slug}/feed.rss",
    ]
    links = feed_links(spanish)
    own = [(link["href"], link.get("hreflang")) for link in links if link.get("hreflang") in ("es", None)]
    assert own == [
        (f"/feeds/es/incidents/{slug}/feed.atom", "es"),
        (f"/feeds/es/incidents/{slug}/feed.rss", "es"),
        ("/feeds/es/updates.atom", "es"),
        ("/feeds/es/updates.rss", "es"),
        ("/feeds/cap.atom", None),  # one CAP index: each message carries every language
    ]
    assert [link["title"] for link in links if link.get("hreflang") in ("es", None)] == [
        "Este incidente (Atom)",
        "Este incidente (RSS)",
        "Todas las actualizaciones de incidentes (Atom)",
        "Todas las actualizaciones de incidentes (RSS)",
        "Alertas CAP (índice Atom)",
    ]
    others = [(link["href"], link["hreflang"]) for link in links if link.get("hreflang") in ("en", "vi")]
    assert others == [
        (f"/feeds/{lang}/incidents/{slug}/feed.{fmt}", lang)
        for lang in ("en", "vi")
        for fmt in ("atom", "rss")
    ]
    for href in [link["href"] for link in links]:
        assert served(base + href), href

    index = get(f"{base}/?lang=es")
    assert visible_feeds(index) == ["/feeds/es/updates.atom", "/feeds/es/updates.rss"]
    hrefs = [(link["href"], link.get("hreflang")) for link in feed_links(index)]
    assert hrefs == [
        ("/feeds/es/updates.atom", "es"),
        ("/feeds/es/updates.rss", "es"),
        ("/feeds/cap.atom", None),
        ("/feeds/en/updates.atom", "en"),
        ("/feeds/en/updates.rss", "en"),
        ("/feeds/vi/updates.atom", "vi"),
        ("/feeds/vi/updates.rss", "vi"),
    ]

    # The primary language's page keeps the first feeds, and offers the others' by `hreflang`.
    english = get(f"{base}/incidents/{slug}?lang=en")
    assert [link["title"] for link in feed_links(english)][:5] == [
        "This incident (Atom)",
        "This incident (RSS)",
        "All incident updates (Atom)",
        "All incident updates (RSS)",
        "CAP alerts (Atom index)",
    ]
    assert visible_feeds(english) == [f"/incidents/{slug}/feed.atom", f"/incidents/{slug}/feed.rss"]
    assert [(link["href"], link.get("hreflang")) for link in feed_links(english)] == [
        (f"/incidents/{slug}/feed.atom", None),
        (f"/incidents/{slug}/feed.rss", None),
        ("/feeds/updates.atom", None),
        ("/feeds/updates.rss", None),
        ("/feeds/cap.atom", None),
        *(
            (f"/feeds/{lang}/incidents/{slug}/feed.{fmt}", lang)
            for lang in ("es", "vi")
            for fmt in ("atom", "rss")
        ),
    ]
    assert visible_feeds(get(f"{base}/?lang=en")) == ["/feeds/updates.atom", "/feeds/updates.rss"]
