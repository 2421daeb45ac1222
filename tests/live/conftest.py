"""Fixtures for the live page tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from console.db import Database
from console.settings import Settings
from tests.live.support import PostgresServer, RedisServer
from tests.support.factories import make_token
from tests.support.live_server import LiveServer, serve


@pytest.fixture
def channel() -> str:
    """A broadcast channel of this test's own, so tests sharing a Redis never cross."""
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def live_settings(settings: Settings, channel: str) -> Settings:
    return replace(
        settings,
        broadcast_channel=channel,
        live_poll_seconds=0.5,
        live_hello_seconds=3.0,
        live_ping_seconds=5.0,
        timezone="America/Chicago",
    )


@pytest.fixture
def live(live_settings: Settings) -> Iterator[LiveServer]:
    with serve(live_settings) as server:
        yield server


@pytest.fixture
def pio_token(db: Database) -> str:
    return make_token(db, "pio")


@pytest.fixture
def reviewer_token(db: Database) -> str:
    return make_token(db, "reviewer")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server.initialise()
    finally:
        server.remove()
