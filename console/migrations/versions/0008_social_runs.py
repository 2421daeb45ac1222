"""social runs: every post of a run of posts (a text over a network's limit), by delivery

Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import foreign_key

revision: str = "i13_social_runs"
down_revision: str | None = "i9_idempotency_keys"


def upgrade() -> None:
    op.create_table(
        "social_posts",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("external_url", sa.String(length=500), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        foreign_key("social_posts", "delivery_id", "deliveries"),
        sa.PrimaryKeyConstraint("delivery_id", "position", name=op.f("pk_social_posts")),
    )


def downgrade() -> None:
    op.drop_table("social_posts")
