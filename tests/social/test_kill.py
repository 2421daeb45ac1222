"""kill -9 of `console worker` in the middle of a post: after a restart every version is
posted exactly once, in its place in the thread."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain import outbox
from console.models import Delivery, DeliveryState
from console.settings import Settings
from tests.social import fake_x
from tests.social.conftest import publish
from tests.social.fake_x import FakeX
from tests.support.server import ServerProcess


def worker_env(database_url: str, tmp_path: Path, server: FakeX) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "PUBLIC_URL": "https://alerts.example.gov",
        "CHANNELS": "x",
        "X_API_KEY": fake_x.CONSUMER_KEY,
        "X_API_SECRET": fake_x.CONSUMER_SECRET,
        "X_ACCESS_TOKEN": fake_x.ACCESS_TOKEN,
        "X_ACCESS_TOKEN_SECRET": fake_x.ACCESS_TOKEN_SECRET,
        "X_API_BASE_URL": server.url,
        "SOCIAL_REQUEST_TIMEOUT_SECONDS": "30",  # the worker is killed long before it would give up
        "OUTBOX_LEASE_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.1",
    }


def x_deliveries(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.channel == "x").order_by(Delivery.event_id))
        )


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.parametrize("mid_send", ["create-then-hang", "hang"], ids=["post-landed", "post-not-made"])
def test_kill_9_mid_send_loses_and_duplicates_nothing(
    settings: Settings, db: Database, database_url: str, tmp_path: Path, fake_x_server: FakeX, mid_send: str
) -> None:
    publish(db, routing_for(Settings(channels=("x",))), "Avoid Elm St.", "Detour via 5th.", "Crews on scene.")
    fake_x_server.posts.add("ok", mid_send)
    env = worker_env(database_url, tmp_path, fake_x_server)
    worker = ServerProcess(env, command=("worker",)).start()
    try:
        wait_until(
            fake_x_server.hanging.is_set, 30, f"the worker never reached the second post:\n{worker.output}"
        )
    finally:
        worker.kill()
    first, second, third = x_deliveries(db)
    assert first.state is DeliveryState.SENT and second.state is DeliveryState.SENDING
    assert third.state is DeliveryState.PENDING
    assert len(fake_x_server.live_tweets()) == (2 if mid_send == "create-then-hang" else 1)

    restarted = ServerProcess(env, command=("worker",)).start()
    try:
        wait_until(
            lambda: all(d.state not in outbox.OPEN_STATES for d in x_deliveries(db)),
            30,
            f"deliveries still open after the restart:\n{restarted.output}",
        )
    finally:
        restarted.stop()

    deliveries = x_deliveries(db)
    tweets = fake_x_server.live_tweets()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 3
    assert len(tweets) == 3, [t.text for t in tweets]
    assert [d.external_id for d in deliveries] == [t.id for t in tweets], "each version once, in order"
    assert [d.detail for d in deliveries] == [t.text for t in tweets]
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id], "one thread, in order"
    assert deliveries[1].attempts == 2
    if mid_send == "create-then-hang":
        assert "earlier attempt" in (deliveries[1].note or "")
        assert len(fake_x_server.calls_to("POST", "/2/tweets")) == 3, (
            "the landed post was adopted, not re-sent"
        )
    else:
        assert deliveries[1].note is None
        assert len(fake_x_server.calls_to("POST", "/2/tweets")) == 4, (
            "the post that never happened was sent again"
        )
    assert fake_x_server.bad_signatures == 0
