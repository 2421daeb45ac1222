"""The text that goes out: marks, the link last, cut to fit by each network's own count, and
the same text in preview as in a real post."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import select
from twitter_text import parse_tweet

from console.channels.registry import build_channels
from console.channels.registry import routing as routing_for
from console.db import Database
from console.dispatcher import Dispatcher
from console.domain import wording
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.live.bus import LiveBus
from console.models import AlertStatus, Delivery, DeliveryState
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import Lane, mastodon_settings, publish, x_settings
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX

ADVERSARIAL = [
    "See https://example.org/"
    + "very-long-path/" * 30
    + " and https://example.com/"
    + "q" * 200
    + " now. " * 60,
    "🚨🔥👨‍👩‍👧‍👦 " * 100 + "end",
    "東京都新宿区で火災が発生しました。付近の住民は直ちに避難してください。" * 10,
    "Avoid the area " * 40,
    "Straße gesperrt — Umleitung über die Brücke. " * 15,
    "x" * 2000,
]


@pytest.mark.parametrize("body", ADVERSARIAL, ids=["urls", "emoji", "cjk", "words", "accents", "one-word"])
def test_x_posts_fit_280_weighted_characters_and_end_with_the_link(
    settings: Settings, db: Database, fake_x_server: FakeX, body: str
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = publish(db, lane.routing, body)
    [delivery] = lane.settle()
    [tweet] = fake_x_server.live_tweets()
    link = wording.update_url(lane.settings.public_url, slug, 1)
    parsed = parse_tweet(tweet.text)
    assert parsed.valid and parsed.weightedLength <= 280, parsed
    assert parsed.weightedLength >= 240, "cut no more than needed"
    assert tweet.text.startswith("PRELIMINARY: ") and tweet.text.endswith(f"… {link}")
    kept = tweet.text.removeprefix("PRELIMINARY: ").removesuffix(f"… {link}")
    assert " ".join(body.split()).startswith(kept)
    if " " in body:
        assert " ".join(body.split())[len(kept)] == " ", "cut where a word ends"
    assert delivery.detail == tweet.text


@pytest.mark.parametrize("body", ADVERSARIAL[:3], ids=["urls", "emoji", "cjk"])
def test_mastodon_posts_fit_the_instances_own_limit(settings: Settings, db: Database, body: str) -> None:
    server = FakeMastodon(max_characters=300).start()
    try:
        lane = Lane(mastodon_settings(settings, server), db)
        slug, _ = publish(db, lane.routing, body)
        [delivery] = lane.settle()
        [status] = server.statuses
        assert delivery.state is DeliveryState.SENT
        assert 250 < server.length(status.text) <= 300, "the instance's limit, not 500 nor X's 280"
        assert status.text.endswith(f"… {wording.update_url(lane.settings.public_url, slug, 1)}")
    finally:
        server.stop()


def test_preview_mode_stores_the_exact_text_and_sends_nothing(
    settings: Settings, db: Database, fake_x_server: FakeX, fake_mastodon_server: FakeMastodon
) -> None:
    # The embedded default: both social channels on, no credentials. A base URL alone sends nothing.
    preview = replace(settings, x_api_base_url=fake_x_server.url)
    assert {"x", "mastodon"} <= set(preview.channels)
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Drill", alert_status="exercise"), routing=routing_for(preview)
        )
        publish_update(session, PIO, incident.slug, Draft(body=ADVERSARIAL[0]), routing=routing_for(preview))
        slug = incident.slug
    channels = build_channels(preview, db, LiveBus.from_settings(preview))
    assert channels["x"].preview and channels["mastodon"].preview  # type: ignore[attr-defined]
    asyncio.run(Dispatcher.from_settings(preview, db, channels).drain())
    with db.read() as session:
        rows = {
            d.channel: d
            for d in session.scalars(select(Delivery).where(Delivery.channel.in_(["x", "mastodon"])))
        }
    link = wording.update_url(preview.public_url, slug, 1)
    for name, delivery in rows.items():
        assert delivery.state is DeliveryState.SKIPPED, name
        assert delivery.note == "preview: no credentials set" and delivery.external_id is None
    x_text = rows["x"].detail or ""
    assert x_text.startswith("EXERCISE: PRELIMINARY: See https://") and x_text.endswith(f"… {link}")
    assert wording.x_weight(x_text) <= 280
    # Mastodon counts each link as 23 of 500: the whole text fits there
    whole = f"EXERCISE: PRELIMINARY: {' '.join(ADVERSARIAL[0].split())} {link}"
    assert rows["mastodon"].detail == whole and wording.mastodon_weight(whole) <= wording.MASTODON_LIMIT
    assert fake_x_server.calls == [] and fake_mastodon_server.calls == []


def test_the_preview_text_is_the_text_that_is_posted(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    body = "火災 🚒 on 5th Ave — " + "stay clear of the smoke and follow officers' directions " * 8
    preview_lane = Lane(replace(settings, channels=("x",)), db)
    publish(db, preview_lane.routing, body, title="Fire")
    [previewed] = preview_lane.settle()
    real = Lane(x_settings(settings, fake_x_server), db)
    with db.write() as session:  # the same version, once credentials are set
        session.get_one(Delivery, previewed.id).state = DeliveryState.PENDING
    [posted] = real.settle()
    assert previewed.note == "preview: no credentials set" and posted.state is DeliveryState.SENT
    assert fake_x_server.live_tweets()[0].text == previewed.detail == posted.detail


def test_mastodon_measure_counts_every_link_as_the_instance_says() -> None:
    text = "Go to https://example.org/" + "a" * 100 + " or http://x.co now"
    assert wording.mastodon_weight(text) == len("Go to ") + 23 + len(" or ") + 23 + len(" now")
    assert wording.mastodon_weight(text, url_weight=30) == len("Go to ") + 30 + len(" or ") + 30 + len(" now")
    assert wording.mastodon_weight("🚨 火事") == 4


def test_exercise_and_test_incidents_say_so_first(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    with db.write() as session:
        incident, _ = create_incident(
            session,
            PIO,
            IncidentDraft(title="Test", alert_status=AlertStatus.TEST.value),
            routing=lane.routing,
        )
        publish_update(
            session, PIO, incident.slug, Draft(body="System check.", preliminary=False), routing=lane.routing
        )
    lane.settle()
    assert fake_x_server.live_tweets()[0].text.startswith("TEST: System check. ")
