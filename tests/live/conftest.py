"""Fixtures for the live page tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from console.db import Database
from console.migrate import upgrade
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
        broadcast_topic=channel,
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


@pytest.fixture
def private_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A migrated database of its own in the private PostgreSQL (which this test stops)."""
    name = f"outage_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    if not _running(postgres_server):  # the test failed while it was stopped
        postgres_server.start()
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _running(server: PostgresServer) -> bool:
    try:
        psycopg.connect(server.url, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True
