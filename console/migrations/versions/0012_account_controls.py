"""account controls: an admin can disable an account; a TOTP second factor

Create Date: 2026-12-05 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i14_account_controls"
down_revision: str | None = "i13_incident_details"


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("recovery_codes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ has it): batch mode would copy and drop `users`, which
    # other tables reference, and SQLite refuses that with foreign keys on.
    for column in ("recovery_codes", "totp_secret", "disabled_at"):
        op.drop_column("users", column)
