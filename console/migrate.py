"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from console.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Two processes starting at once must not both migrate; PostgreSQL makes the second wait.
MIGRATION_LOCK_KEY = 0x1C0_0DB
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
    config = alembic_config()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(db: Database) -> str | None:
    """The migration the database is at; None for one that was never migrated."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
