"""Runs of posts on the fake X and Mastodon: every word published, threaded in order, a
correction replying to the first post of the run it corrects, and failures in the middle of
a run that neither lose nor repeat a post."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import wording
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, correct_update, publish_update
from console.models import DeliveryState, SocialSend
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.social.conftest import (
    HANG_TIMEOUT_SECONDS,
    Lane,
    assert_whole,
    mastodon_settings,
    publish,
    run_of,
    x_settings,
)
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX
from tests.support.factories import bearer, make_token, make_user
from tests.web.staff.conftest import sign_in

POSTS, TIMELINE = ("POST", "/2/tweets"), ("GET", "/2/users/1001/tweets")
MASTODON_POSTS = ("POST", "/api/v1/statuses")

HEADLINE = "Evacuation order north of the river"
EVACUATION = (
    "All residents between Oak St and Pine St must leave now by Route 9 northbound; Route 12 "
    "is closed. Shelter is open at Lincoln High School, 310 Birch St, with water, food and space "
    "for pets. Do not use the Main St bridge: it is closed for inspection. If you need transport "
    "call 311. Check on neighbours who may need help, and take medicines, documents and phone "
    "chargers with you. Crews will go door to door from 22:00 to make sure everyone is out. "
    "Do not return until the order is lifted on this page."
)


def _incident(
    db: Database, lane: Lane, *bodies: str, headline: str | None = HEADLINE
) -> tuple[str, list[int]]:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="River flood"), routing=lane.routing)
        ids = [
            publish_update(
                session, PIO, incident.slug, Draft(body=body, headline=headline), routing=lane.routing
            ).update.id
            for body in bodies
        ]
        return incident.slug, ids


def test_x_posts_a_long_update_as_a_numbered_thread_with_every_word(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = _incident(db, lane, EVACUATION)
    [delivery] = lane.settle()
    tweets = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and len(tweets) == 3, [t.text for t in tweets]
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id]
    link = wording.update_url(lane.settings.public_url, slug, 1)
    texts = [t.text for t in tweets]
    assert_whole(texts, "PRELIMINARY: ", f"{HEADLINE} — {EVACUATION}", link)
    assert [t.endswith(f"({n}/3)") for n, t in enumerate(texts, 1)] == [True, True, False]
    assert texts[2].endswith(f"(3/3) {link}")
    assert delivery.external_id == tweets[0].id
    assert delivery.external_url == f"https://x.com/i/web/status/{tweets[0].id}"
    assert run_of(db, delivery.id) == [(t.text, t.id) for t in tweets]


def test_mastodon_posts_the_same_update_whole_within_the_instances_limit(
    settings: Settings, db: Database
) -> None:
    server = FakeMastodon(max_characters=250).start()
    try:
        lane = Lane(mastodon_settings(settings, server), db)
        slug, _ = _incident(db, lane, EVACUATION)
        [delivery] = lane.settle()
        statuses = server.statuses
        assert delivery.state is DeliveryState.SENT and len(statuses) == 3
        assert [s.in_reply_to for s in statuses] == [None, statuses[0].id, statuses[1].id]
        link = wording.update_url(lane.settings.public_url, slug, 1)
        assert_whole([s.text for s in statuses], "PRELIMINARY: ", f"{HEADLINE} — {EVACUATION}", link)
        keys = [call.headers["idempotency-key"] for call in server.calls_to(*MASTODON_POSTS)]
        base = f"incident-console-delivery-{delivery.id}"
        assert keys == [base, f"{base}-2", f"{base}-3"], "each post of the run has its own key"
    finally:
        server.stop()


def test_a_correction_replies_to_the_first_post_of_the_run_it_corrects_and_the_thread_goes_on_from_the_last(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, [evacuation] = _incident(db, lane, EVACUATION)
    lane.settle()
    first_run = fake_x_server.live_tweets()
    with db.write() as session:
        correct_update(
            session,
            PIO,
            evacuation,
            Draft(body=EVACUATION.replace("310 Birch St", "55 Cedar St"), headline=HEADLINE),
            reason="Shelter moved",
            corrects_version=1,
            routing=lane.routing,
        )
        later_update = Draft(body="Route 9 is busy: allow an hour.")
        publish_update(session, PIO, slug, later_update, routing=lane.routing)
    _, correction, later = lane.settle()
    correction_run = [text for text, _ in run_of(db, correction.id)]
    assert len(correction_run) == 3 and correction_run[0].startswith("CORRECTION: PRELIMINARY: ")
    by_id = {t.id: t for t in fake_x_server.live_tweets()}
    correction_posts = [by_id[post_id or ""] for _, post_id in run_of(db, correction.id)]
    assert correction_posts[0].in_reply_to == first_run[0].id, "to the post carrying the corrected labels"
    assert [p.in_reply_to for p in correction_posts[1:]] == [p.id for p in correction_posts[:-1]]
    assert by_id[later.external_id or ""].in_reply_to == correction_posts[-1].id, (
        "the next update replies to the end of the thread"
    )


def test_a_429_in_the_middle_of_a_run_resumes_with_the_next_post_after_the_reset(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    _incident(db, lane, EVACUATION)
    reset = int(time.time()) + 2
    fake_x_server.posts.add("ok", ("429", reset))
    assert lane.step()
    [delivery] = lane.deliveries()
    assert delivery.state is DeliveryState.PENDING and "rate limit" in (delivery.last_error or "")
    assert abs(delivery.next_attempt_at.timestamp() - reset) < 1.5
    ids = [post_id for _, post_id in run_of(db, delivery.id)]
    assert ids[1:] == [None, None] and ids[0] is not None
    assert [t.id for t in fake_x_server.live_tweets()] == ids[:1], "the first post is kept, not redone"
    time.sleep(max(delivery.next_attempt_at.timestamp() - time.time(), 0) + 0.05)
    [delivery] = lane.settle()
    tweets = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and len(tweets) == 3
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id]
    assert len(fake_x_server.calls_to(*POSTS)) == 4, "post 2 sent again, post 1 not"
    assert fake_x_server.calls_to(*TIMELINE) == [], "a 429 is a clear no: nothing to look for"


def test_a_5xx_after_x_made_post_2_finds_it_and_sends_post_3_only(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server, outbox_backoff_base_seconds=0.05), db)
    _incident(db, lane, EVACUATION)
    fake_x_server.posts.add("ok", "create-then-503")
    assert lane.step()
    [delivery] = lane.deliveries()
    assert delivery.state is DeliveryState.PENDING and "X server error" in (delivery.last_error or "")
    with db.read() as session:
        assert session.get(SocialSend, delivery.id) is not None, "post 2's outcome is unknown"
    assert len(fake_x_server.live_tweets()) == 2
    [delivery] = lane.settle()
    tweets = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and len(tweets) == 3, [t.text for t in tweets]
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id]
    assert len(fake_x_server.calls_to(*POSTS)) == 3, "post 2 was found on the account, not sent again"
    assert len(fake_x_server.calls_to(*TIMELINE)) == 1
    assert "post 2/3: found the post an earlier attempt made" in (delivery.note or "")
    assert run_of(db, delivery.id) == [(t.text, t.id) for t in tweets]


def test_a_5xx_with_post_2_not_made_looks_then_sends_it_once(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server, outbox_backoff_base_seconds=0.05), db)
    _incident(db, lane, EVACUATION)
    fake_x_server.posts.add("ok", "503")
    [delivery] = lane.settle()
    tweets = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and len(tweets) == 3
    assert len(fake_x_server.calls_to(*POSTS)) == 4 and len(fake_x_server.calls_to(*TIMELINE)) == 1
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id]


@pytest.mark.parametrize(
    ("script", "requests"),
    [
        (("ok", "ok", "503"), 4),  # post 3 refused by a struggling server: sent again
        (("ok", ("429", 1)), 4),  # rate limited at post 2: sent again after the reset
        (("ok", "create-then-hang"), 3),  # post 2 made, its answer lost: found, not sent again
    ],
    ids=["5xx", "429", "timeout-after-post-2-was-made"],
)
def test_mastodon_failures_mid_run_resume_without_repeating_a_status(
    settings: Settings, db: Database, script: tuple[object, ...], requests: int
) -> None:
    server = FakeMastodon(max_characters=250).start()
    try:
        timeouts = {"social_request_timeout_seconds": HANG_TIMEOUT_SECONDS}  # "create-then-hang"
        lane = Lane(mastodon_settings(settings, server, outbox_backoff_base_seconds=0.05, **timeouts), db)
        _incident(db, lane, EVACUATION)
        server.posts.add(*script)
        [delivery] = lane.settle()
        statuses = server.statuses
        assert delivery.state is DeliveryState.SENT and len(statuses) == 3, delivery.last_error
        assert [s.in_reply_to for s in statuses] == [None, statuses[0].id, statuses[1].id]
        assert len(server.calls_to(*MASTODON_POSTS)) == requests
        assert run_of(db, delivery.id) == [(s.text, s.id) for s in statuses]
    finally:
        server.stop()


def test_a_run_longer_than_an_attempts_time_goes_on_in_the_next_attempt(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    lane.channel.steps.budget_seconds = -1.0  # type: ignore[attr-defined]  # time is up after each post
    _incident(db, lane, EVACUATION)
    assert lane.step()
    [delivery] = lane.deliveries()
    assert delivery.state is DeliveryState.PENDING
    assert delivery.last_error == "made 1 of the run's 3 posts; the next attempt goes on"
    [delivery] = lane.settle()
    tweets = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 3 and len(tweets) == 3
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id]
    assert len(fake_x_server.calls_to(*POSTS)) == 3


def test_a_run_with_a_post_over_the_limit_is_not_sent_at_all_and_says_why(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    zalgo = "a" + "\u0301" * 300  # one grapheme cluster weighing 300 (306 with " (2/3)")
    _incident(db, lane, f"Avoid {zalgo} street.", headline=None)
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.FAILED and delivery.attempts == 1
    assert delivery.last_error == (
        "post 2/3 is over X's limit (306 of 280): it holds one character sequence (grapheme cluster) "
        "too long to split; nothing was posted"
    )
    texts = [text for text, _ in run_of(db, delivery.id)]
    assert zalgo in texts[1], "never cut"
    assert fake_x_server.calls_to(*POSTS) == [], "no broken thread"


def test_preview_mode_keeps_the_runs_texts_and_sends_nothing(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(replace(settings, channels=("x",)), db)
    slug, _ = publish(db, lane.routing, EVACUATION * 2)
    [delivery] = lane.settle()
    posts = (delivery.detail or "").split("\n\n")
    assert delivery.state is DeliveryState.SKIPPED and len(posts) > 2
    link = wording.update_url(lane.settings.public_url, slug, 1)
    assert_whole(posts, "PRELIMINARY: ", EVACUATION * 2, link)
    with db.read() as session:
        assert session.scalars(select(SocialSend)).all() == []
    assert run_of(db, delivery.id) == [] and fake_x_server.calls == []


def test_the_console_the_api_and_the_public_history_show_every_post_of_a_run(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = _incident(db, lane, EVACUATION)
    [delivery] = lane.settle()
    urls = [f"https://x.com/i/web/status/{tweet.id}" for tweet in fake_x_server.live_tweets()]
    assert len(urls) == 3
    make_user(db, "pio", "pio@example.org", "Pat Officer")
    with TestClient(create_app(lane.settings)) as client:
        record = client.get(f"/api/v1/incidents/{slug}", headers=bearer(make_token(db, "reviewer"))).json()
        [update] = record["updates"]
        [x] = [d for d in update["deliveries"] if d["channel"] == "x"]
        assert x["external_id"] == fake_x_server.live_tweets()[0].id and x["external_url"] == urls[0]
        assert [post["external_url"] for post in x["posts"]] == urls
        assert [post["position"] for post in x["posts"]] == [1, 2, 3]
        assert x["detail"].split("\n\n") == [tweet.text for tweet in fake_x_server.live_tweets()]

        csv = client.get(f"/incidents/{slug}/history.csv").text
        assert " ".join(urls) in csv, "the CSV export lists every post of the run"
        history = client.get(f"/incidents/{slug}/history").text
        assert "a thread of 3 posts" in history
        for n, url in enumerate(urls, 1):
            assert f'<a href="{url}" rel="nofollow noopener">post {n}</a>' in history

        sign_in(client, "pio@example.org")
        page = client.get(f"/console/incidents/{slug}").text
        chip = page.split('data-channel="x"')[1].split("</li>")[0]
        assert "3 posts:" in chip
        for n, url in enumerate(urls, 1):
            assert f'href="{url}"' in chip and f'aria-label="view post {n} of 3"' in chip
