"""WebSub: with WEBSUB_HUB set, the feeds advertise the hub and each publication pings it
through the outbox, after the files are written. Tested against a fake hub on 127.0.0.1."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from console.channels.registry import routing as routing_for
from console.channels.websub import WebSubChannel
from console.db import Database
from console.dispatcher import RetryPolicy
from console.feeds.paths import updates_atom
from console.feeds.writer import FeedFiles
from console.models import DeliveryState
from console.settings import Settings, SettingsError
from tests.feeds.conftest import AheadClock, deliveries, drain, make_incident, publish
from tests.support.http_thread import serving
from tests.support.server import free_port

# Waiting for the feeds channel uses up attempts: enough of them that the test never gives up.
PATIENT = RetryPolicy(100, 0.01, 0.02)
# A retry 0.2 to 0.4 s later: one drain makes exactly one attempt.
SLOW = RetryPolicy(5, 0.4, 0.4)


@dataclass
class FakeHub:
    """Records publish pings; answers with the scripted statuses first, then 204. Like a real
    hub it then fetches the topic: here it reads the file the topic is served from."""

    url: str
    feeds_dir: Path
    script: list[int] = field(default_factory=list)
    pings: list[dict[str, list[str]]] = field(default_factory=list)
    seen: dict[str, bytes] = field(default_factory=dict)


@pytest.fixture
def hub(settings: Settings) -> Iterator[FakeHub]:
    port = free_port()
    fake = FakeHub(f"http://127.0.0.1:{port}/hub", settings.feeds_dir)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            status = fake.script.pop(0) if fake.script else 204
            if status == 204:
                fake.pings.append(form)
                topic = urllib.parse.urlsplit(form["hub.url"][0]).path
                path = fake.feeds_dir / topic.lstrip("/")
                fake.seen[topic] = path.read_bytes() if path.exists() else b""
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    with serving(server):
        yield fake


def test_each_publication_pings_the_hub_for_every_feed_it_changed_after_the_files_exist(
    settings: Settings, db: Database, hub: FakeHub
) -> None:
    settings = replace(settings, websub_hub=hub.url)
    routing = routing_for(settings)
    slug = make_incident(db, routing, "Chemical fire")
    publish(db, routing, slug, "Shelter in place within 1 mile.", minute=1)

    drain(settings, db, channels=("websub",), retry=PATIENT)  # the feeds channel has not written yet
    [waiting] = deliveries(db, "websub")
    assert waiting.state is DeliveryState.PENDING
    assert waiting.last_error == "waiting for the feeds channel to write the files first"
    assert hub.pings == []

    time.sleep(0.05)
    drain(settings, db, channels=("feeds", "websub"), retry=PATIENT)
    [sent] = deliveries(db, "websub")
    deadline = time.monotonic() + 10
    while sent.state is not DeliveryState.SENT:  # the feeds lane may finish after websub's try
        assert time.monotonic() < deadline, sent.last_error
        time.sleep(0.01)
        drain(settings, db, channels=("websub",), retry=PATIENT)
        [sent] = deliveries(db, "websub")
    base = settings.public_url
    topics = [
        f"{base}/incidents/{slug}/feed.atom",
        f"{base}/incidents/{slug}/feed.rss",
        f"{base}/feeds/updates.atom",
        f"{base}/feeds/updates.rss",
        f"{base}/feeds/cap.atom",
    ]
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": [topic]} for topic in topics]
    for topic in topics:
        assert b"Shelter in place within 1 mile." in hub.seen[topic.removeprefix(base)], topic
    assert sent.external_url == hub.url and sent.detail == "pinged the hub for " + " ".join(topics)


def test_a_failing_hub_is_retried_and_a_refusing_one_recorded(
    settings: Settings, db: Database, hub: FakeHub
) -> None:
    settings = replace(settings, websub_hub=hub.url)
    routing = routing_for(settings)
    slug = make_incident(db, routing, "Power outage")
    publish(db, routing, slug, "Outage in the north district.", minute=1)
    drain(settings, db)  # feeds, so that websub may ping
    hub.script = [503]
    clock = AheadClock()  # the dispatcher's: moved on past the backoff instead of sleeping it out
    drain(settings, db, ("websub",), retry=SLOW, clock=clock)
    [delivery] = deliveries(db, "websub")
    assert delivery.state is DeliveryState.PENDING and delivery.last_error is not None
    assert delivery.last_error.startswith("the hub answered 503 for ")
    clock.ahead += timedelta(seconds=0.45)
    drain(settings, db, ("websub",), retry=SLOW, clock=clock)
    [delivery] = deliveries(db, "websub")
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)

    publish(db, routing, slug, "Power restored.", minute=2)
    drain(settings, db)
    hub.script = [400]
    time.sleep(0.05)
    drain(settings, db, channels=("websub",))
    refused = deliveries(db, "websub")[-1]
    assert refused.state is DeliveryState.FAILED and refused.last_error is not None
    assert refused.last_error.startswith("the hub answered 400 for ")


def test_an_unreachable_hub_is_retried(settings: Settings, db: Database) -> None:
    settings = replace(settings, websub_hub=f"http://127.0.0.1:{free_port()}/hub")
    routing = routing_for(settings)
    slug = make_incident(db, routing, "Fog")
    publish(db, routing, slug, "Visibility under 50 m.", minute=1)
    drain(settings, db)
    drain(settings, db, channels=("websub",), retry=SLOW)
    [delivery] = deliveries(db, "websub")
    assert delivery.state is DeliveryState.PENDING and delivery.last_error is not None
    assert delivery.last_error.startswith("could not reach the hub: ")


def test_websub_is_routed_only_when_a_hub_is_configured(settings: Settings) -> None:
    assert "websub" not in routing_for(settings).routes
    with_hub = replace(settings, websub_hub="https://hub.example.net/")
    assert "websub" in routing_for(with_hub).routes
    with pytest.raises(SettingsError, match="CHANNELS includes websub but WEBSUB_HUB is not set"):
        replace(settings, channels=("live", "feeds", "websub"))
    with pytest.raises(SettingsError, match="CHANNELS does not include feeds"):
        replace(settings, channels=("live",), websub_hub="https://hub.example.net/")
    with pytest.raises(SettingsError, match="WEBSUB_HUB must be an absolute http"):
        Settings.from_environ({"WEBSUB_HUB": "hub.example.net"})
    assert Settings.from_environ({"WEBSUB_HUB": ""}).websub_hub is None


def test_rumor_responses_and_details_corrections_ping_the_feeds_that_carry_them(
    settings: Settings, db: Database, hub: FakeHub
) -> None:
    from console.domain.incident_details import DetailsDraft, change_details
    from console.domain.rumors import RumorDraft, publish_rumor
    from console.languages import Languages
    from tests.conftest import PIO

    settings = replace(settings, websub_hub=hub.url)
    routing = routing_for(settings)
    slug = make_incident(db, routing, "Chemical fire")
    with db.write() as session:
        rumor = RumorDraft(claim="The plant exploded", verdict="False", facts="A small fire, out.")
        publish_rumor(
            session, PIO, rumor, incident_slug=None, routing=routing, languages=Languages(settings.languages)
        )
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(title="Chemical fire at the plant"),
            reason="Where",
            corrects_version=1,
            routing=routing,
        )
    deadline = time.monotonic() + 10
    while {d.state for d in deliveries(db, "websub")} != {DeliveryState.SENT}:
        assert time.monotonic() < deadline, [d.last_error for d in deliveries(db, "websub")]
        drain(settings, db, channels=("feeds", "websub"), retry=PATIENT)
    base = settings.public_url
    agency_wide = [f"{base}/feeds/updates.atom", f"{base}/feeds/updates.rss"]
    details = [f"{base}/incidents/{slug}/feed.atom", f"{base}/incidents/{slug}/feed.rss", *agency_wide]
    # one ping per feed of each event (the two events may be delivered in either order)
    assert sorted(ping["hub.url"][0] for ping in hub.pings) == sorted(agency_wide + details)
    assert b"RUMOR CONTROL: FALSE" in hub.seen["/feeds/updates.atom"]


def test_a_translation_pings_the_cap_index_when_it_lists_the_revision_the_translation_adds(
    settings: Settings, db: Database, hub: FakeHub
) -> None:
    from console.domain.translations import TranslationDraft, add_translation
    from console.feeds.paths import CAP_INDEX, cap_message
    from console.languages import Languages
    from tests.conftest import PIO
    from tests.feeds.conftest import at

    # The CAP index lists one update: the newest.
    settings = replace(settings, websub_hub=hub.url, languages=("en", "es"), feeds_max_entries=1)
    routing = routing_for(settings)
    older = make_incident(db, routing, "Power outage", minute=0)
    older_update = publish(db, routing, older, "Outage in the north district.", preliminary=False, minute=1)
    slug = make_incident(db, routing, "Chemical fire", minute=2)
    update = publish(db, routing, slug, "Shelter in place.", preliminary=False, minute=3)

    def translate(update_id: int, body: str, minute: int) -> list[str]:
        """The topics pinged for the translation's event."""
        with db.write() as session:
            add_translation(
                session,
                PIO,
                update_id,
                TranslationDraft(lang="es", body=body),
                version=1,
                languages=Languages(settings.languages),
                routing=routing,
                now=at(minute),
            )
        deadline = time.monotonic() + 10
        while {d.state for d in deliveries(db, "websub")} != {DeliveryState.SENT}:
            assert time.monotonic() < deadline, [d.last_error for d in deliveries(db, "websub")]
            drain(settings, db, channels=("feeds", "websub"), retry=PATIENT)
        return [ping["hub.url"][0].removeprefix(settings.public_url) for ping in hub.pings]

    translate(older_update, "Apagón en el distrito norte.", minute=4)  # (and the versions' events)
    hub.pings.clear()
    # The index lists the translated version, now as its revision: it changed.
    assert translate(update, "Refúgiese en el lugar.", minute=5) == [
        f"/feeds/es/incidents/{slug}/feed.atom",
        f"/feeds/es/incidents/{slug}/feed.rss",
        "/feeds/es/updates.atom",
        "/feeds/es/updates.rss",
        "/feeds/cap.atom",
    ]
    assert cap_message(slug, 1, 1, 1).url_path.encode() in hub.seen["/feeds/cap.atom"]
    hub.pings.clear()
    # The index does not list the other incident's update: its translation left it as it was.
    cap_index = CAP_INDEX.file_in(settings.feeds_dir).read_bytes()
    assert translate(older_update, "Apagón en el norte.", minute=6) == [
        f"/feeds/es/incidents/{older}/feed.atom",
        f"/feeds/es/incidents/{older}/feed.rss",
        "/feeds/es/updates.atom",
        "/feeds/es/updates.rss",
    ]
    assert CAP_INDEX.file_in(settings.feeds_dir).read_bytes() == cap_index


