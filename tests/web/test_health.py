"""GET /healthz names the broadcast between server processes: "ok" when BROADCAST_URL's Redis
answers, "not answering" (status "degraded", still 200: residents get updates through the
database poll) when it does not, "in-process" for memory://. The check is bounded: a Redis that
accepts connections and never answers does not hold /healthz up.

The shared Redis (127.0.0.1:6379) is only asked; an outage is a closed port or a silent listener
of the test's own."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from console.settings import Settings
from console.web.app import create_app
from console.web.health import BROADCAST_CHECK_SECONDS

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def _health(settings: Settings, broadcast_url: str) -> tuple[int, dict[str, str], float]:
    # A topic of the test's own: nothing else on the shared Redis hears it.
    settings = replace(settings, broadcast_url=broadcast_url, broadcast_topic=f"t_{uuid.uuid4().hex}")
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/healthz")
        took = time.monotonic() - started
        assert response.headers["cache-control"] == "no-store"
        return response.status_code, response.json(), took


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections the kernel accepts and nobody ever answers (a blackhole)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def test_the_in_process_broadcast_is_named(settings: Settings) -> None:
    assert _health(settings, "memory://")[:2] == (
        200,
        {"status": "ok", "database": "ok", "broadcast": "in-process"},
    )


def test_a_redis_that_answers_is_ok(settings: Settings) -> None:
    assert _health(settings, SHARED_REDIS)[:2] == (200, {"status": "ok", "database": "ok", "broadcast": "ok"})


def test_a_redis_that_is_down_is_degraded_not_unavailable(settings: Settings) -> None:
    status, body, _ = _health(settings, f"redis://127.0.0.1:{_closed_port()}/0")
    assert (status, body) == (200, {"status": "degraded", "database": "ok", "broadcast": "not answering"})


def test_a_redis_that_never_answers_does_not_hold_healthz_up(settings: Settings, silent_port: int) -> None:
    status, body, took = _health(settings, f"redis://127.0.0.1:{silent_port}/0")
    assert (status, body["status"], body["broadcast"]) == (200, "degraded", "not answering")
    assert took < 2 * BROADCAST_CHECK_SECONDS + 1


def test_a_flood_of_healthz_asks_the_broadcast_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/healthz is public: each request opening its own connection to Redis (or PostgreSQL, whose
    connections run out) would let anyone multiply the load on the broadcast."""
    from console.web import health

    pings: list[str] = []

    async def ping(url: str) -> None:
        pings.append(url)

    monkeypatch.setattr(health, "_ping_redis", ping)
    settings = replace(settings, broadcast_url=SHARED_REDIS, broadcast_topic=f"t_{uuid.uuid4().hex}")
    with TestClient(create_app(settings)) as client:
        answers = [client.get("/healthz").json()["broadcast"] for _ in range(20)]
    assert answers == ["ok"] * 20
    assert len(pings) == 1


def test_requests_at_once_share_one_broadcast_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from console.web import health

    pings: list[str] = []

    async def slow_ping(url: str) -> None:
        pings.append(url)
        await asyncio.sleep(0.05)

    monkeypatch.setattr(health, "_ping_redis", slow_ping)
    check = health.BroadcastCheck(SHARED_REDIS)

    async def many() -> list[str]:
        return list(await asyncio.gather(*(check.status() for _ in range(50))))

    assert asyncio.run(many()) == ["ok"] * 50
    assert len(pings) == 1
