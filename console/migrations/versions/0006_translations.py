"""translations of update versions

A translation belongs to one version of an update (headline and body in one language) and,
like the versions, is never changed: the database refuses UPDATE and DELETE on its rows.
Whether it is current or stale is not stored: it is derived from whether its version is
still the update's newest.

Create Date: 2026-11-21 16:13:07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations.columns import author_foreign_key, authored, foreign_key, primary_key, unique

revision: str = "i8_translations"
down_revision: str | None = "i7_archive_search"


def upgrade() -> None:
    op.create_table(
        "translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=35), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        *authored(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        author_foreign_key("translations"),
        foreign_key("translations", "event_id", "outbox_events"),
        foreign_key("translations", "update_id", "updates"),
        foreign_key("translations", "version_id", "update_versions"),
        primary_key("translations"),
        unique("translations", "event_id"),
    )
    with op.batch_alter_table("translations", schema=None) as batch_op:
        batch_op.create_index("ix_translations_update_lang", ["update_id", "lang"], unique=False)
        batch_op.create_index(batch_op.f("ix_translations_version_id"), ["version_id"], unique=False)

    refuse_changes("translations")


def downgrade() -> None:
    allow_changes("translations")
    with op.batch_alter_table("translations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_translations_version_id"))
        batch_op.drop_index("ix_translations_update_lang")
    op.drop_table("translations")
