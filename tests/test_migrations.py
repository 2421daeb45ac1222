"""The migrations build exactly the schema the models describe, and run both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from console.db import Database
from console.migrate import alembic_config, include_name, upgrade
from console.models import Base


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}),
            Base.metadata,
        )
    assert diff == []


def test_downgrade_to_nothing_and_back(db: Database) -> None:
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db)
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(db.engine).get_table_names())
