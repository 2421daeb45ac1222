"""Alembic environment. Used both by `console db upgrade` (which passes a connection) and
by the `alembic` command line (which reads DATABASE_URL)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from console.db import build_engine
from console.migrate import include_name
from console.models import Base, UTCDateTime
from console.settings import Settings

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import model code, which keeps changing after they are written.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = build_engine(Settings.from_environ().database_url)
    with engine.connect() as new_connection:
        run_migrations(new_connection)
    engine.dispose()
