"""incident details translations: an incident's title, summary and location in another
language (issue 13.2)

Append-only like the other published history: a fix is a new row, and the database refuses to
change or delete one.

Create Date: 2026-12-05 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations.columns import author_foreign_key, authored, foreign_key, primary_key

revision: str = "i13_details_translations"
down_revision: str | None = "i18_templates"

TABLE = "details_translations"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=35), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        *authored(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        author_foreign_key("details_translations"),
        foreign_key(TABLE, "version_id", "incident_details_versions"),
        foreign_key(TABLE, "incident_id", "incidents"),
        primary_key(TABLE),
    )
    op.create_index("ix_details_translations_incident", TABLE, ["incident_id", "lang", "id"], unique=False)
    refuse_changes(TABLE)


def downgrade() -> None:
    allow_changes(TABLE)
    op.drop_index("ix_details_translations_incident", table_name=TABLE)
    op.drop_table(TABLE)
