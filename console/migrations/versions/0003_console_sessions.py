"""PIO console: server-side sessions and sign-in attempts

Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import enum, foreign_key, primary_key, unique

revision: str = "i3_console_sessions"
down_revision: str | None = "i6_social"


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key("console_sessions", "user_id", "users"),
        primary_key("console_sessions"),
        unique("console_sessions", "id_hash"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "signin_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("outcome", enum("succeeded", "failed", "refused", name="signin_outcome"), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        primary_key("signin_attempts"),
    )
    with op.batch_alter_table("signin_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_attempts_attempted_at"), ["attempted_at"], unique=False)
        batch_op.create_index("ix_signin_attempts_email_attempted", ["email", "attempted_at"], unique=False)
        batch_op.create_index("ix_signin_attempts_ip_attempted", ["ip", "attempted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signin_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_signin_attempts_ip_attempted")
        batch_op.drop_index("ix_signin_attempts_email_attempted")
        batch_op.drop_index(batch_op.f("ix_signin_attempts_attempted_at"))

    op.drop_table("signin_attempts")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))

    op.drop_table("console_sessions")