def test_with_one_language_the_hub_hears_of_its_feeds_once_a_reader_asked_for_them(
    settings: Settings, db: Database, hub: FakeHub
) -> None:
    """/feeds/en/... is made on its first request when LANGUAGES names one language; from then on
    it changes with every publication, and subscribers to it through the hub are told so."""
    settings = replace(settings, websub_hub=hub.url, languages=("en",))
    routing = routing_for(settings)
    slug = make_incident(db, routing, "Chemical fire")
    publish(db, routing, slug, "Shelter in place.", minute=1)
    drain(settings, db, channels=("feeds", "websub"), retry=PATIENT)
    assert not [ping for ping in hub.pings if "/feeds/en/" in ping["hub.url"][0]], "nobody asked yet"
    running = WebSubChannel.from_settings(settings, db)  # a worker's, made when it started

    with db.read() as session:  # what a first request of the feed does
        FeedFiles(settings).ensure(session, updates_atom("en"))
    assert running.languages == ("en",), "a running worker pings them from then on too"
    hub.pings.clear()
    publish(db, routing, slug, "Roads reopen at noon.", minute=2)
    deadline = time.monotonic() + 10
    while len([d for d in deliveries(db, "websub") if d.state is DeliveryState.SENT]) < 2:
        assert time.monotonic() < deadline  # the feeds lane may finish after websub's try
        drain(settings, db, channels=("feeds", "websub"), retry=PATIENT)
        time.sleep(0.05)
    pinged = [ping["hub.url"][0].removeprefix(settings.public_url) for ping in hub.pings]
    assert "/feeds/en/updates.atom" in pinged and "/feeds/en/updates.rss" in pinged
    assert b"Roads reopen at noon." in hub.seen["/feeds/en/updates.atom"], "pinged once it was written"
