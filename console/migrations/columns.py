"""Column types and columns that many migrations create the same way.

Frozen like the migrations themselves: a migration must do the same on a new database as it
did on the ones it already ran on, so changing what a function here emits changes history.
Write a new function instead."""

from __future__ import annotations

import sqlalchemy as sa


def enum(*values: str, name: str) -> sa.Enum:
    """The project's enum column type: a VARCHAR(32) on every engine (no native enum type and no
    CHECK constraint), so a new value needs no migration."""
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def authored() -> tuple[sa.Column[int], sa.Column[str]]:
    """A row's author: `author_id`, the user if one wrote it (the table declares its foreign key,
    so that the constraints keep their order), and `author_name`, the name it was written under.
    New columns on every call: a column belongs to one table."""
    return (
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
    )
