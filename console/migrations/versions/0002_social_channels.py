"""social channels: channel health and in-flight posts

channel_health pauses a channel whose credentials were rejected until a person resumes it;
social_sends remembers a post request whose outcome is unknown, so it is looked for before
being sent again.

Create Date: 2026-11-21 13:35:28.866368
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import enum, foreign_key

revision: str = "i6_social"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "channel_health",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("state", enum("ok", "failing", name="channel_state"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_health")),
    )
    op.create_table(
        "social_sends",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key("social_sends", "delivery_id", "deliveries"),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_social_sends")),
    )


def downgrade() -> None:
    op.drop_table("social_sends")
    op.drop_table("channel_health")
