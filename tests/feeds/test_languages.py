"""Feeds and CAP in every language of LANGUAGES: a current translation is shown in its
language; a stale or missing one falls back to the primary text, marked as such and declared
in the primary language; CAP carries one <info> per language that reads current."""

from __future__ import annotations

import dataclasses
import os
import time

import feedparser
import pytest
from lxml import etree
from starlette.testclient import TestClient

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, Translations, publish_update
from console.feeds.paths import (
    UPDATES_ATOM,
    UPDATES_RSS,
    cap_message,
    incident_atom,
    incident_rss,
    language_feed_links,
    updates_atom,
    updates_rss,
)
from console.feeds.writer import FeedFiles
from console.languages import Languages
from console.models import DeliveryState
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.feeds.conftest import (
    CAP_NS,
    at,
    cap_text,
    correct,
    deliveries,
    drain,
    make_incident,
    publish,
    render,
    retract,
    valid_cap,
)
from tests.feeds.test_websub import PATIENT, FakeHub, hub  # noqa: F401 (the fake hub fixture)

LANGUAGES = Languages(("en", "es", "vi"))
ATOM = {"a": "http://www.w3.org/2005/Atom"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CAP = {"cap": CAP_NS}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


def translate(
    db: Database, routing: Routing, update_id: int, version: int, body: str, *, minute: int, lang: str = "es"
) -> None:
    with db.write() as session:
        add_translation(
            session,
            PIO,
            update_id,
            TranslationDraft(lang=lang, body=body),
            version=version,
            languages=LANGUAGES,
            routing=routing,
            now=at(minute),
        )


def publish_translated(
    db: Database, routing: Routing, slug: str, body: str, spanish: str, minute: int
) -> int:
    with db.write() as session:
        return publish_update(
            session,
            PIO,
            slug,
            Draft(body=body),
            routing=routing,
            now=at(minute),
            translations=Translations([TranslationDraft(lang="es", body=spanish)], LANGUAGES),
        ).update.id


def entries(atom: bytes) -> dict[str, etree._Element]:
    """The entries of an Atom feed by the version their id names (e.g. "1/2": update 1 version 2)."""
    root = etree.fromstring(atom)
    found = {}
    for entry in root.findall("a:entry", ATOM):
        entry_id = entry.findtext("a:id", namespaces=ATOM) or ""
        seq, version = entry_id.split("/updates/")[1].split("/versions/")
        found[f"{seq}/{version.split('/')[0]}"] = entry
    return found


def content(entry: etree._Element) -> str:
    return entry.findtext("a:content", namespaces=ATOM) or ""


def content_lang(entry: etree._Element) -> str | None:
    found = entry.find("a:content", ATOM)
    assert found is not None
    return found.get(XML_LANG)


def title(entry: etree._Element) -> str:
    return entry.findtext("a:title", namespaces=ATOM) or ""


def test_a_current_translation_is_shown_in_its_feed_and_a_missing_one_falls_back_marked(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    first = publish(db, routing, slug, "Evacuate Oak St.", headline="Evacuation", minute=1)
    publish(db, routing, slug, "Road closed at 3rd Ave.", minute=3)
    translate(db, routing, first, 1, "Evacúen la calle Oak.", minute=2)

    atom = render(settings, db, updates_atom("es"))
    root = etree.fromstring(atom)
    assert root.get(XML_LANG) == "es", "the feed declares its language"
    spanish = entries(atom)
    assert set(spanish) == {"1/1", "2/1"}
    translated, untranslated = spanish["1/1"], spanish["2/1"]
    assert "Evacúen la calle Oak." in content(translated) and "Evacuate Oak St." not in content(translated)
    assert content_lang(translated) is None, "in the feed's own language"
    assert "[" not in title(translated)
    assert title(translated) == "PRELIMINAR: Evacúen la calle Oak.", "the translation has no headline"
    assert translated.findtext("a:updated", namespaces=ATOM) == "2026-03-14T09:32:15.250000+00:00", (
        "the entry changed when the translation came"
    )
    assert translated.findtext("a:id", namespaces=ATOM).endswith("/versions/1/es")  # type: ignore[union-attr]

    assert title(untranslated) == "PRELIMINAR: [Todavía sin traducir] Road closed at 3rd Ave."
    assert content_lang(untranslated) == "en", "the primary text is declared as such"
    assert "<strong>Todavía sin traducir.</strong>" in content(untranslated)
    assert "idioma original (inglés)" in content(untranslated)
    assert '<div lang="en"><p>Road closed at 3rd Ave.</p></div>' in content(untranslated)

    rss = etree.fromstring(render(settings, db, updates_rss("es")))
    assert rss.findtext("channel/language") == "es"
    items = {item.findtext("title"): item.findtext("description") or "" for item in rss.iter("item")}
    assert items.keys() == {
        "PRELIMINAR: Evacúen la calle Oak.",
        "PRELIMINAR: [Todavía sin traducir] Road closed at 3rd Ave.",
    }
    assert "Todavía sin traducir" in items["PRELIMINAR: [Todavía sin traducir] Road closed at 3rd Ave."]

    # Vietnamese: nothing translated, every entry falls back (marked; no Vietnamese words table yet)
    vietnamese = entries(render(settings, db, updates_atom("vi")))
    assert etree.fromstring(render(settings, db, updates_atom("vi"))).get(XML_LANG) == "vi"
    assert all(
        content_lang(entry) == "en" and "[Not translated yet]" in title(entry)
        for entry in vietnamese.values()
    )

    # the primary feeds are as they were: English text, no marker, no language suffix on ids
    english = entries(render(settings, db, UPDATES_ATOM))
    assert "Evacuate Oak St." in content(english["1/1"]) and "translat" not in content(english["1/1"]).lower()
    assert english["1/1"].findtext("a:id", namespaces=ATOM).endswith("/versions/1")  # type: ignore[union-attr]


def test_after_a_correction_the_translation_is_stale_in_atom_rss_and_cap(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    first = publish_translated(db, routing, slug, "Evacuate Oak St.", "Evacúen la calle Oak.", minute=1)
    correct(db, routing, first, "Evacuate Elm St.", "Wrong street", corrects=1, minute=2)

    for atom in (render(settings, db, updates_atom("es")), render(settings, db, incident_atom(slug, "es"))):
        spanish = entries(atom)
        corrected = spanish["1/2"]
        assert "Evacúen la calle Oak." not in content(corrected), "the stale text is never the current one"
        assert "Evacuate Elm St." in content(corrected)
        assert title(corrected) == "CORRECCIÓN: PRELIMINAR: [Traducción en actualización] Evacuate Elm St."
        assert content_lang(corrected) == "en"
        assert '<strong>Corrección:</strong> <span lang="en">Wrong street</span>' in content(corrected)
        assert "Qué cambió: todas las versiones de esta actualización" in content(corrected)
        assert "/incidents/gas-leak/history?lang=es#update-1" in content(corrected)
        # the first version's own entry keeps its own translation: it was current for that version
        assert "Evacúen la calle Oak." in content(spanish["1/1"]) and content_lang(spanish["1/1"]) is None

    rss = etree.fromstring(render(settings, db, incident_rss(slug, "es")))
    assert rss.findtext("channel/language") == "es"
    newest = next(rss.iter("item"))
    assert (
        newest.findtext("title") == "CORRECCIÓN: PRELIMINAR: [Traducción en actualización] Evacuate Elm St."
    )
    assert "Evacúen" not in (newest.findtext("description") or "")
    assert "Traducción en actualización" in (newest.findtext("description") or "")
    assert newest.findtext("link") == "http://127.0.0.1:8000/incidents/gas-leak?lang=es#update-1"

    stale_cap = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2)))
    infos = stale_cap.findall("cap:info", CAP)
    assert [cap_text(info, "cap:language") for info in infos] == ["en-US"], "a stale translation is no <info>"
    first_cap = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 1)))
    assert [cap_text(info, "cap:language") for info in first_cap.findall("cap:info", CAP)] == ["en-US", "es"]

    # the translation of the correction brings Spanish back, in the feeds and in CAP
    translate(db, routing, first, 2, "Evacúen la calle Elm.", minute=3)
    corrected = entries(render(settings, db, updates_atom("es")))["1/2"]
    assert title(corrected) == "CORRECCIÓN: PRELIMINAR: Evacúen la calle Elm."
    assert content_lang(corrected) is None and "Evacuate Elm St." not in content(corrected)
    unchanged = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2)))
    assert [cap_text(info, "cap:language") for info in unchanged.findall("cap:info", CAP)] == ["en-US"]
    current_cap = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2, 1)))
    assert cap_text(current_cap, "cap:msgType") == "Update"
    infos = current_cap.findall("cap:info", CAP)
    assert [cap_text(info, "cap:language") for info in infos] == ["en-US", "es"]
    spanish_info = infos[1]
    assert cap_text(spanish_info, "cap:headline") == "CORRECCIÓN: PRELIMINAR: Evacúen la calle Elm."
    assert cap_text(spanish_info, "cap:description") == "Corrección: Wrong street\n\nEvacúen la calle Elm."
    assert cap_text(spanish_info, "cap:web") == "http://127.0.0.1:8000/incidents/gas-leak?lang=es#update-1"
    assert cap_text(spanish_info, "cap:certainty") == cap_text(infos[0], "cap:certainty") == "Likely"

    translate(db, routing, first, 2, "Sơ tán đường Elm.", minute=4, lang="vi")
    three = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2, 2)))
    infos = three.findall("cap:info", CAP)
    assert [cap_text(info, "cap:language") for info in infos] == ["en-US", "es", "vi"]
    assert cap_text(infos[2], "cap:description") == "Correction: Wrong street\n\nSơ tán đường Elm."
    assert cap_text(infos[2], "cap:headline") == "CORRECTION: PRELIMINARY: Sơ tán đường Elm."


