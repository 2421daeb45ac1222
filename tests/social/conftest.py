"""Fixtures for the social channels: fake X and Mastodon servers, settings pointing at them,
and a dispatcher that runs one channel's lane until nothing is left to do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.datastructures import Secret

from console.channels.base import Channel
from console.channels.registry import build_channels
from console.channels.registry import routing as routing_for
from console.db import Database
from console.dispatcher import Dispatcher, RetryPolicy
from console.domain import outbox
from console.domain.outbox import Routing
from console.live.bus import LiveBus
from console.models import Delivery
from console.settings import Settings
from tests.social import fake_mastodon, fake_x
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX


@pytest.fixture
def fake_x_server() -> Iterator[FakeX]:
    server = FakeX().start()
    yield server
    server.stop()


@pytest.fixture
def fake_mastodon_server() -> Iterator[FakeMastodon]:
    server = FakeMastodon().start()
    yield server
    server.stop()


# SOCIAL_REQUEST_TIMEOUT_SECONDS for a test whose fake holds a request unanswered ("hang",
# "create-then-hang"): the wait for that timeout is the test's time; local answers take ms.
HANG_TIMEOUT_SECONDS = 0.5


def x_settings(settings: Settings, server: FakeX, **extra: object) -> Settings:
    return replace(
        settings,
        channels=("x",),
        x_api_key=Secret(fake_x.CONSUMER_KEY),
        x_api_secret=Secret(fake_x.CONSUMER_SECRET),
        x_access_token=Secret(fake_x.ACCESS_TOKEN),
        x_access_token_secret=Secret(fake_x.ACCESS_TOKEN_SECRET),
        x_api_base_url=server.url,
        **{"social_request_timeout_seconds": 1.0, **extra},  # type: ignore[arg-type]
    )


def mastodon_settings(settings: Settings, server: FakeMastodon, **extra: object) -> Settings:
    return replace(
        settings,
        channels=("mastodon",),
        mastodon_base_url=server.url,
        mastodon_access_token=Secret(fake_mastodon.TOKEN),
        **{"social_request_timeout_seconds": 1.0, **extra},  # type: ignore[arg-type]
    )


class Lane:
    """One channel built from settings, and a dispatcher for it."""

    def __init__(self, settings: Settings, db: Database, *, max_attempts: int = 8) -> None:
        self.settings = settings
        self.db = db
        self.routing: Routing = routing_for(settings)
        self.channels: dict[str, Channel] = build_channels(settings, db, LiveBus.from_settings(settings))
        [self.name] = self.channels
        self.channel = self.channels[self.name]
        self.dispatcher = Dispatcher(
            db,
            self.channels,
            retry=RetryPolicy(
                max_attempts, settings.outbox_backoff_base_seconds, settings.outbox_backoff_max_seconds
            ),
            lease_seconds=settings.outbox_lease_seconds,
            poll_seconds=0.02,
        )

    def deliveries(self) -> list[Delivery]:
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(Delivery).where(Delivery.channel == self.name).order_by(Delivery.event_id)
                )
            )

    def step(self) -> bool:
        """Claim and deliver one due delivery (False: nothing due now)."""
        return asyncio.run(self.dispatcher.process_next(self.name))

    def settle(self, timeout: float = 20.0) -> list[Delivery]:
        """Run the lane until no delivery is open any more (or only paused ones remain)."""
        deadline = time.monotonic() + timeout
        while True:
            open_ = [d for d in self.deliveries() if d.state in outbox.OPEN_STATES]
            if not open_ or not self.step() and self._paused():
                return self.deliveries()
            assert time.monotonic() < deadline, (
                f"still open: {[(d.id, d.state, d.last_error) for d in open_]}"
            )
            time.sleep(0.01)

    def _paused(self) -> bool:
        from console.domain.channel_health import is_paused

        with self.db.read() as session:
            return is_paused(session, self.name)


def audit_actions(db: Database, prefix: str = "") -> list[str]:
    from console.models import AuditEvent

    with db.read() as session:
        return [
            a
            for a in session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))
            if a.startswith(prefix)
        ]


def publish(
    db: Database, routing: Routing, *bodies: str, title: str = "Water main break"
) -> tuple[str, list[int]]:
    """An incident with one update per body; returns the slug and the update ids."""
    from console.domain.incidents import IncidentDraft, create_incident
    from console.domain.updates import Draft, publish_update
    from tests.conftest import PIO

    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title=title), routing=routing)
        ids = [
            publish_update(session, PIO, incident.slug, Draft(body=b), routing=routing).update.id
            for b in bodies
        ]
        return incident.slug, ids


def correct_wrong_street(db: Database, routing: Routing, update_id: int) -> None:
    """Correct version 1 of the update: "Avoid Oak St.", because the street was wrong."""
    from console.domain.updates import Draft, correct_update
    from tests.conftest import PIO

    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Avoid Oak St."),
            reason="Wrong street",
            corrects_version=1,
            routing=routing,
        )


def run_of(db: Database, delivery_id: int) -> list[tuple[str, str | None]]:
    """(text, external id) of each post of a delivery's run, in order."""
    from console.models import SocialPost

    with db.read() as session:
        return [
            (post.text, post.external_id)
            for post in session.scalars(
                select(SocialPost).where(SocialPost.delivery_id == delivery_id).order_by(SocialPost.position)
            )
        ]


def pieces_of(posts: list[str], label: str, link: str) -> list[str]:
    """The text each post carries, its label, number and link taken off (each checked present)."""
    if len(posts) == 1:
        [post] = posts
        assert post.startswith(label) and post.endswith(f" {link}"), post
        return [post.removeprefix(label).removesuffix(f" {link}")]
    total = len(posts)
    pieces = []
    for n, post in enumerate(posts, 1):
        if n == 1:
            assert post.startswith(label), post
            post = post.removeprefix(label)
        if n == total:
            assert post.endswith(f" {link}"), post
            post = post.removesuffix(f" {link}")
        assert post.endswith(f" ({n}/{total})"), post
        pieces.append(post.removesuffix(f" ({n}/{total})"))
    return pieces


def assert_whole(posts: list[str], label: str, text: str, link: str) -> None:
    """The posts publish all of `text` (whitespace collapsed), in order: each post's piece is
    the next part of it, only the one space at each cut left out, no grapheme cluster cut."""
    import regex

    whole = " ".join(text.split())
    clusters = {match.end() for match in regex.finditer(r"\X", whole)}
    at = 0
    for piece in pieces_of(posts, label, link):
        assert piece and whole.startswith(piece, at), (piece, whole[at : at + len(piece) + 20])
        at += len(piece)
        assert at in clusters, f"cut inside a grapheme cluster at {at}: {whole[at - 3 : at + 3]!r}"
        if at < len(whole) and whole[at] == " ":
            at += 1
    assert at == len(whole), f"left out: {whole[at:]!r}"
