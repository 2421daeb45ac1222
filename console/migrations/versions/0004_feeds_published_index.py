"""feeds: index update versions by publication time (feeds read the newest first)

Create Date: 2026-11-21 14:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "i5_feeds_published_index"
down_revision: str | None = "i3_console_sessions"


def upgrade() -> None:
    op.create_index("ix_update_versions_published_at", "update_versions", ["published_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_update_versions_published_at", table_name="update_versions")
