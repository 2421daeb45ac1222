"""The migrations build exactly the schema the models describe, and run both ways."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def test_migration_files_are_named_in_upgrade_order() -> None:
    """`ls` shows the history in order: each file's number is its place in the chain, so a
    reader (or a new migration's author) never has to follow down_revision by hand."""
    scripts = ScriptDirectory.from_config(alembic_config())
    in_upgrade_order = [Path(script.path).name for script in reversed(list(scripts.walk_revisions()))]
    assert len(scripts.get_heads()) == 1, "one line of history, no branches"
    assert in_upgrade_order == sorted(in_upgrade_order)
    assert [name[:5] for name in in_upgrade_order] == [
        f"{n:04d}_" for n in range(1, len(in_upgrade_order) + 1)
    ]
