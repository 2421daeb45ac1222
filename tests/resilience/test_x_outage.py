"""X answering 503, then 429 with rate-limit headers, for a long while: publishing is not
slowed down and every other channel delivers meanwhile; X's deliveries retry and, once X
answers again, catch up in version order with every thread intact and nothing posted twice.

"Minutes" are compressed: short backoff settings and phases of a few seconds; the schedule
of attempts (backoff, then waiting for `x-rate-limit-reset`) is the production one."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from starlette.datastructures import Secret

from console.db import Database
from console.models import Delivery, DeliveryState, OutboxEvent
from console.settings import Settings
from tests.security.support import ApiClient
from tests.social import fake_x
from tests.social.fake_x import FakeX
from tests.support.factories import make_token
from tests.support.live_server import serve

pytestmark = pytest.mark.slow  # an X outage

OUTAGE_503_SECONDS = 5.0
OUTAGE_429_SECONDS = 6.0
RATE_LIMIT_WINDOW_SECONDS = 1.5  # X's window is 15 minutes; each 429 says when this one ends


class Outage:
    """What X answers now: 503 (one post made anyway), then 429 until its reset, then "ok"."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.created_anyway = False

    def phase(self) -> str:
        elapsed = time.monotonic() - self.start
        if elapsed < OUTAGE_503_SECONDS:
            return "503"
        return "429" if elapsed < OUTAGE_503_SECONDS + OUTAGE_429_SECONDS else "ok"

    def next(self, default: Any = "ok") -> Any:  # FakeX.posts
        phase = self.phase()
        if phase == "503":
            with self.lock:
                if not self.created_anyway:
                    self.created_anyway = True
                    return "create-then-503"
            return "503"
        if phase == "429":
            return ("429", int(time.time() + RATE_LIMIT_WINDOW_SECONDS) + 1)
        return default


class TimelineOutage:
    """The timeline is down with the rest of X during the 503 phase."""

    def __init__(self, outage: Outage) -> None:
        self.outage = outage

    def next(self, default: Any = "ok") -> Any:  # FakeX.lookups
        return "503" if self.outage.phase() == "503" else default


def by_channel(db: Database, channel: str) -> list[Delivery]:
    with db.read() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.channel == channel).order_by(Delivery.event_id))
        )


def test_x_down_then_rate_limiting_delays_only_x_which_catches_up_in_order(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    settings = replace(
        settings,
        channels=("live", "archive", "feeds", "x"),
        x_api_key=Secret(fake_x.CONSUMER_KEY),
        x_api_secret=Secret(fake_x.CONSUMER_SECRET),
        x_access_token=Secret(fake_x.ACCESS_TOKEN),
        x_access_token_secret=Secret(fake_x.ACCESS_TOKEN_SECRET),
        x_api_base_url=fake_x_server.url,
        social_request_timeout_seconds=2.0,
        outbox_poll_seconds=0.05,
        outbox_backoff_base_seconds=0.2,
        outbox_backoff_max_seconds=1.0,
    )
    token = make_token(db, "pio")
    slowest = 0.0
    bodies: list[str] = []  # each version's text, in publication order
    parents: list[str | None] = []  # the text of the version each post must reply to
    errors: set[str] = set()  # what the X deliveries said while they waited
    with serve(settings) as server:
        client = ApiClient(server.url, token)
        slug = client.post("/incidents", {"title": "Tornado warning"})["slug"]
        outage = Outage()  # X fails from now on
        fake_x_server.posts = outage  # type: ignore[assignment]
        fake_x_server.lookups = TimelineOutage(outage)  # type: ignore[assignment]
        latest: dict[int, tuple[int, str]] = {}  # update id -> (version, body)
        for n in range(8):
            started = time.monotonic()
            if n in (3, 6):  # a correction of the first update, replying to its current post
                update_id = min(latest)
                version, body = latest[update_id]
                text = f"Sirens sound in zone {n}; correction."
                answer = client.post(
                    f"/updates/{update_id}/corrections",
                    {"body": text, "reason": "Zone number was wrong", "corrects_version": version},
                )
                parents.append(body)
            else:
                text = f"Take shelter now in zone {n}."
                answer = client.post(f"/incidents/{slug}/updates", {"body": text})
                parents.append(bodies[-1] if bodies else None)  # the incident's latest post
            slowest = max(slowest, time.monotonic() - started)
            latest[answer["id"]] = (answer["version"], text)
            bodies.append(text)
            errors.update(d.last_error or "" for d in by_channel(db, "x"))
            time.sleep(0.3)

        # Meanwhile every other channel delivered, and X holds its queue in order.
        deadline = time.monotonic() + 10
        while True:
            others = [d for c in ("live", "archive", "feeds") for d in by_channel(db, c)]
            if all(d.state is DeliveryState.SENT for d in others) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        in_outage = outage.phase() != "ok"  # so all of that happened while X was failing
        x_during = by_channel(db, "x")
        posts_during = len(fake_x_server.live_tweets())

        deadline = time.monotonic() + 40
        while any(d.state is not DeliveryState.SENT for d in by_channel(db, "x")):
            x = by_channel(db, "x")
            errors.update(d.last_error or "" for d in x)
            assert time.monotonic() < deadline, [(d.state, d.attempts, d.last_error) for d in x]
            time.sleep(0.1)
        caught_up = time.monotonic() - (outage.start + OUTAGE_503_SECONDS + OUTAGE_429_SECONDS)

    assert slowest < 2.0, f"publishing took {slowest:.2f} s while X was down"
    assert in_outage, "published and delivered elsewhere while X was failing (the machine was too slow)"
    assert all(d.state is DeliveryState.SENT for d in others), "live, archive and feeds did not wait for X"
    # X accepted nothing: the one post that exists is the one it made despite answering 503,
    # which a retry may already have found and adopted (when the timeline answered again).
    assert posts_during == 1
    sent_during = [d for d in x_during if d.state is DeliveryState.SENT]
    assert sent_during in ([], x_during[:1]), "X's queue waited, in order"

    deliveries = by_channel(db, "x")
    with db.read() as session:
        order = list(session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)))
    assert [d.event_id for d in deliveries] == [e for e in order if e in {d.event_id for d in deliveries}]
    assert any("X server error" in e for e in errors) and any("rate limit" in e for e in errors), errors

    tweets = fake_x_server.live_tweets()
    assert len(tweets) == len(bodies), "each version posted exactly once (the 503 that posted was adopted)"
    assert [d.external_id for d in deliveries] == [t.id for t in tweets], "posted in version order"
    for tweet, body, parent in zip(tweets, bodies, parents, strict=True):
        assert body in tweet.text
        expected = None if parent is None else next(t.id for t in tweets if parent in t.text)
        assert tweet.in_reply_to == expected, f"{tweet.text!r} is not in its place in the thread"
    adopted = [d for d in deliveries if "earlier attempt" in (d.note or "")]
    assert len(adopted) == 1
    print(
        f"\nX outage: {OUTAGE_503_SECONDS:.0f} s of 503 then {OUTAGE_429_SECONDS:.0f} s of 429; "
        f"{len(bodies)} versions published, slowest publish {slowest * 1000:.0f} ms; "
        f"{sum(d.attempts for d in deliveries)} attempts for {len(deliveries)} posts; "
        f"all posted {caught_up:.1f} s after X recovered; {len(fake_x_server.calls_to('POST', '/2/tweets'))} "
        f"POST requests, {len(tweets)} posts"
    )
