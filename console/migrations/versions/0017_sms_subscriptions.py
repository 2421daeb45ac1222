"""sms subscriptions: wrong guesses of a confirmation code (issue 16)

An SMS subscription is confirmed by a 6-digit code; after a few wrong guesses the code is
void. The alert channel `sms` needs no change: enums are stored as VARCHAR without CHECK.

Create Date: 2026-12-05 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i16_sms"
down_revision: str | None = "i13_details_translations"


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("confirm_attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("confirm_attempts")
