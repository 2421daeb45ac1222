"""autosaved forms: what a PIO types in the compose and correct forms, kept until published

Create Date: 2026-12-05 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import foreign_key, primary_key, unique

revision: str = "i15_autosaved_forms"
down_revision: str | None = "i14_account_controls"


def upgrade() -> None:
    op.create_table(
        "autosaved_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key("autosaved_forms", "user_id", "users"),
        primary_key("autosaved_forms"),
        unique("autosaved_forms", "user_id", "form", "target_id"),
    )


def downgrade() -> None:
    op.drop_table("autosaved_forms")
