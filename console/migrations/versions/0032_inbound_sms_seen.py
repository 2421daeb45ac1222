"""inbound SMS seen: Twilio's MessageSid of each inbound message acted on (issue 16)

POST /sms/inbound records each message's MessageSid in the same transaction as its effect (a
STOP ends the number's subscriptions), under a unique constraint: a webhook retried by Twilio,
or a signed request captured and replayed, is found here and changes nothing. `received_at`
is indexed: rows past the replay window are pruned as new messages arrive.

Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import primary_key, unique

revision: str = "i16_inbound_sms_seen"
down_revision: str | None = "i19_details_signatures"


def upgrade() -> None:
    op.create_table(
        "inbound_sms_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        primary_key("inbound_sms_seen"),
        unique("inbound_sms_seen", "message_sid"),
    )
    with op.batch_alter_table("inbound_sms_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_sms_seen_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_sms_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_sms_seen_received_at"))
    op.drop_table("inbound_sms_seen")
