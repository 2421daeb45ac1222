"""Mastodon: the same threads with in_reply_to_id, the instance's own limit, idempotency keys,
and the same failure rules as X."""

from __future__ import annotations

import time

from console.db import Database
from console.domain import channel_health, wording
from console.models import ChannelHealth, ChannelState, DeliveryState
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import (
    HANG_TIMEOUT_SECONDS,
    Lane,
    correct_wrong_street,
    mastodon_settings,
    publish,
)
from tests.social.fake_mastodon import FakeMastodon

POSTS, INSTANCE = ("POST", "/api/v1/statuses"), ("GET", "/api/v2/instance")


def test_threads_replies_keys_and_the_instance_configuration_read_once(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    slug, [first, _] = publish(db, lane.routing, "Avoid Elm St.", "Detour via 5th.")
    correct_wrong_street(db, lane.routing, first)
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 3
    original, detour, correction = fake_mastodon_server.statuses
    assert original.in_reply_to is None
    assert detour.in_reply_to == original.id
    assert correction.in_reply_to == original.id and correction.text.startswith(
        "CORRECTION: PRELIMINARY: Avoid Oak St."
    )
    assert correction.text.endswith(wording.update_url(lane.settings.public_url, slug, 1))
    assert {s.visibility for s in fake_mastodon_server.statuses} == {"public"}
    keys = [call.headers["idempotency-key"] for call in fake_mastodon_server.calls_to(*POSTS)]
    assert keys == [f"incident-console-delivery-{d.id}" for d in deliveries]
    for delivery, status in zip(deliveries, fake_mastodon_server.statuses, strict=True):
        assert delivery.external_id == status.id
        assert delivery.external_url == f"{fake_mastodon_server.url}/@alerts/{status.id}"
        assert delivery.detail == status.text
    assert len(fake_mastodon_server.calls_to(*INSTANCE)) == 1, "the instance's limit is cached"


def test_a_timeout_after_sending_adopts_the_status_it_made(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    timeout = HANG_TIMEOUT_SECONDS
    lane = Lane(mastodon_settings(settings, fake_mastodon_server, social_request_timeout_seconds=timeout), db)
    publish(db, lane.routing, "Evacuate Zone B & C <now>.")
    fake_mastodon_server.posts.add("create-then-hang")
    [delivery] = lane.settle()
    [status] = fake_mastodon_server.statuses
    assert (
        delivery.state is DeliveryState.SENT and delivery.attempts == 1 and delivery.external_id == status.id
    )
    assert "the post was made" in (delivery.note or "")


def test_the_idempotency_key_keeps_a_resent_status_single(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    timeout = HANG_TIMEOUT_SECONDS
    lane = Lane(mastodon_settings(settings, fake_mastodon_server, social_request_timeout_seconds=timeout), db)
    publish(db, lane.routing, "Evacuate Zone B.")
    fake_mastodon_server.posts.add("create-then-hang")
    fake_mastodon_server.lookups.add("403", "403")  # the account's statuses cannot be read
    [delivery] = lane.settle()
    [status] = fake_mastodon_server.statuses
    assert (
        delivery.state is DeliveryState.SENT and delivery.attempts == 2 and delivery.external_id == status.id
    )
    assert len(fake_mastodon_server.calls_to(*POSTS)) == 2, "sent twice, posted once: the key is the same"


def test_429_waits_until_the_reset_the_server_gives(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    publish(db, lane.routing, "Shelter open.")
    fake_mastodon_server.posts.add(("429", 1.5))
    assert lane.step()
    [delivery] = lane.deliveries()
    assert delivery.state is DeliveryState.PENDING and "rate limit" in (delivery.last_error or "")
    assert "calculations failed" not in (delivery.last_error or "")  # Mastodon.py read the answer
    assert 1.0 <= delivery.next_attempt_at.timestamp() - time.time() <= 3.0
    assert not lane.step()
    time.sleep(max(delivery.next_attempt_at.timestamp() - time.time(), 0) + 0.05)
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and len(fake_mastodon_server.statuses) == 1


def test_5xx_retries_and_posts_once(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    publish(db, lane.routing, "Shelter open.")
    fake_mastodon_server.posts.add("503", "503")
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 3
    assert len(fake_mastodon_server.statuses) == 1


def test_401_pauses_the_channel_and_resuming_delivers(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    publish(db, lane.routing, "Shelter open.")
    fake_mastodon_server.posts.add("401")
    assert lane.step()
    with db.read() as session:
        health = session.get_one(ChannelHealth, "mastodon")
    assert health.state is ChannelState.FAILING and "access token" in (health.error or "")
    assert not lane.step()
    with db.write() as session:
        channel_health.resume(session, PIO, "mastodon")
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 2


def test_a_reply_to_a_deleted_status_starts_a_new_thread(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    _, [first] = publish(db, lane.routing, "Avoid Elm St.")
    lane.settle()
    fake_mastodon_server.statuses.clear()  # deleted by hand
    correct_wrong_street(db, lane.routing, first)
    _, correction = lane.settle()
    [status] = fake_mastodon_server.statuses
    assert correction.state is DeliveryState.SENT and status.in_reply_to is None
    assert "started a new thread" in (correction.note or "")


def test_a_wrong_token_is_refused_by_the_server_and_pauses(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    from dataclasses import replace

    from starlette.datastructures import Secret

    lane = Lane(
        replace(mastodon_settings(settings, fake_mastodon_server), mastodon_access_token=Secret("nope")), db
    )
    publish(db, lane.routing, "Shelter open.")
    assert lane.step()
    assert fake_mastodon_server.statuses == []
    with db.read() as session:
        assert session.get_one(ChannelHealth, "mastodon").state is ChannelState.FAILING
