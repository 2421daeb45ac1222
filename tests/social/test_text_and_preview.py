"""The text that goes out: marks first, the link last, split into a numbered run by each
network's own count with every character kept, and the same texts in preview as in real posts."""

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
from tests.social.conftest import Lane, assert_whole, mastodon_settings, publish, run_of, x_settings
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
def test_x_runs_fit_280_weighted_characters_each_and_publish_every_character(
    settings: Settings, db: Database, fake_x_server: FakeX, body: str
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = publish(db, lane.routing, body)
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT, delivery.last_error
    tweets = fake_x_server.live_tweets()
    assert len(tweets) > 1 and fake_x_server.thread(tweets[0].id) == tweets, (
        "one run, each replying to the last"
    )
    link = wording.update_url(lane.settings.public_url, slug, 1)
    texts = [tweet.text for tweet in tweets]
    for text in texts:
        parsed = parse_tweet(text)  # twitter-text itself, as X counts
        assert parsed.valid and parsed.weightedLength <= 280, (parsed, text)
    assert_whole(texts, "PRELIMINARY: ", body, link)
    for text in texts[:-1]:
        assert parse_tweet(text).weightedLength >= 140, f"filled at least half: {text!r}"
    assert delivery.external_id == tweets[0].id and delivery.detail == "\n\n".join(texts)
    assert run_of(db, delivery.id) == [(tweet.text, tweet.id) for tweet in tweets]


@pytest.mark.parametrize("body", ADVERSARIAL[:3], ids=["urls", "emoji", "cjk"])
def test_mastodon_runs_fit_the_instances_own_limit(settings: Settings, db: Database, body: str) -> None:
    server = FakeMastodon(max_characters=300).start()
    try:
        lane = Lane(mastodon_settings(settings, server), db)
        slug, _ = publish(db, lane.routing, body)
        [delivery] = lane.settle()
        assert delivery.state is DeliveryState.SENT, delivery.last_error
        statuses = server.thread(delivery.external_id or "")
        assert statuses == server.statuses and len(statuses) > 1
        for status in statuses:
            assert server.length(status.text) <= 300, "the instance's limit, not 500 nor X's 280"
        assert max(server.length(status.text) for status in statuses) > 250, "posts filled to that limit"
        link = wording.update_url(lane.settings.public_url, slug, 1)
        assert_whole([status.text for status in statuses], "PRELIMINARY: ", body, link)
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
    x_posts = (rows["x"].detail or "").split("\n\n")
    assert len(x_posts) > 1 and x_posts[0].startswith("EXERCISE: PRELIMINARY: See https://")
    assert all(wording.x_weight(post) <= 280 for post in x_posts)
    assert_whole(x_posts, "EXERCISE: PRELIMINARY: ", ADVERSARIAL[0], link)
    # Mastodon counts each link as 23 of 500: the whole text fits in one post there
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
    texts = [tweet.text for tweet in fake_x_server.live_tweets()]
    assert len(texts) > 1 and "\n\n".join(texts) == previewed.detail == posted.detail


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
