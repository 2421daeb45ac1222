"""subscriptions (issue 16): subscribers, fan-out jobs and per-subscriber alert deliveries

`subscribers` holds residents' email addresses (double opt-in; the address is deleted on
unsubscribe, a keyed hash kept) and partners' webhook endpoints. `fanout_jobs` has one row per
(event, alert channel) with its cursor and counts; `alert_deliveries` one per (event,
subscriber), unique, so nobody is sent the same event twice.

Create Date: 2026-12-05 03:40:26.723560
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import enum, foreign_key, primary_key, unique

revision: str = "i16_subscriptions"
down_revision: str | None = "i19_signatures"


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", enum("email", "webhook", name="alert_channel"), nullable=False),
        sa.Column("address", sa.String(length=2000), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("lang", sa.String(length=35), nullable=False),
        sa.Column(
            "status", enum("pending", "confirmed", "unsubscribed", name="subscriber_status"), nullable=False
        ),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("unsubscribe_token_hash", sa.String(length=64), nullable=True),
        sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        foreign_key("subscribers", "incident_id", "incidents"),
        primary_key("subscribers"),
        unique("subscribers", "confirm_token_hash"),
        unique("subscribers", "unsubscribe_token_hash"),
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscribers_address_hash"), ["address_hash"], unique=False)
        batch_op.create_index("ix_subscribers_channel_status_id", ["channel", "status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subscribers_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "fanout_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("channel", enum("email", "webhook", name="alert_channel"), nullable=False),
        sa.Column("state", enum("running", "done", name="fanout_state"), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        foreign_key("fanout_jobs", "event_id", "outbox_events"),
        primary_key("fanout_jobs"),
        unique("fanout_jobs", "event_id", "channel"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            enum("queued", "sending", "sent", "failed", "unknown", name="alert_state"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        foreign_key("alert_deliveries", "event_id", "outbox_events"),
        foreign_key("alert_deliveries", "job_id", "fanout_jobs"),
        foreign_key("alert_deliveries", "subscriber_id", "subscribers"),
        primary_key("alert_deliveries"),
        unique("alert_deliveries", "event_id", "subscriber_id"),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_deliveries_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_deliveries_subscriber_id"), ["subscriber_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_subscriber_id"))
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_job_id"))

    op.drop_table("alert_deliveries")
    op.drop_table("fanout_jobs")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscribers_incident_id"))
        batch_op.drop_index("ix_subscribers_channel_status_id")
        batch_op.drop_index(batch_op.f("ix_subscribers_address_hash"))

    op.drop_table("subscribers")
