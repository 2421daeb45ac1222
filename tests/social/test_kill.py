"""kill -9 of `console worker` in the middle of a post, or of a run of posts: after a restart
every post is made exactly once, in its place in the thread."""

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
from tests.social.conftest import publish, run_of
from tests.social.fake_x import FakeX
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # kill -9 of a worker process


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


LONG_UPDATE = (
    "All residents between Oak St and Pine St must leave now by Route 9 northbound; Route 12 "
    "is closed. Shelter is open at Lincoln High School, 310 Birch St, with water, food and space "
    "for pets. Do not use the Main St bridge: it is closed for inspection. If you need transport "
    "call 311. Check on neighbours who may need help, and take medicines, documents and phone "
    "chargers with you. Crews will go door to door from 22:00 to make sure everyone is out. "
    "Do not return until the order is lifted on this page. Updates follow here."
)


@pytest.mark.parametrize(
    ("script", "posts_before_restart"),
    [
        (("ok", "ok", "hang"), 2),  # killed after post 2 of 3, post 3 not made
        (("ok", "create-then-hang"), 2),  # killed while post 2's answer was awaited; X had made it
    ],
    ids=["after-post-2", "post-2-outcome-unknown"],
)
def test_kill_9_in_the_middle_of_a_run_sends_only_the_missing_posts(
    settings: Settings,
    db: Database,
    database_url: str,
    tmp_path: Path,
    fake_x_server: FakeX,
    script: tuple[str, ...],
    posts_before_restart: int,
) -> None:
    publish(db, routing_for(Settings(channels=("x",))), LONG_UPDATE)
    fake_x_server.posts.add(*script)
    env = worker_env(database_url, tmp_path, fake_x_server)
    worker = ServerProcess(env, command=("worker",)).start()
    try:
        wait_until(fake_x_server.hanging.is_set, 30, f"the worker never reached the hang:\n{worker.output}")
    finally:
        worker.kill()
    [delivery] = x_deliveries(db)
    assert delivery.state is DeliveryState.SENDING
    assert len(fake_x_server.live_tweets()) == posts_before_restart

    restarted = ServerProcess(env, command=("worker",)).start()
    try:
        wait_until(
            lambda: all(d.state not in outbox.OPEN_STATES for d in x_deliveries(db)),
            30,
            f"the delivery is still open after the restart:\n{restarted.output}",
        )
    finally:
        restarted.stop()

    [delivery] = x_deliveries(db)
    tweets = fake_x_server.live_tweets()
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 2
    assert len(tweets) == 3, [t.text for t in tweets]
    assert [t.text.endswith(f"({n}/3)") for n, t in enumerate(tweets[:2], 1)] == [True, True]
    assert "(3/3) https://alerts.example.gov/" in tweets[2].text
    assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id], "one run, in order"
    assert run_of(db, delivery.id) == [(t.text, t.id) for t in tweets]
    posted_texts = [call.json()["text"] for call in fake_x_server.calls_to("POST", "/2/tweets")]
    if script[-1] == "hang":
        assert posted_texts == [tweets[0].text, tweets[1].text, tweets[2].text, tweets[2].text], (
            "after the restart, post 3 only (its first request never made it)"
        )
    else:
        assert posted_texts == [t.text for t in tweets], "post 2 was found on the account, post 3 sent"
        assert "post 2/3: found the post an earlier attempt made" in (delivery.note or "")
    assert fake_x_server.bad_signatures == 0
