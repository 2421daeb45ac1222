"""kill -9 of the server in the middle of a 10,000-subscriber email fan-out: after the restart every
subscriber has exactly one delivery row, nobody receives the alert twice, and only the
messages being sent at the kill (at most one chunk per connection) are left `unknown`."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from console.alert_models import (
    AlertDelivery,
    AlertState,
    FanoutJob,
    FanoutState,
    Subscriber,
)
from console.channels.registry import routing
from console.db import Database
from console.domain.fanout import IN_FLIGHT_MAX
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from tests.alerts.support import Inbox, seed_email_subscribers, smtp_server
from tests.conftest import PIO
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # kill -9 of a server process

SUBSCRIBERS = 10_000  # the size: no loss, no duplicate at 10,000
CONNECTIONS = 3


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server()


def job(db: Database) -> FanoutJob | None:
    with db.read() as session:
        return session.scalars(select(FanoutJob)).first()


def fanout_env(database_url: str, tmp_path: Path, smtp_port: int, *, batch_size: int) -> dict[str, str]:
    """A server that sends only the subscribers' email, through the local SMTP server."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "CHANNELS": "subscribers",
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SUBSCRIBER_BATCH_SIZE": str(batch_size),
        "SMTP_CONNECTIONS": str(CONNECTIONS),
        "OUTBOX_LEASE_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.1",
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "FEEDS_DIR": str(tmp_path / "feeds"),
    }


def publish_to(db: Database, env: dict[str, str], subscribers: int) -> None:
    """`subscribers` email subscribers, and an update for them."""
    seed_email_subscribers(db, subscribers)
    to = routing(Settings.from_environ(env))
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=to)
        publish_update(session, PIO, incident.slug, Draft(body="Move to higher ground."), routing=to)


def test_kill_9_mid_fanout_sends_nobody_twice(
    db: Database, database_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    env = fanout_env(database_url, tmp_path, port, batch_size=200)
    publish_to(db, env, SUBSCRIBERS)
    server = ServerProcess(env).start()
    try:
        deadline = time.monotonic() + 60
        while inbox.count() < SUBSCRIBERS // 3:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.01)
    finally:
        server.kill()
    received_at_kill = inbox.count()
    assert received_at_kill < SUBSCRIBERS, "killed in the middle"
    restarted = ServerProcess(env, port=server.port).start()
    try:
        deadline = time.monotonic() + 90
        while (found := job(db)) is None or found.state is not FanoutState.DONE:
            assert time.monotonic() < deadline, restarted.output
            time.sleep(0.1)
    finally:
        restarted.stop()
    counts = Counter(inbox.recipients())
    assert max(counts.values()) == 1, "nobody got the alert twice"
    with db.read() as session:
        rows = session.scalar(select(func.count()).select_from(AlertDelivery))
        states = Counter(session.scalars(select(AlertDelivery.state)))
        sent_to = set(
            session.scalars(
                select(Subscriber.address)
                .join(AlertDelivery, AlertDelivery.subscriber_id == Subscriber.id)
                .where(AlertDelivery.state == AlertState.SENT)
            )
        )
    assert rows == SUBSCRIBERS, "every subscriber has exactly one delivery row"
    assert states[AlertState.UNKNOWN] <= IN_FLIGHT_MAX * CONNECTIONS, "only what was being sent"
    assert states[AlertState.SENT] + states[AlertState.UNKNOWN] == SUBSCRIBERS
    assert sent_to <= set(counts), "every message recorded as sent was received"
    finished = job(db)
    assert finished is not None
    assert (finished.sent, finished.unknown, finished.total) == (
        states[AlertState.SENT],
        states[AlertState.UNKNOWN],
        SUBSCRIBERS,
    )


def test_sigterm_mid_fanout_stops_between_batches_and_leaves_nothing_unknown(
    db: Database, database_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """A restart's SIGTERM in the middle of a fan-out: the batch in flight is sent and recorded,
    no message is left `unknown`, the server exits within its 10 s, and the next server sends
    the rest to everyone once."""
    inbox, port = smtp
    subscribers = 3_000
    env = fanout_env(database_url, tmp_path, port, batch_size=100)
    publish_to(db, env, subscribers)
    server = ServerProcess(env).start()
    try:
        deadline = time.monotonic() + 60
        while inbox.count() < subscribers // 5:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.01)
    finally:
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        # uvicorn ends by raising the signal again, once its shutdown is complete
        assert server.process.wait(10) == -signal.SIGTERM, server.output
        server.stop()  # reaps it
    assert "Application shutdown complete." in server.output
    with db.read() as session:
        states = Counter(session.scalars(select(AlertDelivery.state)))
    assert inbox.count() < subscribers, "stopped in the middle"
    assert states[AlertState.UNKNOWN] == 0 and states[AlertState.SENDING] == 0, states
    assert states[AlertState.SENT] == inbox.count(), "what was sent before the stop is recorded sent"
    restarted = ServerProcess(env, port=server.port).start()
    try:
        deadline = time.monotonic() + 90
        while (found := job(db)) is None or found.state is not FanoutState.DONE:
            assert time.monotonic() < deadline, restarted.output
            time.sleep(0.1)
    finally:
        restarted.stop()
    counts = Counter(inbox.recipients())
    assert len(counts) == subscribers and max(counts.values()) == 1, "everyone once"
