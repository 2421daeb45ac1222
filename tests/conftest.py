"""Shared fixtures. The backend follows DATABASE_URL: PostgreSQL when it points there (as in
CI's second pass), otherwise a throwaway SQLite file. Either way each test starts from a
database built by the real migrations and holding no rows."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.actors import Actor
from console.domain.outbox import Routing
from console.keyset import KeyFile, create_key_file
from console.migrate import upgrade
from console.models import Base, Role
from console.settings import Settings
from console.web.app import create_app
from tests.support.browser import browser, page  # noqa: F401  (fixtures)
from tests.support.live_server import LiveServer, serve


def own_database(url: str) -> str:
    """Under pytest-xdist (`make test-fast`) each worker empties and migrates a PostgreSQL
    database of its own: the run's, named with the worker's id after it (`test_gw0`)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


RUN_POSTGRES_URL = (
    os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
)
POSTGRES_URL = own_database(RUN_POSTGRES_URL)

IMMUTABLE_TABLES = ("update_versions", "audit_events")
# Immutable the same way, from later migrations (translations, rumor control, incident details).
ALSO_IMMUTABLE = (
    "translations",
    "rumor_versions",
    "rumor_translations",
    "incident_details_versions",
    "pins",
    "template_versions",
    "details_translations",
    "media_files",
    "version_media",
)
KEYS_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
PIO = Actor(user_id=None, name="Test PIO", role=Role.PIO, via="api")
REVIEWER = Actor(user_id=None, name="Test Reviewer", role=Role.REVIEWER, via="api")


# A test using one of these fixtures drives Chromium or starts Redis or PostgreSQL servers of
# its own: it is `slow` (left out by `make test-fast`) without having to say so.
SLOW_FIXTURES = frozenset(
    {"browser", "own_page", "browser_no_js", "redis_server", "postgres_server", "private_database"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. While Playwright's sync API is open (the session's browser),
    the main thread counts as running an event loop, and asyncio.run() in a later test fails."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (`make test-fast`): two workers per CPU. A test spends about a quarter of its
    time waiting (on sockets, a server's thread, a fake service), when a second worker can use
    the CPU: on 2 CPUs, 4 workers ran the fast suite in 91 s where 2 took 111 s."""
    return 2 * (os.cpu_count() or 1)


def pytest_report_header() -> str:
    return f"database backend: {'postgresql' if POSTGRES_URL else 'sqlite'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated once per run: a SQLite file to copy, or the PostgreSQL test database."""
    if POSTGRES_URL:
        if POSTGRES_URL != RUN_POSTGRES_URL:
            create_postgres(POSTGRES_URL)
        rebuild_postgres(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return str(path)


def create_postgres(url: str) -> None:
    """The worker's database, made on the run's server the first time a worker needs it."""
    name = make_url(url).database
    server = Database(RUN_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.engine.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()


def rebuild_postgres(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    db.dispose()


def empty_postgres(url: str) -> None:
    db = Database(url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        # Work a previous test's server left in flight (a delivery thread still reading) would
        # hold table locks and deadlock the TRUNCATE: end those connections first.
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        # replica role: the immutability triggers stand aside for test cleanup only
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every test of this process finds its SQLite database, as every test finds its
    PostgreSQL one at one URL: the process's engine for it (`console.db.shared_engine`) is then
    built once, and statements compiled for one test serve the next."""
    return tmp_path_factory.mktemp("database") / "console.db"


@pytest.fixture
def database_url(migrated_template: str, sqlite_path: Path) -> str:
    if POSTGRES_URL:
        empty_postgres(POSTGRES_URL)
        return POSTGRES_URL
    # The template written over the last test's database through SQLite's backup API, not by
    # replacing the file: a connection still open on it (the pool's, or work a previous test
    # left in flight) then sees the new contents, where one left on a deleted file would remove
    # the new file's write-ahead log, which has the same name, when it closed.
    with (
        closing(sqlite3.connect(migrated_template)) as template,
        closing(sqlite3.connect(sqlite_path)) as target,
    ):
        template.backup(target)
    return f"sqlite:///{sqlite_path}"


@pytest.fixture
def signing_key_file(tmp_path: Path) -> Path:
    """A key set of the test's own, outside the repository. Its key starts in 2000: tests publish
    at fixed past times, and a signature only counts from its key's `not_before`."""
    path = tmp_path / "keys" / "signing-key.pem"
    path.parent.mkdir()
    create_key_file(path, now=KEYS_SINCE)
    return path


def settings_for(database_url: str, root: Path, signing_key_file: Path) -> Settings:
    """Settings for a test: its files under `root`, an outbox that polls and retries quickly."""
    return Settings(
        database_url=database_url,
        signing_key_file=signing_key_file,
        archive_dir=root / "archive",
        feeds_dir=root / "feeds",
        media_dir=root / "media",
        outbox_in_process=False,
        outbox_poll_seconds=0.05,
        outbox_lease_seconds=5.0,
        outbox_backoff_base_seconds=0.01,
        outbox_backoff_max_seconds=0.05,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, signing_key_file: Path) -> Settings:
    return settings_for(database_url, tmp_path, signing_key_file)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url, signer=KeyFile(settings.signing_key_file))
    yield database
    database.dispose()


@pytest.fixture
def routing(settings: Settings) -> Routing:
    return routing_for(settings)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def tampered_db(db: Database) -> Iterator[Database]:
    """The database after an attacker with access dropped the immutability triggers (of every
    table that has them) and the guard on incident rows."""
    with db.engine.begin() as conn:
        for table in (*IMMUTABLE_TABLES, *ALSO_IMMUTABLE):
            if POSTGRES_URL:
                conn.execute(text(f"DROP TRIGGER {table}_immutable ON {table}"))
            else:
                conn.execute(text(f"DROP TRIGGER {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER {table}_no_delete"))
        if POSTGRES_URL:
            conn.execute(text("DROP TRIGGER incidents_guarded ON incidents"))
        else:
            conn.execute(text("DROP TRIGGER incidents_guarded"))
            conn.execute(text("DROP TRIGGER incidents_no_delete"))
    yield db
    if POSTGRES_URL:  # the schema outlives this test there: put the triggers back
        db.dispose()
        rebuild_postgres(POSTGRES_URL)


@pytest.fixture
def served(settings: Settings) -> Iterator[LiveServer]:
    """The app served by uvicorn on a free port, dispatcher running, as in production."""
    with serve(settings) as server:
        yield server
