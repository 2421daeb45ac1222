"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

import contextlib
import time
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from console.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Two processes starting at once must not both migrate: the second waits for the first (PostgreSQL
# on an advisory lock, SQLite on its write lock, taken by BEGIN IMMEDIATE before Alembic reads the
# revision: a deferred transaction would read it, then fail with "database is locked" at its
# first write instead of waiting, since a snapshot older than another writer's cannot write).
MIGRATION_LOCK_KEY = 0x1C0_0DB
SQLITE_MIGRATION_WAIT_SECONDS = 120.0
# Database objects the migrations create but the models do not map (dialect-specific, such
# as the archive's full-text index and SQLite's FTS5 shadow tables): autogenerate ignores them.
UNMAPPED_PREFIXES = ("archive_search",)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic `include_name` hook: compare everything except the unmapped objects."""
    return not (type_ == "table" and name is not None and name.startswith(UNMAPPED_PREFIXES))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate to `revision`. On SQLite another process's migration can hold the file longer
    than the busy timeout (a slow disk, a loaded machine): its turn is waited for, up to
    SQLITE_MIGRATION_WAIT_SECONDS, then this one starts again from where that one left it."""
    deadline = time.monotonic() + SQLITE_MIGRATION_WAIT_SECONDS
    while True:
        try:
            _upgrade(db, revision)
            return
        except OperationalError as exc:
            if not db.is_sqlite or "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _upgrade(db: Database, revision: str) -> None:
    config = alembic_config()
    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE") if db.is_sqlite else db.engine
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(db: Database) -> str | None:
    """The migration the database is at; None for one that was never migrated."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_revision_quickly(db: Database) -> str | None:
    """`schema_revision` in one query while the version table is there (GET /healthz, often
    polled); Alembic's own look, which checks for the table first, when it is not. Raises
    SQLAlchemyError when the database does not answer."""
    revisions: list[str] = []
    # A database that is down raises at connect, once. No version table (yet): Alembic's look
    # below says so, or raises if the database went away meanwhile.
    with db.engine.connect() as connection, contextlib.suppress(SQLAlchemyError):
        revisions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return revisions[0] if len(revisions) == 1 else schema_revision(db)


@cache
def _revisions() -> tuple[str | None, frozenset[str]]:
    """This version's newest migration, and every migration it ships."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return scripts.get_current_head(), frozenset(script.revision for script in scripts.walk_revisions())


def schema_problem(revision: str | None) -> str | None:
    """What stops this version from working on a database at `revision`, or None. A schema
    newer than this version knows (a rolling deploy: the release step migrated for the next
    version while this one still serves) is not a problem of this process."""
    head, known = _revisions()
    if revision is None:
        return "the database has no schema: run `console db upgrade`"
    if revision != head and revision in known:
        return (
            f"the database schema is at {revision}, this version needs {head} "
            "(an older backup restored?): run `console db upgrade`"
        )
    return None
