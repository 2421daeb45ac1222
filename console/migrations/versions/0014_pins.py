"""pins: the update an incident shows first as "What to do now" (issue 13.6)

Append-only like the other published history: pinning another update, or none, is a new row,
and the database refuses to change or delete one (the same refusal as details versions).

Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations.columns import author_foreign_key, authored, foreign_key, primary_key

revision: str = "i13_pins"
down_revision: str | None = "i15_autosaved_forms"

TABLE = "pins"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=True),
        *authored(),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        author_foreign_key("pins"),
        foreign_key(TABLE, "incident_id", "incidents"),
        foreign_key(TABLE, "update_id", "updates"),
        primary_key(TABLE),
    )
    op.create_index("ix_pins_incident_id", TABLE, ["incident_id", "id"], unique=False)
    refuse_changes(TABLE)


def downgrade() -> None:
    allow_changes(TABLE)
    op.drop_index("ix_pins_incident_id", table_name=TABLE)
    op.drop_table(TABLE)
