"""Column types and columns that many migrations create the same way.

Frozen like the migrations themselves: a migration must do the same on a new database as it
did on the ones it already ran on, so changing what a function here emits changes history.
Write a new function instead."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def enum(*values: str, name: str) -> sa.Enum:
    """The project's enum column type: a VARCHAR(32) on every engine, with no native enum type and
    no CHECK constraint."""
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def authored() -> tuple[sa.Column[int], sa.Column[str]]:
    """A row's author: `author_id`, the user if one wrote it (its foreign key is
    `author_foreign_key`), and `author_name`, the name it was written under. New columns on every
    call: a column belongs to one table."""
    return (
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
    )


def author_foreign_key(table: str) -> sa.ForeignKeyConstraint:
    """`table`'s foreign key from `author_id` to the user. Separate from the columns because a
    table's constraints keep the order they were made in, and SQLite's copy of its SQL shows it."""
    return sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f(f"fk_{table}_author_id_users"))


def foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table`'s foreign key from `column` to `target`'s id, named by the naming convention."""
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def primary_key(table: str) -> sa.PrimaryKeyConstraint:
    """`table`'s primary key: its `id`, named by the naming convention."""
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def unique(table: str, *columns: str) -> sa.UniqueConstraint:
    """`table`'s unique constraint over `columns`, named by the naming convention."""
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))
