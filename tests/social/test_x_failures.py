"""X: what each failure does. Nothing is lost, nothing is posted twice, no one hammers X."""

from __future__ import annotations

import time
from dataclasses import replace

from sqlalchemy import select
from starlette.datastructures import Secret

from console.db import Database
from console.domain import channel_health, outbox, wording
from console.domain.integrity import verify
from console.models import ChannelHealth, ChannelState, DeliveryState, SocialSend, utcnow
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import (
    HANG_TIMEOUT_SECONDS,
    Lane,
    audit_actions,
    correct_wrong_street,
    publish,
    x_settings,
)
from tests.social.fake_x import FakeX

POSTS, TIMELINE = ("POST", "/2/tweets"), ("GET", "/2/users/1001/tweets")


def test_5xx_retries_with_growing_jittered_backoff_and_looks_before_resending(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(
        x_settings(settings, fake_x_server, outbox_backoff_base_seconds=0.4, outbox_backoff_max_seconds=5), db
    )
    publish(db, lane.routing, "Boil water notice for Zone 3.")
    fake_x_server.posts.add("503", "503")
    # base 0.4 s: attempt n waits 0.4 * 2**(n-1), half of it fixed and half random
    for low, high in ((0.2, 0.4), (0.4, 0.8)):
        before = utcnow()
        assert lane.step()
        after = utcnow()
        [delivery] = lane.deliveries()
        assert delivery.state is DeliveryState.PENDING and "X server error" in (delivery.last_error or "")
        # the failure was recorded between `before` and `after`, its delay added to that moment
        assert (delivery.next_attempt_at - before).total_seconds() >= low
        assert (delivery.next_attempt_at - after).total_seconds() <= high
        assert not lane.step(), "not due again before its backoff"
        time.sleep(max((delivery.next_attempt_at - utcnow()).total_seconds(), 0) + 0.02)
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 3
    assert len(fake_x_server.live_tweets()) == 1
    # a 5xx may hide a post X did make: each re-send was preceded by a look at the timeline
    assert len(fake_x_server.calls_to(*POSTS)) == 3 and len(fake_x_server.calls_to(*TIMELINE)) == 2


def test_429_waits_until_the_rate_limit_resets(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    publish(db, lane.routing, "Shelter open at Lincoln High.")
    reset = int(time.time()) + 2
    fake_x_server.posts.add(("429", reset))
    assert lane.step()
    [delivery] = lane.deliveries()
    assert delivery.state is DeliveryState.PENDING and "rate limit" in (delivery.last_error or "")
    assert abs(delivery.next_attempt_at.timestamp() - reset) < 1.5, (
        "waits for x-rate-limit-reset, not backoff"
    )
    assert not lane.step()
    time.sleep(max(delivery.next_attempt_at.timestamp() - time.time(), 0) + 0.05)
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT
    assert len(fake_x_server.calls_to(*POSTS)) == 2
    assert fake_x_server.calls_to(*TIMELINE) == [], "a 429 is a clear no: nothing to look for"


def _health(db: Database) -> ChannelHealth | None:
    with db.read() as session:
        return session.get(ChannelHealth, "x")


def test_401_pauses_the_channel_until_a_person_resumes_it(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    publish(db, lane.routing, "First.", "Second.")
    fake_x_server.posts.add("401")
    assert lane.step()
    first, second = lane.deliveries()
    assert first.state is DeliveryState.PENDING and first.attempts == 1
    assert (first.last_error or "").startswith("channel paused: X rejected the credentials: 401 Unauthorized")
    health = _health(db)
    assert health is not None and health.state is ChannelState.FAILING and "401" in (health.error or "")
    requests_so_far = len(fake_x_server.calls)
    for _ in range(5):
        assert not lane.step(), "a paused channel claims nothing"
    assert second.state is DeliveryState.PENDING and len(fake_x_server.calls) == requests_so_far
    assert "channel.failing" in audit_actions(db, "channel.")

    with db.write() as session:
        channel_health.resume(session, PIO, "x")
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 2
    tweets = fake_x_server.live_tweets()
    assert len(tweets) == 2 and tweets[1].in_reply_to == tweets[0].id, "the thread resumes in order"
    assert audit_actions(db, "channel.") == ["channel.failing", "channel.resumed"]
    with db.read() as session:
        assert verify(session).ok, "pausing and resuming extend the audit chain like any other action"


def test_wrong_credentials_fail_the_signature_check_and_pause(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(replace(x_settings(settings, fake_x_server), x_access_token_secret=Secret("wrong")), db)
    publish(db, lane.routing, "Road closed.")
    assert lane.step()
    assert fake_x_server.bad_signatures == 1 and fake_x_server.live_tweets() == []
    health = _health(db)
    assert health is not None and health.state is ChannelState.FAILING


def test_403_for_app_permissions_pauses_the_channel(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    publish(db, lane.routing, "Road closed.")
    fake_x_server.posts.add("403-permissions")
    assert lane.step()
    health = _health(db)
    assert health is not None and "oauth1 app permissions" in (health.error or "")
    assert not lane.step()


def test_403_duplicate_adopts_the_accounts_identical_post(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = publish(db, lane.routing, "Lines down on 4th & Main <use caution>.")
    link = wording.update_url(lane.settings.public_url, slug, 1)
    text = f"PRELIMINARY: Lines down on 4th & Main <use caution>. {link}"
    existing = fake_x_server.add_tweet(text)  # e.g. the answer to an earlier request was lost
    fake_x_server.posts.add("403-duplicate")
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and delivery.external_id == existing.id
    assert "duplicate" in (delivery.note or "")
    assert len(fake_x_server.live_tweets()) == 1


def test_403_duplicate_of_something_else_is_failed_not_retried(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    publish(db, lane.routing, "Road closed.")
    fake_x_server.posts.add("403-duplicate")
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.FAILED and delivery.attempts == 1
    assert (delivery.last_error or "").startswith("duplicate content: X refused the post: 403 Forbidden")
    assert not lane.step()
    assert _health(db) is None, "a duplicate says nothing about the credentials"


def test_a_timeout_after_sending_adopts_the_post_it_made(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server, social_request_timeout_seconds=HANG_TIMEOUT_SECONDS), db)
    publish(db, lane.routing, "Evacuate Zone B now.")
    fake_x_server.posts.add("create-then-hang")
    [delivery] = lane.settle()
    [tweet] = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 1
    assert delivery.external_id == tweet.id
    assert "did not answer in time" in (delivery.note or "") and "the post was made" in (delivery.note or "")
    assert len(fake_x_server.calls_to(*POSTS)) == 1
    with db.read() as session:
        assert session.scalars(select(SocialSend)).all() == []


def test_a_timeout_with_no_post_made_is_sent_once_later(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server, social_request_timeout_seconds=HANG_TIMEOUT_SECONDS), db)
    publish(db, lane.routing, "Evacuate Zone B now.")
    fake_x_server.posts.add("hang")
    assert lane.step()
    [delivery] = lane.deliveries()
    assert delivery.state is DeliveryState.PENDING
    assert "looked for before anything is sent again" in (delivery.last_error or "")
    with db.read() as session:
        assert session.get(SocialSend, delivery.id) is not None, "the unknown outcome is remembered"
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and len(fake_x_server.live_tweets()) == 1
    assert len(fake_x_server.calls_to(*TIMELINE)) == 2, (
        "looked right after the timeout, and before re-sending"
    )


def test_an_interrupted_attempt_whose_post_landed_is_adopted(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = publish(db, lane.routing, "Gas leak: avoid the area.")
    with db.write() as session:  # a worker claims, records the send, and dies after X made the post
        claim = outbox.claim_next(session, "x", ordered=True, lease_seconds=0.05)
    assert claim is not None
    text = f"PRELIMINARY: Gas leak: avoid the area. {lane.settings.public_url}/incidents/{slug}#update-1"
    with db.write() as session:
        session.add(SocialSend(delivery_id=claim.delivery_id, attempt=1, text=text, sent_at=utcnow()))
    landed = fake_x_server.add_tweet(text)
    time.sleep(0.1)  # the lease runs out
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and delivery.external_id == landed.id
    assert delivery.attempts == 2 and "earlier attempt" in (delivery.note or "")
    assert fake_x_server.calls_to(*POSTS) == [] and len(fake_x_server.live_tweets()) == 1


def test_an_interrupted_attempt_that_never_sent_is_posted_once(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    publish(db, lane.routing, "Gas leak: avoid the area.")
    with db.write() as session:
        claim = outbox.claim_next(session, "x", ordered=True, lease_seconds=0.05)
    assert claim is not None
    time.sleep(0.1)
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and delivery.note is None
    assert len(fake_x_server.calls_to(*TIMELINE)) == 1, "interrupted: looked first"
    assert len(fake_x_server.live_tweets()) == 1


def test_when_the_timeline_cannot_be_read_it_posts_and_says_so(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    publish(db, lane.routing, "Gas leak: avoid the area.")
    fake_x_server.posts.add("503")
    fake_x_server.lookups.add("403")
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.SENT and len(fake_x_server.live_tweets()) == 1
    assert "could not look for an earlier attempt's post" in (delivery.note or "")


def test_a_correction_of_a_version_never_posted_replies_to_the_nearest_earlier_post(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, [first, second] = publish(db, lane.routing, "Avoid Elm St.", "Detour via 5th.")
    fake_x_server.posts.add("403-duplicate")  # the first update's post fails for good
    lane.settle()
    correct_wrong_street(db, lane.routing, first)
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.FAILED, DeliveryState.SENT, DeliveryState.SENT]
    detour, correction = fake_x_server.live_tweets()
    assert detour.in_reply_to is None, "with no earlier post, the second update starts the thread"
    assert correction.in_reply_to == detour.id, (
        "the corrected post does not exist: reply to the incident's latest"
    )


def test_when_the_parent_post_was_deleted_it_starts_a_new_thread(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, [first] = publish(db, lane.routing, "Avoid Elm St.")
    lane.settle()
    [original] = fake_x_server.live_tweets()
    original.deleted = True  # someone deleted it by hand on X
    correct_wrong_street(db, lane.routing, first)
    _, correction = lane.settle()
    [tweet] = fake_x_server.live_tweets()
    assert correction.state is DeliveryState.SENT and correction.external_id == tweet.id
    assert tweet.in_reply_to is None and "started a new thread" in (correction.note or "")


def test_backoff_is_capped_and_attempts_are_bounded(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db, max_attempts=3)
    publish(db, lane.routing, "Road closed.")
    fake_x_server.posts.add("503", "503", "503")
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.FAILED and delivery.attempts == 3
    assert "gave up after 3 attempts" in (delivery.last_error or "")
    assert fake_x_server.live_tweets() == [] and len(fake_x_server.calls_to(*POSTS)) == 3
