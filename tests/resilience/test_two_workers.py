"""The outbox worker scaled to two processes (issue 20): two `console worker`s claim from the same
outbox while a PIO publishes on three incidents. No delivery is sent twice, the ordered X
channel posts in event order (each incident's updates one thread, in order), and every
subscriber gets each update by email exactly once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from console.alert_models import AlertChannel, FanoutJob, FanoutState
from console.channels.registry import routing
from console.db import Database
from console.domain import outbox
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.models import Delivery, DeliveryState, Incident, OutboxEvent
from console.settings import Settings
from tests.alerts.support import Inbox, seed_email_subscribers, smtp_server, text_of
from tests.conftest import PIO
from tests.social import fake_x
from tests.social.fake_x import FakeX
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # two worker processes

SUBSCRIBERS = 50
INCIDENTS = ("Flood on the river road", "Gas leak on Elm St", "Power cut in the north")
ROUNDS = 3  # updates per incident, published in turn across the incidents


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server()


@pytest.fixture
def fake_x_server() -> Iterator[FakeX]:
    server = FakeX().start()
    yield server
    server.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(0.1)


def test_two_workers_send_each_delivery_once_and_keep_each_incidents_order(
    db: Database, database_url: str, tmp_path: Path, smtp: tuple[Inbox, int], fake_x_server: FakeX
) -> None:
    inbox, port = smtp
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "CHANNELS": "x,subscribers",
        "X_API_KEY": fake_x.CONSUMER_KEY,
        "X_API_SECRET": fake_x.CONSUMER_SECRET,
        "X_ACCESS_TOKEN": fake_x.ACCESS_TOKEN,
        "X_ACCESS_TOKEN_SECRET": fake_x.ACCESS_TOKEN_SECRET,
        "X_API_BASE_URL": fake_x_server.url,
        "SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SUBSCRIBER_BATCH_SIZE": "50",
        "PUBLIC_URL": "https://alerts.example.gov",
        "OUTBOX_LEASE_SECONDS": "5",
        "OUTBOX_POLL_SECONDS": "0.05",
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "FEEDS_DIR": str(tmp_path / "feeds"),
    }
    routes = routing(Settings.from_environ(env))
    seed_email_subscribers(db, SUBSCRIBERS)
    workers = [ServerProcess(env, command=("worker",)).start() for _ in range(2)]
    bodies: dict[str, list[str]] = {}
    try:
        with db.write() as session:
            slugs = [
                create_incident(session, PIO, IncidentDraft(title=title), routing=routes)[0].slug
                for title in INCIDENTS
            ]
        for round_ in range(1, ROUNDS + 1):  # the two workers claim while these are published
            for slug in slugs:
                body = f"Update {round_} on {slug}: follow the officers' directions."
                with db.write() as session:
                    publish_update(session, PIO, slug, Draft(body=body), routing=routes)
                bodies.setdefault(slug, []).append(body)
                time.sleep(0.05)

        def x_deliveries() -> list[Delivery]:
            with db.read() as session:
                return list(
                    session.scalars(
                        select(Delivery).where(Delivery.channel == "x").order_by(Delivery.event_id)
                    )
                )

        def settled() -> bool:
            with db.read() as session:
                jobs = list(session.scalars(select(FanoutJob).where(FanoutJob.channel == AlertChannel.EMAIL)))
                open_ = session.scalars(
                    select(Delivery).where(Delivery.state.in_(outbox.OPEN_STATES))
                ).first()
            return (
                open_ is None
                and len(jobs) == len(INCIDENTS) * ROUNDS
                and all(job.state is FanoutState.DONE for job in jobs)
            )

        def progress() -> str:
            with db.read() as session:
                jobs = Counter(str(job.state) for job in session.scalars(select(FanoutJob)))
                states = Counter(f"{d.channel} {d.state}" for d in session.scalars(select(Delivery)))
            return f"jobs {dict(jobs)}, deliveries {dict(states)}\n" + "\n".join(w.output for w in workers)

        wait_until(settled, 120, progress)
    finally:
        for worker in workers:
            worker.stop()

    published = len(INCIDENTS) * ROUNDS
    deliveries = x_deliveries()
    tweets = fake_x_server.live_tweets()
    assert len(deliveries) == published
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * published
    assert [d.attempts for d in deliveries] == [1] * published, "no delivery claimed twice"
    assert len(fake_x_server.calls_to("POST", "/2/tweets")) == published, "each update posted once"
    assert [d.external_id for d in deliveries] == [t.id for t in tweets], "posted in event order"
    with db.read() as session:
        slug_of_event = {
            event_id: slug
            for event_id, slug in session.execute(
                select(OutboxEvent.id, Incident.slug).join(Incident, OutboxEvent.incident)
            )
        }
    for slug in slugs:
        first = next(d for d in deliveries if slug_of_event[d.event_id] == slug)
        thread = fake_x_server.thread(first.external_id or "")
        assert [next(body for body in bodies[slug] if body in tweet.text) for tweet in thread] == bodies[
            slug
        ], f"{slug}'s updates are one thread, in order"

    received = Counter(
        (address, body)
        for message in inbox.messages
        for address in [str(message["To"])]
        for body in [next(b for slug in slugs for b in bodies[slug] if b in text_of(message))]
    )
    assert len(received) == SUBSCRIBERS * published, "every subscriber got every update"
    assert set(received.values()) == {1}, "nobody got an update twice"