def test_retractions_and_drills_keep_their_labels_in_every_language(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Drill", alert_status="exercise", minute=0)
    first = publish_translated(db, routing, slug, "Shelter in place.", "Refúgiense en casa.", minute=1)
    retract(db, routing, first, "Sent by mistake", minute=2)
    # Before anyone translates the retraction, its entry is the translation of what it withdrew,
    # struck through: nothing of it is "being updated".
    withdrawn = entries(render(settings, db, incident_atom(slug, "es")))["1/2"]
    assert title(withdrawn) == "SIMULACRO: RETIRADA: Refúgiense en casa."
    assert "<del><p>Refúgiense en casa.</p></del>" in content(withdrawn)
    assert "Traducción en actualización" not in content(withdrawn) and content_lang(withdrawn) is None
    translate(db, routing, first, 2, "Refúgiense en casa.", minute=3)

    feed = etree.fromstring(render(settings, db, incident_atom(slug, "es")))
    assert feed.findtext("a:title", namespaces=ATOM) == "SIMULACRO: Drill (Español)"
    retracted = entries(etree.tostring(feed))["1/2"]
    assert title(retracted) == "SIMULACRO: RETIRADA: Refúgiense en casa."
    assert "<del><p>Refúgiense en casa.</p></del>" in content(retracted)
    assert "<strong>SIMULACRO</strong>: esto no es un incidente real." in content(retracted)
    # the translation of the retraction is a revision of it: still a Cancel
    cancel = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2, 1)))
    assert cap_text(cancel, "cap:msgType") == "Cancel"
    spanish = cancel.findall("cap:info", CAP)[1]
    assert (
        cap_text(spanish, "cap:description")
        == "Retirada: Sent by mistake\n\nTexto retirado: Refúgiense en casa."
    )


