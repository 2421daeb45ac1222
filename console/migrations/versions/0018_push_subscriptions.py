"""push subscriptions: a Web Push subscriber's encryption keys (issue 16)

The endpoint is the subscriber's address; its `p256dh` and `auth` keys go in `push_keys`.
`alert_channel` is a VARCHAR without a CHECK, so the new `push` value needs no change.

Create Date: 2026-12-05 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i16_push"
down_revision: str | None = "i16_sms"


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("push_keys", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("push_keys")