def test_language_feeds_link_to_each_other_and_pages_can_list_them(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    publish(db, routing, slug, "Evacuate Oak St.", minute=1)
    feed = etree.fromstring(render(settings, db, updates_atom("es")))
    alternates = {
        link.get("hreflang"): link.get("href")
        for link in feed.findall("a:link", ATOM)
        if link.get("rel") == "alternate" and link.get("hreflang")
    }
    assert alternates == {
        "en": "http://127.0.0.1:8000/feeds/en/updates.atom",
        "vi": "http://127.0.0.1:8000/feeds/vi/updates.atom",
    }
    self_link = feed.find("a:link[@rel='self']", ATOM)
    assert self_link is not None and self_link.get("href") == "http://127.0.0.1:8000/feeds/es/updates.atom"
    parsed = feedparser.parse(render(settings, db, incident_rss(slug, "es")))
    assert parsed.feed.language == "es" and not parsed.bozo
    assert {link.get("hreflang") for link in parsed.feed.links} >= {"en", "vi"}

    # the primary language's feed: the content of the first feeds, declared as FEEDS_LANGUAGE
    primary, first = render(settings, db, updates_atom("en")), render(settings, db, UPDATES_ATOM)
    assert etree.fromstring(primary).get(XML_LANG) == "en-US"
    assert [(title(e), content(e)) for e in entries(primary).values()] == [
        (title(e), content(e)) for e in entries(first).values()
    ]
    assert list(entries(primary)) == list(entries(first))

    links = language_feed_links(LANGUAGES.tags, slug)
    assert [(link.href, link.hreflang) for link in links] == [
        (f"/feeds/{lang}/incidents/{slug}/feed.{fmt}", lang)
        for lang in ("en", "es", "vi")
        for fmt in ("atom", "rss")
    ]
    assert links[2].title == "Español: Atom"
    assert [link.href for link in language_feed_links(("en", "es"))] == [
        "/feeds/en/updates.atom",
        "/feeds/en/updates.rss",
        "/feeds/es/updates.atom",
        "/feeds/es/updates.rss",
    ]


def test_a_translation_rewrites_only_its_language_feeds_and_the_cap_index(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    first = publish(db, routing, slug, "Evacuate Oak St.", minute=1)
    drain(settings, db)
    files = settings.feeds_dir
    written = {
        path.relative_to(files).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in files.rglob("*")
        if path.is_file()
    }
    assert {
        f"feeds/{lang}/{name}" for lang in ("en", "es", "vi") for name in ("updates.atom", "updates.rss")
    } | {
        f"feeds/{lang}/incidents/{slug}/feed.{fmt}" for lang in ("en", "es", "vi") for fmt in ("atom", "rss")
    } <= written.keys(), "each publication writes every language's feeds"

    translate(db, routing, first, 1, "Evacúen la calle Oak.", minute=2)
    drain(settings, db)
    changed = {
        name
        for name, (content_before, mtime) in written.items()
        if (files / name).read_bytes() != content_before or (files / name).stat().st_mtime_ns != mtime
    }
    assert changed == {
        "feeds/cap.atom",  # lists the new CAP message: the published one is never rewritten
        "feeds/es/updates.atom",
        "feeds/es/updates.rss",
        f"feeds/es/incidents/{slug}/feed.atom",
        f"feeds/es/incidents/{slug}/feed.rss",
    }
    assert "Evacúen la calle Oak." in (files / "feeds/es/updates.atom").read_text()
    assert deliveries(db, "feeds")[-1].detail == (
        f"wrote /incidents/{slug}/cap/1-1-r1.xml, /feeds/es/incidents/{slug}/feed.atom, "
        f"/feeds/es/incidents/{slug}/feed.rss, /feeds/es/updates.atom, /feeds/es/updates.rss, "
        "/feeds/cap.atom; 1 unchanged"  # the published 1-1.xml
    )


def test_language_feeds_over_http_unknown_languages_404_and_conditional_get(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    publish(db, routing, slug, "Evacuate Oak St.", minute=1)
    drain(settings, db)
    path = updates_atom("es").file_in(settings.feeds_dir)
    old = time.time() - 120
    os.utime(path, (old, old))
    with TestClient(create_app(settings)) as app:
        response = app.get("/feeds/es/updates.atom")
        assert response.status_code == 200 and response.content == path.read_bytes()
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        again = app.get("/feeds/es/updates.atom", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        since = app.get(
            "/feeds/es/updates.atom", headers={"If-Modified-Since": response.headers["last-modified"]}
        )
        assert since.status_code == 304
        for url in (f"/feeds/vi/incidents/{slug}/feed.rss", "/feeds/en/updates.rss"):
            served = app.get(url)
            assert served.status_code == 200 and served.headers["content-type"].startswith(
                "application/rss+xml"
            )

        redirected = app.get("/feeds/ES/updates.rss", follow_redirects=False)
        assert redirected.status_code == 301 and redirected.headers["location"] == "/feeds/es/updates.rss"

        for url, message in (
            (
                "/feeds/fr/updates.atom",
                "no feeds in that language: the feeds here are in en, es, vi (LANGUAGES)",
            ),
            (
                "/feeds/xx-nope/updates.rss",
                "no feeds in that language: the feeds here are in en, es, vi (LANGUAGES)",
            ),
            (
                f"/feeds/fr/incidents/{slug}/feed.atom",
                "no feeds in that language: the feeds here are in en, es, vi (LANGUAGES)",
            ),
            ("/feeds/es/incidents/no-such-thing/feed.atom", "no incident at this address"),
            ("/feeds/es/incidents/Bad_Slug/feed.rss", "no incident at this address"),
        ):
            missing = app.get(url)
            assert missing.status_code == 404 and missing.text == message, url
    assert not (settings.feeds_dir / "feeds" / "fr").exists()


def test_with_one_language_no_extra_files_are_written_but_its_feed_is_served(
    settings: Settings, db: Database, routing: Routing
) -> None:
    single = dataclasses.replace(settings, languages=("en",))
    slug = make_incident(db, routing, "Gas leak", minute=0)
    publish(db, routing, slug, "Evacuate Oak St.", minute=1)
    drain(single, db)
    assert not (single.feeds_dir / "feeds" / "en").exists()
    with TestClient(create_app(single)) as app:
        served = app.get("/feeds/en/updates.atom")
        assert served.status_code == 200
        assert etree.fromstring(served.content).get(XML_LANG) == "en-US"
        assert app.get("/feeds/es/updates.atom").status_code == 404
        primary = app.get(UPDATES_ATOM.url_path)
        assert b"hreflang" not in primary.content, "one language: nothing to link between"
        assert app.get(UPDATES_RSS.url_path).status_code == 200


def test_with_one_language_its_feed_made_on_request_is_kept_current(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """A newsroom that subscribed to /feeds/en/updates.atom (rendered on its first request)
    gets the next publication in it, as the readers of /feeds/updates.atom do: a file made on
    request is not left behind with the entries it had then."""
    single = dataclasses.replace(settings, languages=("en",))
    slug = make_incident(db, routing, "Gas leak", minute=0)
    publish(db, routing, slug, "Evacuate Oak St.", minute=1)
    drain(single, db)
    paths = {
        "/feeds/en/updates.atom": updates_atom("en"),
        "/feeds/en/updates.rss": updates_rss("en"),
        f"/feeds/en/incidents/{slug}/feed.atom": incident_atom(slug, "en"),
        f"/feeds/en/incidents/{slug}/feed.rss": incident_rss(slug, "en"),
    }
    with TestClient(create_app(single)) as app:
        for path in paths:
            assert b"Evacuate Oak St." in app.get(path).content
        publish(db, routing, slug, "Road closed at 3rd Ave.", minute=2)
        drain(single, db)
        for path, target in paths.items():
            served = app.get(path)
            assert b"Road closed at 3rd Ave." in served.content, f"{path} is stale"
            assert served.content == render(single, db, target)
        # and `console feeds rebuild` rewrites them too
        (single.feeds_dir / "feeds" / "en" / "updates.atom").write_bytes(b"lost")
        FeedFiles(single).rebuild(db)
        assert app.get("/feeds/en/updates.atom").content == render(single, db, updates_atom("en"))


def test_websub_pings_the_language_feeds_a_publication_or_a_translation_changed(
    settings: Settings,
    db: Database,
    hub: FakeHub,  # noqa: F811 (the fixture imported above)
) -> None:
    settings = dataclasses.replace(settings, websub_hub=hub.url)
    routing = routing_for(settings)
    slug = make_incident(db, routing, "Chemical fire")
    first = publish(db, routing, slug, "Shelter in place.", minute=1)
    base = settings.public_url

    def drain_until_pinged(count: int) -> list[str]:
        deadline = time.monotonic() + 10
        while True:  # the feeds lane may finish after websub's try
            drain(settings, db, channels=("feeds", "websub"), retry=PATIENT)
            sent = [d for d in deliveries(db, "websub") if d.state is DeliveryState.SENT]
            if len(sent) == count:
                return [d.detail or "" for d in sent]
            assert time.monotonic() < deadline
            time.sleep(0.05)

    drain_until_pinged(1)
    pinged = [ping["hub.url"][0].removeprefix(base) for ping in hub.pings]
    per_language = [
        path
        for lang in ("en", "es", "vi")
        for path in (
            f"/feeds/{lang}/incidents/{slug}/feed.atom",
            f"/feeds/{lang}/incidents/{slug}/feed.rss",
            f"/feeds/{lang}/updates.atom",
            f"/feeds/{lang}/updates.rss",
        )
    ]
    assert pinged == [
        f"/incidents/{slug}/feed.atom",
        f"/incidents/{slug}/feed.rss",
        "/feeds/updates.atom",
        "/feeds/updates.rss",
        "/feeds/cap.atom",
        *per_language,
    ]

    hub.pings.clear()
    translate(db, routing, first, 1, "Refúgiense en casa.", minute=2)
    drain_until_pinged(2)
    spanish = [path for path in per_language if path.startswith("/feeds/es/")]
    # that language's feeds, and the CAP index, which lists the revision the translation added
    pinged = [ping["hub.url"][0].removeprefix(base) for ping in hub.pings]
    assert pinged == [*spanish, "/feeds/cap.atom"], "that language and the CAP index only"
    for path in spanish:
        assert "Refúgiense en casa.".encode() in hub.seen[path], "pinged once the file was written"
    assert f"/incidents/{slug}/cap/1-1-r1.xml".encode() in hub.seen["/feeds/cap.atom"]


def test_a_primary_language_other_than_english_labels_its_feeds_in_it(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    spanish_first = dataclasses.replace(settings, languages=("es", "en"), feeds_language="es-MX")
    slug = make_incident(db, routing, "Fuga de gas", minute=0)
    publish(db, routing, slug, "Evacúen la calle Oak.", minute=1)

    first = etree.fromstring(render(spanish_first, db, UPDATES_ATOM))
    assert first.get(XML_LANG) == "es-MX"
    [entry] = entries(etree.tostring(first)).values()
    assert title(entry) == "PRELIMINAR: Evacúen la calle Oak."
    primary = etree.fromstring(render(spanish_first, db, updates_atom("es")))
    assert primary.get(XML_LANG) == "es-MX", "FEEDS_LANGUAGE is a variant of the primary language"
    assert [title(e) for e in entries(etree.tostring(primary)).values()] == [title(entry)]

    english = entries(render(spanish_first, db, updates_atom("en")))["1/1"]
    assert title(english) == "PRELIMINARY: [Not translated yet] Evacúen la calle Oak."
    assert content_lang(english) == "es"
    assert "shown in the original language (Spanish)" in content(english)
    message = valid_cap(cap_schema, render(spanish_first, db, cap_message(slug, 1, 1)))
    assert [cap_text(info, "cap:language") for info in message.findall("cap:info", CAP)] == ["es-MX"]
    assert cap_text(message, "cap:info/cap:headline") == "PRELIMINAR: Evacúen la calle Oak."
